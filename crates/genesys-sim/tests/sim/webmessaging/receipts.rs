//! Receipts for the guest's messages: `Delivered` right after the echo, `Read` once the agent's
//! side has read them (the simulated agent before it types, or the control route), each with the
//! id of the message it is about and never in the history.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Guest, control_post, greeted, is_receipt, no_agent, token};
use crate::helpers::{ok_json, spawn_sim};

/// The next frame that is a receipt, with the frames skipped before it.
async fn next_receipt(guest: &mut Guest) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        let frame = guest.next_frame().await;
        if is_receipt(&frame) {
            return (frame["body"].clone(), skipped);
        }
        skipped.push(frame);
    }
}

#[tokio::test]
async fn a_guest_message_is_delivered_then_read_when_the_agent_answers() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    guest.text("where is my parcel?").await;
    let echo = guest.next_frame().await;
    assert_eq!(echo["body"]["direction"], "Inbound", "{echo}");
    let id = echo["body"]["id"].clone();

    let (delivered, skipped) = next_receipt(&mut guest).await;
    assert!(
        skipped.is_empty(),
        "delivered right after the echo: {skipped:?}"
    );
    assert_eq!(delivered["id"], id, "{delivered}");
    assert_eq!(delivered["status"], "Delivered", "{delivered}");
    assert_eq!(delivered["direction"], "Outbound", "{delivered}");
    assert!(delivered["channel"]["time"].is_string(), "{delivered}");

    // Read before the agent's typing indicator: it reads, then types.
    let (read, skipped) = next_receipt(&mut guest).await;
    assert!(skipped.is_empty(), "read before typing: {skipped:?}");
    assert_eq!(read["id"], id, "{read}");
    assert_eq!(read["status"], "Read", "{read}");
}

#[tokio::test]
async fn the_control_route_reads_waiting_messages_and_receipts_stay_out_of_the_history() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    let mut ids = Vec::new();
    for text in ["first", "second"] {
        guest.text(text).await;
        ids.push(guest.next_frame().await["body"]["id"].clone());
        let (delivered, _) = next_receipt(&mut guest).await;
        assert_eq!(delivered["status"], "Delivered", "{delivered}");
    }
    // Nobody has read them: no Read receipt comes.
    guest.silent_for(Duration::from_millis(300)).await;

    let path = format!("/__sim/webmessaging/sessions/{token}/read");
    assert_eq!(
        control_post(&sim, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    for id in &ids {
        let (read, skipped) = next_receipt(&mut guest).await;
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!((&read["id"], &read["status"]), (id, &json!("Read")));
    }
    // Read once: a second read has nothing new to report.
    control_post(&sim, &path, None).await;
    if let Ok(frame) = tokio::time::timeout(Duration::from_millis(300), guest.next_frame()).await {
        panic!("a message was read twice: {frame}");
    }

    let unknown = control_post(&sim, "/__sim/webmessaging/sessions/nobody/read", None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let jwt = guest.request(json!({"action": "getJwt"})).await;
    let jwt = jwt["body"]["jwt"].as_str().expect("jwt").to_owned();
    let page = ok_json(
        sim.plain
            .get(sim.url("/api/v2/webmessaging/messages"))
            .header("Authorization", format!("bearer {jwt}"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let types: Vec<&Value> = page["entities"]
        .as_array()
        .map(|e| e.iter().map(|m| &m["type"]).collect())
        .unwrap_or_default();
    assert_eq!(types, [&json!("Text"), &json!("Text")], "{page}");
}
