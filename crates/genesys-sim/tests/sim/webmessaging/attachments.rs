//! Files over the guest socket and the upload target: `onAttachment` → `PresignedUrlResponse` →
//! `PUT` → `UploadSuccessEvent`/`UploadFailureEvent`, the refusals before any upload
//! (`GenerateUrlError`), sending an uploaded file, `getAttachment`, `deleteAttachment`, downloads,
//! and the agent's files. Frames as in the transport SDK's `Response.kt` samples.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genesys_sim::config::DEMO_DEPLOYMENT_ID;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Guest, agent_text, assert_error_frame, assert_typing, config_json, control_post, greeted,
    session, set_deployment, token,
};
use crate::helpers::{TestSim, assert_error, ok_json, spawn_sim};

/// File upload on for the org's deployment, with `settings` on top.
async fn uploads_on(sim: &TestSim, settings: Value) {
    let mut patch = json!({"fileUpload": true});
    if let (Some(patch), Value::Object(settings)) = (patch.as_object_mut(), settings) {
        patch.extend(settings);
    }
    set_deployment(sim, DEMO_DEPLOYMENT_ID, patch).await;
}

/// `onAttachment` as the transport SDK sends it (`SerializationTest`, `OnAttachmentRequest`).
async fn presign(guest: &mut Guest, id: &str, name: &str, mime: &str, size: u64) -> Value {
    guest
        .request(
            json!({"action": "onAttachment", "attachmentId": id, "fileName": name,
            "fileType": mime, "fileSize": size, "errorsAsJson": true, "tracingId": "presign"}),
        )
        .await
}

/// `PUT`s `bytes` to a `PresignedUrlResponse`'s URL with its headers, as
/// `WebMessagingApi.uploadFile` does.
async fn put(sim: &TestSim, presigned: &Value, bytes: Vec<u8>) -> reqwest::Response {
    let body = &presigned["body"];
    let mut request = sim.plain.put(body["url"].as_str().expect("url")).header(
        "content-type",
        body["fileType"]
            .as_str()
            .unwrap_or("application/octet-stream"),
    );
    for (name, value) in body["headers"].as_object().expect("headers") {
        request = request.header(name, value.as_str().expect("header value"));
    }
    request.body(bytes).send().await.expect("upload is sent")
}

async fn get(sim: &TestSim, url: &str) -> reqwest::Response {
    sim.plain.get(url).send().await.expect("download is sent")
}

