//! The bot's rich messages on trigger words (`options`, `card`, `carousel`, `date`) and the
//! agent's acknowledgement of each kind of answer (quick reply, card postback, time slot).
//! Shapes as the transport SDK's `StructuredMessage.Content` decodes them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Guest, agent_text, assert_inbound_text, assert_typing, greeted, token};
use crate::helpers::{TestSim, spawn_sim};

/// Writes `word`, then expects its echo, the typing indicator and the bot's Structured message;
/// returns that message's body.
async fn ask(guest: &mut Guest, word: &str) -> Value {
    guest.text(word).await;
    assert_inbound_text(&guest.next().await, word);
    assert_typing(&guest.next().await);
    let frame = guest.next().await;
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = frame["body"].clone();
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["type"], "Structured", "{frame}");
    assert_eq!(body["originatingEntity"], "Bot", "{frame}");
    assert!(
        body["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{frame}"
    );
    assert!(
        body["id"].is_string() && body["channel"]["time"].is_string(),
        "{frame}"
    );
    body
}

/// Sends a `ButtonResponse` answer as the transport SDK does (`MessageStore.prepareMessageWith`,
/// `prepareTimeSlotSubmissionMessageWith`, `preparePostbackMessage`); returns the agent's
/// acknowledgement after checking the echo.
async fn answer(guest: &mut Guest, kind: &str, text: &str, button: Value) -> String {
    let content = json!([{"contentType": "ButtonResponse", "buttonResponse": button}]);
    let echo = guest
        .request(json!({"action": "onMessage", "tracingId": "answer",
            "message": {"type": kind, "text": text, "content": content}}))
        .await;
    assert_eq!(echo["tracingId"], "answer", "{echo}");
    assert_eq!(echo["body"]["type"], kind, "{echo}");
    assert_eq!(echo["body"]["content"], content, "{echo}");
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak")
}

async fn image_is_served(sim: &TestSim, url: &Value) {
    let url = url.as_str().expect("an image URL");
    assert!(url.starts_with(&sim.sim.upload_base_url()), "{url}");
    let image = sim.plain.get(url).send().await.expect("sent");
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn options_bring_quick_replies_and_a_choice_is_acknowledged() {
    let sim = spawn_sim().await;
    let mut guest = greeted(&sim, &token()).await;
    let body = ask(&mut guest, "Options").await;
    let replies = body["content"].as_array().expect("content");
    assert_eq!(replies.len(), 3, "{body}");
    for reply in replies {
        // `QuickReplyContent`: text and payload required, action optional.
        assert_eq!(reply["contentType"], "QuickReply", "{body}");
        assert!(reply["quickReply"]["text"].is_string(), "{body}");
        assert!(reply["quickReply"]["payload"].is_string(), "{body}");
    }
    let chosen = &replies[1]["quickReply"];
    let button =
        json!({"text": chosen["text"], "payload": chosen["payload"], "type": "QuickReply"});
    let ack = answer(&mut guest, "Text", "", button).await;
    assert!(
        ack.contains(&format!(
            "You chose \"{}\"",
            chosen["text"].as_str().expect("label")
        )),
        "{ack}"
    );
}

#[tokio::test]
async fn a_card_and_a_carousel_offer_postbacks_and_links() {
    let sim = spawn_sim().await;
    let mut guest = greeted(&sim, &token()).await;
    let body = ask(&mut guest, "card").await;
    let content = &body["content"][0];
    assert_eq!(content["contentType"], "Card", "{body}");
    let card = &content["card"];
    assert!(
        card["title"].is_string() && card["description"].is_string(),
        "{body}"
    );
    image_is_served(&sim, &card["image"]).await;
    assert_eq!(card["defaultAction"]["type"], "Link", "{body}");
    let actions = card["actions"].as_array().expect("actions");
    let postback = actions
        .iter()
        .find(|a| a["type"] == "Postback")
        .expect("a postback button");
    assert!(
        postback["text"].is_string() && postback["payload"].is_string(),
        "{body}"
    );
    let link = actions
        .iter()
        .find(|a| a["type"] == "Link")
        .expect("a link");
    assert!(
        link["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{body}"
    );
    // A postback is sent Structured with the button's text; the SDK types it `Button`.
    let label = postback["text"].as_str().expect("label");
    let button = json!({"text": label, "payload": postback["payload"], "type": "Button"});
    let ack = answer(&mut guest, "Structured", label, button).await;
    assert!(ack.contains(&format!("You selected \"{label}\"")), "{ack}");

    let body = ask(&mut guest, "carousel").await;
    let content = &body["content"][0];
    assert_eq!(content["contentType"], "Carousel", "{body}");
    let cards = content["carousel"]["cards"].as_array().expect("cards");
    assert!(cards.len() >= 2, "{body}");
    for card in cards {
        assert!(
            card["title"].is_string() && card["description"].is_string(),
            "{body}"
        );
        assert!(
            card["actions"].as_array().is_some_and(|a| !a.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_date_picker_offers_future_times_and_a_chosen_one_is_booked() {
    let sim = spawn_sim().await;
    let mut guest = greeted(&sim, &token()).await;
    let body = ask(&mut guest, "date").await;
    let content = &body["content"][0];
    assert_eq!(content["contentType"], "DatePicker", "{body}");
    assert_eq!(body["originatingMessageId"], body["id"], "{body}");
    let picker = &content["datePicker"];
    assert!(
        picker["title"].is_string() && picker["subtitle"].is_string(),
        "{body}"
    );
    image_is_served(&sim, &picker["imageUrl"]).await;
    let times = picker["availableTimes"].as_array().expect("availableTimes");
    assert!(!times.is_empty(), "{body}");
    let now = time::OffsetDateTime::now_utc();
    for slot in times {
        let at = slot["dateTime"].as_str().expect("dateTime");
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .expect("an ISO-8601 time");
        assert!(at > now, "{body}");
        assert_eq!(slot["duration"], 1800, "{body}");
    }
    // `MessageStore.prepareTimeSlotSubmissionMessageWith`: an empty Text with a DatePicker
    // ButtonResponse whose payload is the slot's dateTime.
    let slot = times[0]["dateTime"].clone();
    let button = json!({"text": "Tomorrow 10:00", "payload": slot, "type": "DatePicker",
        "originatingMessageId": body["id"]});
    let ack = answer(&mut guest, "Text", "", button).await;
    assert!(
        ack.contains(&format!("booked for {}", slot.as_str().expect("slot"))),
        "{ack}"
    );
}

#[tokio::test]
async fn a_trigger_word_inside_a_sentence_is_just_text() {
    let sim = spawn_sim().await;
    let mut guest = greeted(&sim, &token()).await;
    guest.text("what are my options?").await;
    assert_inbound_text(&guest.next().await, "what are my options?");
    assert_typing(&guest.next().await);
    let reply = agent_text(&guest.next().await, "Eva Novak");
    assert!(reply.contains("\"what are my options?\""), "{reply}");
}
