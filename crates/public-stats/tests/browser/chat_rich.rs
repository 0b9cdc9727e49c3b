//! The chat beyond plain text, in Chromium against the simulator: the bot's quick replies, card,
//! carousel and date picker (asked for with the simulator's trigger words) shown, answered with
//! the mouse and with the keyboard alone, and the answer checked where it arrived; links in text
//! only for http(s); Delivered and Read receipts; the history of a resumed chat over several
//! pages; the transcript's download and print view. axe-core in each new state.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::axe::assert_no_violations;
use crate::browser::Browser;
use crate::chat::{
    CHAT_WAIT, chat_app, chat_until_greeted, open_demo, saved_token, sim_post, sim_sessions,
};
use crate::helpers::{DEMO_SUPPORT_QUEUE, spawn_app};
use crate::widget::Widget;

/// Sends `text` from the message box and waits until the agent's side has answered it with
/// something the log shows as `answered` (a selector).
async fn ask(w: &Widget<'_>, text: &str, answered: &str) {
    let before = w
        .eval(&format!(
            "return root.querySelectorAll({}).length;",
            json!(answered)
        ))
        .await;
    w.type_into("#psw-chat-input", text).await;
    w.click("#psw-chat-send").await;
    w.wait_for(
        &format!("the answer to {text:?}"),
        &format!(
            "root.querySelectorAll({}).length > {before}",
            json!(answered)
        ),
        CHAT_WAIT,
    )
    .await;
}

/// The last message the visitor's side sent, as the simulator recorded it.
async fn last_guest_message(app: &crate::helpers::TestApp) -> Value {
    let sessions = sim_sessions(app).await;
    let messages = sessions
        .last()
        .and_then(|s| s["messages"].as_array().cloned())
        .unwrap_or_default();
    messages
        .into_iter()
        .rev()
        .find(|m| m["direction"] == "Inbound" && m["type"] != "Event")
        .unwrap_or(Value::Null)
}