/// `url` with its query parameter `name` set to `value`.
fn with_query(url: &str, name: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').expect("a presigned URL has a query");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == name => format!("{key}={value}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A guest file uploaded and stored: its id and the `UploadSuccessEvent`'s download URL.
async fn uploaded(sim: &TestSim, guest: &mut Guest, name: &str, bytes: &[u8]) -> (String, String) {
    let id = Uuid::new_v4().to_string();
    let presigned = presign(guest, &id, name, "image/png", bytes.len() as u64).await;
    assert_eq!(presigned["class"], "PresignedUrlResponse", "{presigned}");
    assert_eq!(
        put(sim, &presigned, bytes.to_vec()).await.status(),
        StatusCode::OK
    );
    let event = guest.next().await;
    assert_eq!(event["class"], "UploadSuccessEvent", "{event}");
    let url = event["body"]["downloadUrl"]
        .as_str()
        .expect("downloadUrl")
        .to_owned();
    (id, url)
}

fn attachment_message(id: &str) -> Value {
    json!({"action": "onMessage", "tracingId": "with-file", "message": {"type": "Text", "text": "",
        "content": [{"contentType": "Attachment", "attachment": {"id": id}}]}})
}

/// `{"type":"response","class":"PresignedUrlResponse",…}` for `id`.
fn assert_presigned(frame: &Value, id: &str) {
    assert_eq!(frame["type"], "response", "{frame}");
    assert_eq!(frame["class"], "PresignedUrlResponse", "{frame}");
    assert_eq!(frame["code"], 200, "{frame}");
    assert_eq!(frame["body"]["attachmentId"], id, "{frame}");
}

/// `{"type":"message","class":"GenerateUrlError","code":200,"body":{attachmentId,errorCode,
/// errorMessage}}` (`Response.generateUrlError`).
fn assert_generate_url_error(frame: &Value, id: &str, code: u64) {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "GenerateUrlError", "{frame}");
    assert_eq!(frame["code"], 200, "{frame}");
    assert_eq!(frame["body"]["attachmentId"], id, "{frame}");
    assert_eq!(frame["body"]["errorCode"], code, "{frame}");
    assert!(
        frame["body"]["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{frame}"
    );
    assert!(frame.get("tracingId").is_none(), "{frame}");
}

#[tokio::test]
async fn the_limits_are_in_the_config_and_the_session_response() {
    let sim = spawn_sim().await;
    let off = config_json(&sim, DEMO_DEPLOYMENT_ID).await;
    assert_eq!(
        off["messenger"]["fileUpload"],
        json!({"enableAttachments": false, "modes": []})
    );
    let (_, response) = Guest::configured(&sim, &token()).await;
    assert!(response["body"].get("allowedMedia").is_none(), "{response}");

    uploads_on(
        &sim,
        json!({"allowedFileTypes": ["image/png", "Application/PDF"], "maxFileSizeKB": 5,
            "blockedExtensions": [".exe", ".BAT"]}),
    )
    .await;
    let on = config_json(&sim, DEMO_DEPLOYMENT_ID).await;
    assert_eq!(
        on["messenger"]["fileUpload"],
        json!({"enableAttachments": true, "modes": [
            {"fileTypes": ["image/png", "application/pdf"], "maxFileSizeKB": 5}]})
    );
    // `SessionResponse.kt`: allowedMedia.inbound.fileTypes[{type}], maxFileSizeKB;
    // blockedExtensions (`Response.AllowedMedia` samples).
    let (_, response) = Guest::configured(&sim, &token()).await;
    assert_eq!(
        response["body"]["allowedMedia"],
        json!({"inbound": {"fileTypes": [{"type": "image/png"}, {"type": "application/pdf"}],
            "maxFileSizeKB": 5}}),
        "{response}"
    );
    assert_eq!(
        response["body"]["blockedExtensions"],
        json!([".exe", ".bat"]),
        "{response}"
    );
    let bad = sim
        .plain
        .put(sim.url(&format!(
            "/__sim/webmessaging/deployments/{DEMO_DEPLOYMENT_ID}"
        )))
        .json(&json!({"maxFileSizeKB": 0}))
        .send()
        .await
        .expect("sent");
    assert_error(bad, 400, "bad.request").await;
}

#[tokio::test]
async fn a_guest_uploads_a_file_downloads_it_and_sends_it() {
    let sim = spawn_sim().await;
    uploads_on(&sim, json!({})).await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let id = Uuid::new_v4().to_string();
    let bytes = b"\x89PNG not really".to_vec();

    let presigned = presign(
        &mut guest,
        &id,
        "photo.png",
        "image/png",
        bytes.len() as u64,
    )
    .await;
    assert_presigned(&presigned, &id);
    assert_eq!(presigned["tracingId"], "presign", "{presigned}");
    let body = &presigned["body"];
    let upload_base = sim.sim.upload_base_url();
    assert!(
        body["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{upload_base}/uploads/"))
                && u.contains("X-Amz-Signature=")),
        "{presigned}"
    );
    // Never empty: the SDK reads empty headers plus a size as a refreshed link.
    assert!(body["headers"]["x-amz-tagging"].is_string(), "{presigned}");
    assert_eq!(body["fileName"], "photo.png", "{presigned}");
    assert_eq!(body["fileType"], "image/png", "{presigned}");
    assert_eq!(body["fileSize"], bytes.len(), "{presigned}");

    // A browser's preflight is answered, and any origin may upload.
    let preflight = sim
        .plain
        .request(reqwest::Method::OPTIONS, body["url"].as_str().expect("url"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "content-type,x-amz-tagging",
        )
        .send()
        .await
        .expect("preflight is sent");
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .is_ok_and(|m| m.contains("PUT"))
    );
    let stored = put(&sim, &presigned, bytes.clone()).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.headers()["access-control-allow-origin"], "*");

    // `Response.uploadSuccessEvent`.
    let event = guest.next().await;
    assert_eq!(event["type"], "message", "{event}");
    assert_eq!(event["class"], "UploadSuccessEvent", "{event}");
    assert_eq!(event["body"]["attachmentId"], id, "{event}");
    assert!(
        event["body"]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
        "{event}"
    );
    let download_url = event["body"]["downloadUrl"].as_str().expect("downloadUrl");
    assert!(
        download_url.starts_with(&format!("{upload_base}/downloads/")),
        "{event}"
    );
    let download = get(&sim, download_url).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        download.headers()["content-disposition"],
        "inline; filename=\"photo.png\""
    );
    assert_eq!(download.bytes().await.expect("body").to_vec(), bytes);

    // Sent with `content: [{contentType: Attachment, attachment: {id}}]`: echoed whole
    // (`Response.onMessageWithAttachment`), and the agent acknowledges it.
    let echo = guest.request(attachment_message(&id)).await;
    assert_eq!(echo["class"], "StructuredMessage", "{echo}");
    assert_eq!(echo["tracingId"], "with-file", "{echo}");
    assert_eq!(echo["body"]["direction"], "Inbound", "{echo}");
    let attachment = &echo["body"]["content"][0];
    assert_eq!(attachment["contentType"], "Attachment", "{echo}");
    let attachment = &attachment["attachment"];
    assert_eq!(attachment["id"], id, "{echo}");
    assert_eq!(attachment["filename"], "photo.png", "{echo}");
    assert_eq!(attachment["fileSize"], bytes.len(), "{echo}");
    assert_eq!(attachment["mediaType"], "Image", "{echo}");
    assert_eq!(attachment["mime"], "image/png", "{echo}");
    let echoed_url = attachment["url"].as_str().expect("url");
    assert_eq!(get(&sim, echoed_url).await.status(), StatusCode::OK);
    assert_typing(&guest.next().await);
    let reply = agent_text(&guest.next().await, "Eva Novak");
    assert!(reply.contains("photo.png"), "{reply}");

    let listed = session(&sim, &token).await;
    assert_eq!(
        listed["attachments"],
        json!([{"attachmentId": id, "fileName": "photo.png", "fileType": "image/png",
            "fileSize": bytes.len(), "state": "Uploaded", "sent": true, "from": "Guest"}]),
        "{listed}"
    );
}

