//! The simulated bot's rich messages and the words that ask for them: quick replies on
//! `options`, a card on `card`, a carousel on `carousel`, a date picker on `date`, and a file
//! (which the agent sends, see `session/files.rs`) on `file`. A trigger is a message that is just
//! the word, in any case, punctuation around it ignored, so that ordinary sentences never set one
//! off.
//!
//! Shapes follow the transport SDK's `StructuredMessage.Content` (`QuickReplyContent`,
//! `CardContent` with `Action`s, `CarouselContent`, `DatePickerContent` with
//! `TimeSlotPickerContent`) and its samples (`Response.onMessageWithQuickReplies`,
//! `onMessageWithPostbackCardReply`, `onMessageWithDatePickerStructured`; `SerializationTest`'s
//! card and carousel). Durations of time slots are in seconds, as Genesys's
//! `ContentDatePickerAvailableTime` documents. Pure: no sessions, no sockets.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, Time};

use crate::api::iso_millis;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    Options,
    Card,
    Carousel,
    Date,
    File,
}

/// The trigger a guest's text is, if it is one.
pub fn trigger(text: &str) -> Option<Trigger> {
    let word = text
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    match word.as_str() {
        "options" => Some(Trigger::Options),
        "card" => Some(Trigger::Card),
        "carousel" => Some(Trigger::Carousel),
        "date" => Some(Trigger::Date),
        "file" => Some(Trigger::File),
        _ => None,
    }
}

/// What the bot sends for a trigger, as the agent's side gives a message (`{type, text,
/// content, originatingEntity}`, see `protocol::agent_message`); `None` for `File`, which the
/// agent answers with a file instead. `images` is the upload target's base, which serves the
/// cards' image.
pub fn message(trigger: Trigger, images: Option<&str>, now: OffsetDateTime) -> Option<Value> {
    let image = images.map(|base| format!("{base}/samples/card.png"));
    let (text, content) = match trigger {
        Trigger::Options => ("What can I help you with?", quick_replies()),
        Trigger::Card => (
            "Here is the plan most customers pick:",
            json!([{ "contentType": "Card", "card": card(&PLANS[2], image.as_deref()) }]),
        ),
        Trigger::Carousel => {
            let cards: Vec<Value> = PLANS
                .iter()
                .map(|plan| card(plan, image.as_deref()))
                .collect();
            (
                "Here are our support plans:",
                json!([{ "contentType": "Carousel", "carousel": { "cards": cards } }]),
            )
        }
        Trigger::Date => (
            "When would you like us to call you?",
            json!([{ "contentType": "DatePicker", "datePicker": date_picker(image.as_deref(), now) }]),
        ),
        Trigger::File => return None,
    };
    Some(
        json!({ "type": "Structured", "text": text, "content": content, "originatingEntity": "Bot" }),
    )
}

fn quick_replies() -> Value {
    let reply = |text: &str, payload: &str| json!({ "contentType": "QuickReply", "quickReply": { "text": text, "payload": payload, "action": "Message" } });
    json!([
        reply("Track my order", "track-order"),
        reply("Billing question", "billing"),
        reply("Something else", "other"),
    ])
}

struct Plan {
    name: &'static str,
    description: &'static str,
    payload: &'static str,
}

const PLANS: [Plan; 3] = [
    Plan {
        name: "Basic",
        description: "Answers by email within two working days.",
        payload: "plan-basic",
    },
    Plan {
        name: "Standard",
        description: "Chat and phone support on working days.",
        payload: "plan-standard",
    },
    Plan {
        name: "Premium",
        description: "Priority answers from our senior team, around the clock.",
        payload: "plan-premium",
    },
];

/// A card: a `Postback` button to choose the plan and a `Link` to read more; tapping the card
/// opens the link too (`defaultAction`).
fn card(plan: &Plan, image: Option<&str>) -> Value {
    let url = format!("https://example.com/plans/{}", plan.payload);
    let mut card = json!({
        "title": plan.name,
        "description": plan.description,
        "defaultAction": { "type": "Link", "text": plan.name, "url": url },
        "actions": [
            { "type": "Postback", "text": format!("Choose {}", plan.name), "payload": plan.payload },
            { "type": "Link", "text": "Learn more", "url": url },
        ],
    });
    if let Some(image) = image {
        card["image"] = json!(image);
    }
    card
}

/// Call-back times on the next two days, 10:00 and 14:00 UTC, half an hour each.
fn date_picker(image: Option<&str>, now: OffsetDateTime) -> Value {
    let times: Vec<Value> = (1..=2)
        .flat_map(|days| [(days, 10), (days, 14)])
        .filter_map(|(days, hour)| {
            let day = (now + Duration::days(days)).date();
            let at = Time::from_hms(hour, 0, 0).ok()?;
            Some(
                json!({ "dateTime": iso_millis(day.with_time(at).assume_utc()), "duration": 1800 }),
            )
        })
        .collect();
    let mut picker = json!({
        "title": "Book a call",
        "subtitle": "Choose a time that suits you",
        "availableTimes": times,
    });
    if let Some(image) = image {
        picker["imageUrl"] = json!(image);
    }
    picker
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bare_word_triggers() {
        assert_eq!(trigger("Options"), Some(Trigger::Options));
        assert_eq!(trigger("  card! "), Some(Trigger::Card));
        assert_eq!(trigger("carousel"), Some(Trigger::Carousel));
        assert_eq!(trigger("date?"), Some(Trigger::Date));
        assert_eq!(trigger("file"), Some(Trigger::File));
        assert_eq!(trigger("what are my options"), None);
        assert_eq!(trigger(""), None);
    }

    #[test]
    fn the_date_picker_offers_future_half_hours() {
        let now = time::macros::datetime!(2024-05-31 18:00 UTC);
        let message = message(Trigger::Date, None, now).expect("a date picker");
        let times = &message["content"][0]["datePicker"]["availableTimes"];
        assert_eq!(
            times[0],
            json!({"dateTime": "2024-06-01T10:00:00.000Z", "duration": 1800})
        );
        assert_eq!(times.as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn cards_carry_a_postback_and_a_link() {
        let message =
            message(Trigger::Card, Some("http://h"), OffsetDateTime::now_utc()).expect("a card");
        assert!(super::message(Trigger::File, None, OffsetDateTime::now_utc()).is_none());
        let card = &message["content"][0]["card"];
        assert_eq!(card["image"], "http://h/samples/card.png");
        assert_eq!(card["actions"][0]["type"], "Postback");
        assert_eq!(card["actions"][1]["type"], "Link");
    }
}