/// Waits until the simulator has the visitor's answer with this button `text`; returns its
/// `buttonResponse` and the message's type and text.
async fn answer_arrived(app: &crate::helpers::TestApp, text: &str) -> (Value, Value, Value) {
    for _ in 0..100 {
        let message = last_guest_message(app).await;
        let button = &message["content"][0]["buttonResponse"];
        if button["text"] == text {
            return (
                button.clone(),
                message["type"].clone(),
                message["text"].clone(),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the simulator never got the answer {text:?}; last: {}",
        last_guest_message(app).await
    );
}

/// The id of the bot's last message of this content type, from the simulator's record.
async fn last_bot_message(app: &crate::helpers::TestApp, content_type: &str) -> Value {
    let sessions = sim_sessions(app).await;
    sessions
        .last()
        .and_then(|s| s["messages"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .rev()
        .find(|m| m["content"][0]["contentType"] == content_type)
        .unwrap_or(Value::Null)
}

/// Tabs forward from the chat log until the focus is on a control whose text is `label` (and
/// which matches `within`); fails after 40 presses.
async fn tab_to(browser: &Browser, w: &Widget<'_>, within: &str, label: &str) {
    w.eval("$('#psw-chat-log').focus();").await;
    let check = format!(
        "const e = root.activeElement; return !!e && e.textContent === {} && !!e.closest({});",
        json!(label),
        json!(within)
    );
    for _ in 0..40 {
        browser.press(Key::Tab).await;
        if w.eval(&check).await == json!(true) {
            return;
        }
    }
    panic!("Tab never reached {label:?} in {within}");
}

async fn focused_text(w: &Widget<'_>) -> Value {
    w.eval("const e = root.activeElement; return e ? e.textContent : null;")
        .await
}

#[tokio::test]
async fn quick_replies_cards_carousels_and_date_pickers_answer_by_mouse_and_keyboard() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-rich-kinds").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "hello").await;

    // Quick replies: buttons under the bot's message; a click answers and removes the set.
    ask(&w, "options", ".psw-replies button").await;
    assert_eq!(
        w.eval("return [...root.querySelectorAll('.psw-replies button')].map(b => b.textContent);")
            .await,
        json!(["Track my order", "Billing question", "Something else"])
    );
    browser.screenshot("quick-replies").await;
    assert_no_violations(&browser, "chat with quick replies").await;
    let options = last_bot_message(&app, "QuickReply").await;
    w.click(".psw-replies button:nth-child(2)").await;
    let (button, kind, text) = answer_arrived(&app, "Billing question").await;
    assert_eq!(
        (button, kind, text),
        (
            json!({ "text": "Billing question", "payload": "billing", "type": "QuickReply",
                "originatingMessageId": options["id"] }),
            json!("Text"),
            json!("")
        )
    );
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-replies').length;")
            .await,
        json!(0),
        "the quick replies stay after an answer"
    );
    w.wait_text_for("#psw-chat-log", "You chose \"Billing question\"", CHAT_WAIT)
        .await;

    // The keyboard alone: Tab to a quick reply, Enter; the focus goes back to the message box.
    ask(&w, "options", ".psw-replies button").await;
    tab_to(&browser, &w, ".psw-replies", "Track my order").await;
    browser.press(Key::Enter).await;
    let (button, _, _) = answer_arrived(&app, "Track my order").await;
    assert_eq!(button["payload"], "track-order");
    w.wait("the quick replies gone", "!$('.psw-replies')").await;
    assert_eq!(w.focused().await, "psw-chat-input");

    // A card: its image, title, description, a link and a postback button.
    ask(&w, "card", ".psw-card").await;
    let card = w
        .eval(
            "const c = [...root.querySelectorAll('.psw-card')].pop(); const img = c.querySelector('img'); \
             return { label: c.getAttribute('aria-labelledby') && root.getElementById(c.getAttribute('aria-labelledby')).textContent, \
               role: c.getAttribute('role'), text: c.innerText, alt: img && img.alt, src: img && img.src, \
               links: [...c.querySelectorAll('a')].map(a => [a.textContent, a.href, a.rel, a.target]), \
               buttons: [...c.querySelectorAll('button')].map(b => b.textContent) };",
        )
        .await;
    assert_eq!(card["label"], "Premium", "{card}");
    assert_eq!(card["role"], "group", "{card}");
    assert!(
        card["text"]
            .as_str()
            .is_some_and(|t| t.contains("Priority answers")),
        "{card}"
    );
    assert_eq!(card["alt"], "Premium", "{card}");
    assert!(
        card["src"].as_str().is_some_and(|s| s.starts_with("http")),
        "{card}"
    );
    assert_eq!(
        card["links"],
        json!([[
            "Learn more",
            "https://example.com/plans/plan-premium",
            "noopener noreferrer",
            "_blank"
        ]]),
        "{card}"
    );
    assert_eq!(card["buttons"], json!(["Choose Premium"]), "{card}");
    browser.screenshot("card").await;
    assert_no_violations(&browser, "chat with a card").await;
    let card_message = last_bot_message(&app, "Card").await;
    w.eval("[...root.querySelectorAll('.psw-card button')].pop().dataset.t = 'card';")
        .await;
    w.click("[data-t=card]").await;
    let (button, kind, text) = answer_arrived(&app, "Choose Premium").await;
    assert_eq!(
        (button, kind, text),
        (
            json!({ "text": "Choose Premium", "payload": "plan-premium", "type": "Postback",
                "originatingMessageId": card_message["id"] }),
            json!("Structured"),
            json!("Choose Premium")
        )
    );
    w.wait_text_for(
        "#psw-chat-log",
        "You selected \"Choose Premium\"",
        CHAT_WAIT,
    )
    .await;
    // And by keyboard (the card's button stays: a visitor may change their mind).
    let answers = w
        .eval("return root.querySelectorAll('.psw-msg--guest').length;")
        .await;
    tab_to(&browser, &w, ".psw-card", "Choose Premium").await;
    browser.press(Key::Enter).await;
    w.wait(
        "the second postback",
        &format!("root.querySelectorAll('.psw-msg--guest').length > {answers}"),
    )
    .await;
    answer_arrived(&app, "Choose Premium").await;

    // A carousel: a labelled group of cards; the arrow keys move between them.
    ask(&w, "carousel", ".psw-carousel").await;
    let carousel = w
        .eval(
            "const c = [...root.querySelectorAll('.psw-carousel')].pop(); \
             return { role: c.getAttribute('role'), label: c.getAttribute('aria-label'), \
               cards: [...c.querySelectorAll('.psw-card-title')].map(t => t.textContent) };",
        )
        .await;
    assert_eq!(
        carousel,
        json!({ "role": "group", "label": "Cards", "cards": ["Basic", "Standard", "Premium"] })
    );
    browser.screenshot("carousel").await;
    assert_no_violations(&browser, "chat with a carousel").await;
    tab_to(&browser, &w, ".psw-carousel", "Choose Basic").await;
    browser.press(Key::Right).await;
    assert_eq!(focused_text(&w).await, json!("Choose Standard"));
    browser.press(Key::Right).await;
    assert_eq!(focused_text(&w).await, json!("Choose Premium"));
    browser.press(Key::Left).await;
    assert_eq!(focused_text(&w).await, json!("Choose Standard"));
    browser.press(Key::Enter).await;
    let (button, _, _) = answer_arrived(&app, "Choose Standard").await;
    assert_eq!(
        (&button["payload"], &button["type"]),
        (&json!("plan-standard"), &json!("Postback"))
    );
    w.wait_text_for(
        "#psw-chat-log",
        "You selected \"Choose Standard\"",
        CHAT_WAIT,
    )
    .await;
    w.eval("[...root.querySelectorAll('.psw-carousel')].pop().querySelector('button').dataset.t = 'basic';")
        .await;
    w.click("[data-t=basic]").await;
    let (button, _, _) = answer_arrived(&app, "Choose Basic").await;
    assert_eq!(button["payload"], "plan-basic");

    // A date picker: its times as a labelled list of buttons; the chosen one answers as the
    // transport SDK's submitTimeSlot and the times go.
    ask(&w, "date", ".psw-picker").await;
    let picker = last_bot_message(&app, "DatePicker").await;
    let times = picker["content"][0]["datePicker"]["availableTimes"].clone();
    let shown = w
        .eval(
            "const p = [...root.querySelectorAll('.psw-picker')].pop(); const g = p.querySelector('.psw-replies'); \
             return { title: root.getElementById(p.getAttribute('aria-labelledby')).textContent, \
               group: g.getAttribute('aria-label'), slots: [...g.querySelectorAll('button')].map(b => b.textContent) };",
        )
        .await;
    assert_eq!(shown["title"], "Book a call", "{shown}");
    assert_eq!(shown["group"], "Available times", "{shown}");
    assert_eq!(
        shown["slots"].as_array().map(Vec::len),
        times.as_array().map(Vec::len),
        "{shown}"
    );
    browser.screenshot("date-picker").await;
    assert_no_violations(&browser, "chat with a date picker").await;
    let first_slot = shown["slots"][0].as_str().expect("a slot").to_owned();
    tab_to(&browser, &w, ".psw-picker", &first_slot).await;
    browser.press(Key::Enter).await;
    let (button, kind, text) = answer_arrived(&app, &first_slot).await;
    assert_eq!(
        (button, kind, text),
        (
            json!({ "text": first_slot, "payload": times[0]["dateTime"], "type": "DatePicker",
                "originatingMessageId": picker["id"] }),
            json!("Text"),
            json!("")
        )
    );
    w.wait(
        "the times gone",
        "!root.querySelector('.psw-picker .psw-replies')",
    )
    .await;
    assert_eq!(w.focused().await, "psw-chat-input");
    w.wait_text_for(
        "#psw-chat-log",
        &format!(
            "booked for {}",
            times[0]["dateTime"].as_str().unwrap_or("?")
        ),
        CHAT_WAIT,
    )
    .await;
    // And with the mouse.
    ask(&w, "date", ".psw-picker .psw-replies").await;
    let second_slot = w
        .eval("const b = root.querySelector('.psw-picker .psw-replies button:nth-child(2)'); return b.textContent;")
        .await;
    w.click(".psw-picker .psw-replies button:nth-child(2)")
        .await;
    let (button, _, _) = answer_arrived(&app, second_slot.as_str().unwrap_or("?")).await;
    assert_eq!(button["type"], "DatePicker");
    browser.close().await;
}

#[tokio::test]
async fn links_in_text_are_links_only_over_http_and_https() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-rich-links").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "hello").await;
    let token = saved_token(&browser).await;
    let text = "Read https://example.com/help?a=1&b=2. Not javascript:alert(1) nor \
                data:text/html,<b>x</b> nor JAVASCRIPT://example.com/%0aalert(1), \
                but (http://example.org/faq) is fine.";
    let response = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/messages"),
        Some(json!({ "type": "Text", "text": text, "originatingEntity": "Human" })),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    w.wait_text("#psw-chat-log", "is fine.").await;
    let shown = w
        .eval(
            "const m = [...root.querySelectorAll('.psw-msg--agent')].pop(); \
             return { links: [...m.querySelectorAll('a')].map(a => [a.textContent, a.getAttribute('href'), a.rel, a.target]), \
               elements: [...m.querySelectorAll('*')].map(e => e.localName), text: m.textContent, xss: window.__xss || null };",
        )
        .await;
    assert_eq!(
        shown["links"],
        json!([
            [
                "https://example.com/help?a=1&b=2",
                "https://example.com/help?a=1&b=2",
                "noopener noreferrer",
                "_blank"
            ],
            [
                "http://example.org/faq",
                "http://example.org/faq",
                "noopener noreferrer",
                "_blank"
            ]
        ]),
        "{shown}"
    );
    assert_eq!(shown["elements"], json!(["span", "a", "a"]), "{shown}");
    assert!(
        shown["text"]
            .as_str()
            .is_some_and(|t| t.contains("javascript:alert(1)") && t.contains("<b>x</b>")),
        "{shown}"
    );
    assert_no_violations(&browser, "chat with links in text").await;
    browser.close().await;
}

#[tokio::test]
async fn receipts_show_delivered_then_read() {
    // Nobody to answer: the message stays delivered until the agent's side reads it.
    let app = spawn_app().await;
    app.set_queue(DEMO_SUPPORT_QUEUE, json!({ "agents": { "offQueue": 1 } }))
        .await;
    let browser = open_demo(&app, "chat-rich-receipts").await;
    let w = Widget::new(&browser);
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    w.type_into("#psw-chat-input", "is anyone there?").await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", "Delivered").await;
    let receipt = w
        .eval(
            "const r = $('.psw-receipt'); return { text: r.textContent, \
               after: r.previousElementSibling.textContent, font: getComputedStyle(r).fontSize };",
        )
        .await;
    assert_eq!(receipt["text"], "Delivered", "{receipt}");
    assert!(
        receipt["after"]
            .as_str()
            .is_some_and(|t| t.ends_with("is anyone there?")),
        "{receipt}"
    );
    assert_eq!(receipt["font"], "12px", "{receipt}");
    browser.screenshot("receipt-delivered").await;
    assert_no_violations(&browser, "chat with a delivered receipt").await;

    let token = saved_token(&browser).await;
    let read = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/read"),
        None,
    )
    .await;
    assert_eq!(read.status().as_u16(), 204);
    w.wait(
        "the Read receipt",
        "$('.psw-receipt').textContent === 'Read'",
    )
    .await;
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-receipt').length;")
            .await,
        json!(1),
        "one receipt line per message"
    );
    browser.screenshot("receipt-read").await;
    assert_no_violations(&browser, "chat with a read receipt").await;
    browser.close().await;
}