#[tokio::test]
async fn upload_links_refuse_wrong_tampered_headerless_and_expired_puts() {
    let sim = spawn_sim().await;
    uploads_on(&sim, json!({})).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    let id = Uuid::new_v4().to_string();
    let presigned = presign(&mut guest, &id, "a.png", "image/png", 3).await;
    assert_presigned(&presigned, &id);
    let url = presigned["body"]["url"].as_str().expect("url").to_owned();

    let headerless = sim.plain.put(&url).body("abc").send().await.expect("sent");
    assert_eq!(headerless.status(), StatusCode::FORBIDDEN);
    let text = headerless.text().await.expect("body");
    assert!(
        text.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{text}"
    );
    for (name, value) in [
        ("X-Amz-Signature", "0".repeat(64)),
        ("X-Amz-Expires", "86400".to_owned()),
    ] {
        let mut forged = presigned.clone();
        forged["body"]["url"] = json!(with_query(&url, name, &value));
        assert_eq!(
            put(&sim, &forged, b"abc".to_vec()).await.status(),
            StatusCode::FORBIDDEN,
            "{name}"
        );
    }
    // Not uploaded: it cannot be sent yet (4010); an unknown id is 4009.
    assert_error_frame(&guest.request(attachment_message(&id)).await, 4010);
    assert_error_frame(&guest.request(attachment_message("nope")).await, 4009);

    let path = format!("/__sim/webmessaging/sessions/{token}/attachments/{id}/expire-links");
    assert_eq!(
        control_post(&sim, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let expired = put(&sim, &presigned, b"abc".to_vec()).await;
    assert_eq!(expired.status(), StatusCode::FORBIDDEN);
    let text = expired.text().await.expect("body");
    assert!(
        text.contains("<Code>AccessDenied</Code>") && text.contains("expired"),
        "{text}"
    );
    let unknown = format!("/__sim/webmessaging/sessions/{token}/attachments/nope/expire-links");
    assert_error(control_post(&sim, &unknown, None).await, 404, "not.found").await;
    // None of that reached the guest as an upload.
    guest
        .silent_for(std::time::Duration::from_millis(200))
        .await;
    assert_eq!(
        session(&sim, &token).await["attachments"][0]["state"],
        "Presigned"
    );
}

#[tokio::test]
async fn files_outside_the_rules_are_refused_before_any_upload() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    // File upload off: 4000, as GenerateUrlError when asked for JSON errors.
    assert_generate_url_error(
        &presign(&mut guest, "off", "a.png", "image/png", 1).await,
        "off",
        4000,
    );

    uploads_on(
        &sim,
        json!({"allowedFileTypes": ["image/png"], "maxFileSizeKB": 1}),
    )
    .await;
    let long = format!("{}.png", "x".repeat(300));
    let cases = [
        ("tool.exe", "image/png", 10, 4001),
        ("doc.pdf", "application/pdf", 10, 4001),
        ("big.png", "image/png", 1_001, 4002),
        ("empty.png", "image/png", 0, 4002),
        ("../up.png", "image/png", 10, 4004),
        (long.as_str(), "image/png", 10, 4005),
    ];
    for (name, mime, size, code) in cases {
        let id = Uuid::new_v4().to_string();
        let refused = presign(&mut guest, &id, name, mime, size).await;
        assert_generate_url_error(&refused, &id, code);
    }
    // maxFileSizeKB counts 1,000 bytes to the KB: 1,000 bytes fit in 1 KB.
    let fits = presign(&mut guest, "fits", "fits.png", "image/png", 1_000).await;
    assert_presigned(&fits, "fits");
    // Without errorsAsJson a refusal is a plain error frame.
    let plain = guest
        .request(
            json!({"action": "onAttachment", "attachmentId": "p", "fileName": "doc.pdf",
            "fileType": "application/pdf", "fileSize": 10}),
        )
        .await;
    assert_error_frame(&plain, 4001);
    let missing = guest
        .request(
            json!({"action": "onAttachment", "attachmentId": "m", "fileType": "image/png",
            "errorsAsJson": true}),
        )
        .await;
    assert_error_frame(&missing, 4020);
}

#[tokio::test]
async fn uploads_over_the_limit_or_failing_the_scan_get_upload_failure_events() {
    let sim = spawn_sim().await;
    uploads_on(&sim, json!({"maxFileSizeKB": 1})).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    // Declared small, uploaded too big: found out at upload.
    let presigned = presign(&mut guest, "big", "big.png", "image/png", 10).await;
    assert_eq!(
        put(&sim, &presigned, vec![7; 1_001]).await.status(),
        StatusCode::OK
    );
    let failure = guest.next().await;
    // `Response.uploadFailureEvent`.
    assert_eq!(failure["type"], "message", "{failure}");
    assert_eq!(failure["class"], "UploadFailureEvent", "{failure}");
    assert_eq!(failure["body"]["attachmentId"], "big", "{failure}");
    assert_eq!(failure["body"]["errorCode"], 4002, "{failure}");
    assert!(failure["body"]["errorMessage"].is_string(), "{failure}");
    assert!(failure["body"]["timestamp"].is_string(), "{failure}");
    assert_error_frame(&guest.request(attachment_message("big")).await, 4010);
    // The link is spent.
    assert_eq!(
        put(&sim, &presigned, vec![7; 10]).await.status(),
        StatusCode::FORBIDDEN
    );

    let presigned = presign(&mut guest, "eicar", "eicar.png", "image/png", 68).await;
    let eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".to_vec();
    assert_eq!(put(&sim, &presigned, eicar).await.status(), StatusCode::OK);
    let failure = guest.next().await;
    assert_eq!(failure["class"], "UploadFailureEvent", "{failure}");
    assert_eq!(failure["body"]["errorCode"], 4003, "{failure}");
    let states: Vec<Value> = session(&sim, &token).await["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| a["state"].clone())
        .collect();
    assert_eq!(states, [json!("Failed"), json!("Failed")]);
}

#[tokio::test]
async fn get_attachment_renews_an_expired_link_and_delete_removes_the_file() {
    let sim = spawn_sim().await;
    uploads_on(&sim, json!({})).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    let (id, first_url) = uploaded(&sim, &mut guest, "doc.png", b"contents").await;

    let path = format!("/__sim/webmessaging/sessions/{token}/attachments/{id}/expire-links");
    assert_eq!(
        control_post(&sim, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    // An expired download link: 404 resource.not.found (the SDK's refresh diagram).
    assert_error(get(&sim, &first_url).await, 404, "resource.not.found").await;
    let forged = with_query(&first_url, "X-Amz-Signature", &"f".repeat(64));
    assert_eq!(get(&sim, &forged).await.status(), StatusCode::FORBIDDEN);

    // `Response.presignedUrlResponse(headers = "", fileSize = 1)`: no headers, with a size.
    let refreshed = guest
        .request(json!({"action": "getAttachment", "attachmentId": id, "tracingId": "get"}))
        .await;
    assert_presigned(&refreshed, &id);
    assert_eq!(refreshed["tracingId"], "get", "{refreshed}");
    let body = &refreshed["body"];
    assert_eq!(body["headers"], json!({}), "{refreshed}");
    assert_eq!(body["fileSize"], 8, "{refreshed}");
    assert_eq!(body["fileName"], "doc.png", "{refreshed}");
    assert_eq!(body["fileType"], "image/png", "{refreshed}");
    let fresh_url = body["url"].as_str().expect("url");
    assert_ne!(fresh_url, first_url);
    let download = get(&sim, fresh_url).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.expect("body").as_ref(), b"contents");

    // `Response.attachmentDeleted`.
    let deleted = guest
        .request(json!({"action": "deleteAttachment", "attachmentId": id}))
        .await;
    assert_eq!(
        deleted,
        json!({"type": "message", "class": "AttachmentDeletedResponse", "code": 200,
            "body": {"attachmentId": id}})
    );
    assert_eq!(get(&sim, fresh_url).await.status(), StatusCode::NOT_FOUND);
    for request in [
        json!({"action": "deleteAttachment", "attachmentId": id}),
        json!({"action": "getAttachment", "attachmentId": id}),
        attachment_message(&id),
    ] {
        assert_error_frame(&guest.request(request).await, 4009);
    }
    assert_error_frame(
        &guest.request(json!({"action": "getAttachment"})).await,
        4020,
    );
    // Presigned but never uploaded: nothing to link to yet.
    presign(&mut guest, "later", "later.png", "image/png", 1).await;
    let early = guest
        .request(json!({"action": "getAttachment", "attachmentId": "later"}))
        .await;
    assert_error_frame(&early, 4010);
}

#[tokio::test]
async fn the_agent_sends_files_when_asked_and_through_the_control_route() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let pdf = b"%PDF-1.4 a tiny invoice".to_vec();
    let route = format!("/__sim/webmessaging/sessions/{token}/files");
    let given = json!({"fileName": "invoice.pdf", "fileType": "application/pdf",
        "data": BASE64.encode(&pdf), "text": "Your invoice"});
    let sent = ok_json(control_post(&sim, &route, Some(given)).await).await;
    let frame = guest.next().await;
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = &frame["body"];
    assert_eq!(body, &sent);
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["text"], "Your invoice", "{frame}");
    assert_eq!(body["originatingEntity"], "Human", "{frame}");
    assert_eq!(body["channel"]["from"]["nickname"], "Eva Novak", "{frame}");
    let attachment = &body["content"][0]["attachment"];
    assert_eq!(attachment["filename"], "invoice.pdf", "{frame}");
    assert_eq!(attachment["mime"], "application/pdf", "{frame}");
    assert_eq!(attachment["mediaType"], "File", "{frame}");
    assert_eq!(attachment["fileSize"], pdf.len(), "{frame}");
    let download = get(&sim, attachment["url"].as_str().expect("url")).await;
    assert_eq!(download.bytes().await.expect("body").to_vec(), pdf);
    // Its link renews like a guest's file; a guest cannot send it as its own.
    let agent_file = attachment["id"].as_str().expect("id");
    let refreshed = guest
        .request(json!({"action": "getAttachment", "attachmentId": agent_file}))
        .await;
    assert_presigned(&refreshed, agent_file);
    assert_error_frame(&guest.request(attachment_message(agent_file)).await, 4009);

    // The trigger word: typing, then the sample image.
    guest.text("file").await;
    guest.next().await;
    assert_typing(&guest.next().await);
    let frame = guest.next().await;
    let body = &frame["body"];
    assert_eq!(body["text"], "Here is the file you asked for.", "{frame}");
    assert_eq!(body["channel"]["from"]["nickname"], "Eva Novak", "{frame}");
    let attachment = &body["content"][0]["attachment"];
    assert_eq!(attachment["filename"], "sample.png", "{frame}");
    assert_eq!(attachment["mediaType"], "Image", "{frame}");
    let image = get(&sim, attachment["url"].as_str().expect("url")).await;
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.bytes().await.expect("body").starts_with(b"\x89PNG"));

    // Only what cannot run in a browser is shown inline; a page is saved, not opened.
    let page = json!({"fileName": "page.html", "fileType": "text/html",
        "data": BASE64.encode("<script>alert(1)</script>")});
    let sent = ok_json(control_post(&sim, &route, Some(page)).await).await;
    guest.next().await;
    let page = get(
        &sim,
        sent["content"][0]["attachment"]["url"]
            .as_str()
            .expect("url"),
    )
    .await;
    assert_eq!(
        page.headers()["content-disposition"],
        "attachment; filename=\"page.html\""
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");

    let bad = control_post(&sim, &route, Some(json!({"data": "not base64!"}))).await;
    assert_error(bad, 400, "bad.request").await;
    let nobody = control_post(
        &sim,
        "/__sim/webmessaging/sessions/nobody/files",
        Some(json!({})),
    )
    .await;
    assert_error(nobody, 404, "not.found").await;
}

#[tokio::test]
async fn the_upload_target_serves_https_when_the_simulator_does() {
    let sim = genesys_sim::spawn(genesys_sim::SimConfig {
        tls: true,
        ..genesys_sim::SimConfig::for_tests()
    })
    .await
    .expect("simulator starts");
    let base = sim.upload_base_url();
    assert!(base.starts_with("https://"), "{base}");
    assert_ne!(base, sim.base_url(), "a port of its own");
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().expect("a CA").as_bytes()).expect("PEM");
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .no_proxy()
        .build()
        .expect("client");
    let image = client
        .get(format!("{base}/samples/card.png"))
        .send()
        .await
        .expect("sent over https");
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    let unknown = client
        .get(format!("{base}/downloads/nothing/here.png"))
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
}
