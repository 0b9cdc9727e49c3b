//! What the server side does to a session, each through a control route: clearing the
//! conversation, closing its connections, switching its deployment off; and the custom
//! attributes a session collects, against the deployment's `maxCustomDataBytes`. (Expiry and a
//! lost session are in `mod.rs`.)

use std::time::Duration;

use genesys_sim::config::DEMO_DEPLOYMENT_ID;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite;
use uuid::Uuid;

use super::{
    Guest, assert_error_frame, assert_inbound_text, control_post, greeted, no_agent, session,
    set_deployment, token,
};
use crate::helpers::{assert_error, spawn_sim};

fn event(class: &str) -> Value {
    json!({"type": "message", "class": class, "code": 200, "body": {}})
}

#[tokio::test]
async fn the_clear_route_clears_as_the_guest_would_even_when_guests_may_not() {
    let sim = spawn_sim().await;
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"conversationClear": false}),
    )
    .await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let route = format!("/__sim/webmessaging/sessions/{token}/clear");
    assert_eq!(
        control_post(&sim, &route, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(guest.next().await, event("SessionClearedEvent"));
    assert_eq!(guest.next().await, event("ConnectionClosedEvent"));
    assert_eq!(guest.expect_closed().await, Some(1000));
    let listed = session(&sim, &token).await;
    assert_eq!(listed["conversationId"], Value::Null, "{listed}");
    assert_eq!(listed["messages"], json!([]), "{listed}");
    let unknown = control_post(&sim, "/__sim/webmessaging/sessions/nobody/clear", None).await;
    assert_error(unknown, 404, "not.found").await;
}

#[tokio::test]
async fn the_close_connections_route_closes_every_socket_and_keeps_the_session() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let token = token();
    let (mut first, _) = Guest::configured(&sim, &token).await;
    let (mut second, _) = Guest::configured(&sim, &token).await;
    first.text("still here").await;
    first.next().await;
    second.next().await;
    let route = format!("/__sim/webmessaging/sessions/{token}/close-connections");
    assert_eq!(
        control_post(&sim, &route, None).await.status(),
        StatusCode::NO_CONTENT
    );
    for socket in [&mut first, &mut second] {
        // No reason: the transport SDK reports `SessionLimitReached`.
        assert_eq!(socket.next().await, event("ConnectionClosedEvent"));
        assert_eq!(socket.expect_closed().await, Some(1000));
    }
    let (_, resumed) = Guest::configured(&sim, &token).await;
    assert_eq!(resumed["body"]["newSession"], false, "{resumed}");
    assert_eq!(
        session(&sim, &token).await["messages"][0]["text"],
        "still here"
    );
    let unknown = control_post(
        &sim,
        "/__sim/webmessaging/sessions/nobody/close-connections",
        None,
    )
    .await;
    assert_error(unknown, 404, "not.found").await;
}

#[tokio::test]
async fn a_deployment_switched_off_closes_its_sockets_and_refuses_new_ones() {
    let sim = spawn_sim().await;
    let other = Uuid::new_v4();
    set_deployment(&sim, other, json!({})).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    let (mut elsewhere, _) = Guest::configured_on(&sim, other, &super::token()).await;

    set_deployment(&sim, DEMO_DEPLOYMENT_ID, json!({"status": "Inactive"})).await;
    assert_eq!(guest.expect_closed().await, Some(1008));
    // A 403 before the upgrade, which the transport SDK reports as `WebsocketAccessDenied`.
    let url = format!(
        "{}/v1?deploymentId={DEMO_DEPLOYMENT_ID}",
        sim.sim.ws_base_url()
    );
    match connect_async(url.as_str()).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403);
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .expect("a JSON error body");
            assert_eq!(body["status"], 403, "{body}");
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    // Other deployments' sockets are untouched.
    elsewhere.silent_for(Duration::from_millis(200)).await;
    elsewhere.text("still open").await;
    assert_inbound_text(&elsewhere.next().await, "still open");

    set_deployment(&sim, DEMO_DEPLOYMENT_ID, json!({"status": "Active"})).await;
    let (_, resumed) = Guest::configured(&sim, &token).await;
    assert_eq!(resumed["body"]["connected"], true, "{resumed}");
    assert_eq!(resumed["body"]["newSession"], false, "{resumed}");
}

#[tokio::test]
async fn custom_attributes_are_merged_listed_and_limited_by_the_deployment() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    // `Request.autostart`: the Join carries the first attributes.
    guest
        .send(json!({"action": "onMessage", "message": {"type": "Event",
            "events": [{"eventType": "Presence", "presence": {"type": "Join"}}],
            "channel": {"metadata": {"customAttributes": {"page": "pricing"}}}}}))
        .await;
    guest.next().await;
    guest
        .send(
            json!({"action": "onMessage", "message": {"type": "Text", "text": "hi",
            "channel": {"metadata": {"customAttributes": {"plan": "basic", "page": "checkout"}}}}}),
        )
        .await;
    assert_inbound_text(&guest.next().await, "hi");
    assert_eq!(
        session(&sim, &token).await["customAttributes"],
        json!({"page": "checkout", "plan": "basic"})
    );

    set_deployment(&sim, DEMO_DEPLOYMENT_ID, json!({"maxCustomDataBytes": 10})).await;
    let (mut small, response) = Guest::configured(&sim, &token).await;
    assert_eq!(response["body"]["maxCustomDataBytes"], 10, "{response}");
    let with = |attributes: Value| {
        json!({"action": "onMessage", "message": {"type": "Text", "text": "sized",
            "channel": {"metadata": {"customAttributes": attributes}}}})
    };
    // 11 bytes of keys and values.
    let refused = small.request(with(json!({"k": "0123456789"}))).await;
    assert_error_frame(&refused, 4013);
    assert_eq!(
        refused["body"],
        "Custom Attributes in channel metadata is larger than 10 bytes"
    );
    let fits = small.request(with(json!({"k": "012345678"}))).await;
    assert_inbound_text(&fits, "sized");
    assert_eq!(
        session(&sim, &token).await["customAttributes"]["k"],
        "012345678"
    );
}