#[tokio::test]
async fn the_history_after_a_reload_spans_every_page_oldest_first_once() {
    let app = spawn_app().await;
    app.set_queue(DEMO_SUPPORT_QUEUE, json!({ "agents": { "offQueue": 1 } }))
        .await;
    let browser = open_demo(&app, "chat-rich-history").await;
    let w = Widget::new(&browser);
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    w.type_into("#psw-chat-input", "first words").await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", "first words").await;
    let token = saved_token(&browser).await;
    // 60 more from the agent's side: with the visitor's, three pages of 25.
    let expected: Vec<String> = (1..=60).map(|n| format!("agent line {n}")).collect();
    for text in &expected {
        let response = sim_post(
            &app,
            &format!("/__sim/webmessaging/sessions/{token}/messages"),
            Some(json!({ "type": "Text", "text": text, "originatingEntity": "Human" })),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
    }
    w.wait_text("#psw-chat-log", "agent line 60").await;

    browser.reload().await;
    w.wait_ready().await;
    w.wait_text_for("#psw-chat-log", "agent line 60", CHAT_WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = w
        .eval("return [...root.querySelectorAll('.psw-msg')].map(m => m.lastChild.textContent);")
        .await;
    let mut want = vec![json!("first words")];
    want.extend(expected.iter().map(|t| json!(t)));
    assert_eq!(
        shown,
        json!(want),
        "the history is not every page, oldest first, once"
    );
    // The history has no receipts: the agent's side answered, so the visitor's words were read.
    assert_eq!(
        w.eval("const r = $('.psw-receipt'); return r && [r.previousElementSibling.lastChild.textContent, r.textContent];")
            .await,
        json!(["first words", "Read"])
    );
    browser.close().await;
}

#[tokio::test]
async fn the_transcript_downloads_as_text_and_prints_the_conversation_alone() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-rich-transcript").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "hello there").await;
    ask(&w, "card", ".psw-card").await;
    let loaded = "return !!document.querySelector('script[src$=\"chat-transcript.js\"]');";
    assert_eq!(w.eval(loaded).await, json!(false), "loaded before use");

    // The page's CSP (connect-src) keeps even the page from fetching a blob: URL; the Blob is
    // read where it is made.
    w.eval(
        "const make = URL.createObjectURL; \
         URL.createObjectURL = blob => { window.__transcript = blob; return make.call(URL, blob); };",
    )
    .await;
    w.click("#psw-chat-download").await;
    w.wait("the download link", "$('#psw-transcript-link')")
        .await;
    let file = browser
        .js_async(
            "const done = arguments[arguments.length - 1]; \
             const a = document.querySelector('public-stats-widget').shadowRoot.querySelector('#psw-transcript-link'); \
             const now = new Date(); const day = new Date(now - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10); \
             const blob = window.__transcript; \
             blob.text().then(text => done({ name: a.download, day, href: a.href, type: blob.type, text }));",
            vec![],
        )
        .await;
    assert_eq!(
        file["name"],
        json!(format!(
            "chat-transcript-{}.txt",
            file["day"].as_str().unwrap_or("?")
        )),
        "{file}"
    );
    assert!(
        file["href"]
            .as_str()
            .is_some_and(|h| h.starts_with("blob:")),
        "{file}"
    );
    assert!(
        file["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/plain")),
        "{file}"
    );
    let text = file["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Chat transcript — "), "{text}");
    assert!(text.contains("] You: hello there\n"), "{text}");
    assert!(text.contains(": Hi, I'm "), "the agent's greeting: {text}");
    assert!(
        text.contains("Premium: Priority answers"),
        "the card: {text}"
    );
    assert!(!text.contains("Delivered") && !text.contains("<"), "{text}");
    browser.screenshot("transcript-link").await;
    assert_no_violations(&browser, "chat with a transcript link").await;

    // The print view, by keyboard: from "End chat", Shift+Tab reaches "Print chat".
    w.eval("$('#psw-chat-end').focus();").await;
    browser.shift_tab().await;
    assert_eq!(w.focused().await, "psw-chat-print");
    browser.press(Key::Enter).await;
    w.wait("the print view", "$('#psw-print-frame')").await;
    let view = w
        .eval(
            "const d = $('#psw-print-frame').contentDocument; \
             return { text: d.body.innerText, elements: [...new Set([...d.body.querySelectorAll('*')].map(e => e.localName))].sort(), \
               title: d.title };",
        )
        .await;
    let printed = view["text"].as_str().unwrap_or_default();
    assert!(printed.contains("You: hello there"), "{view}");
    assert!(printed.contains("Premium: Priority answers"), "{view}");
    for elsewhere in ["How can we help?", "End chat", "Send", "Choose Premium"] {
        assert!(
            !printed.contains(elsewhere),
            "{elsewhere:?} printed: {view}"
        );
    }
    assert_eq!(
        view["elements"],
        json!(["h1", "p", "small", "strong"]),
        "{view}"
    );
    assert_eq!(view["title"], "Chat transcript", "{view}");
    browser.screenshot("transcript-printed").await;
    assert_no_violations(&browser, "chat after printing the transcript").await;
    // Under the demo page's strict CSP: no violation but the card's image, which is on the
    // simulator's file host (a site lists the hosts of its bot's images in img-src).
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("card.png"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
}
