//! The simulated chatting agent of one web messaging conversation: it waits until the model
//! assigns the conversation to an agent, then types and greets as that agent, and answers every
//! later guest message after `agent_typing_delay`: a canned reply quoting a text, an
//! acknowledgement of a quick reply, card button, time slot or file, or, on a trigger word
//! (`rich.rs`), the bot's quick replies, card, carousel or date picker, or a file.
//!
//! It is not an agent desktop or a real bot: replies are deterministic, friendly templates
//! (enough for a visitor in sandbox mode to see a conversation flow, and for tests to match on).
//! It only speaks through [`Sessions`](super::session::Sessions), which drops anything said into
//! a conversation the session has left.

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::protocol::{self, Said};
use super::rich::{self, Trigger};
use super::session::AgentFile;
use crate::model::ModelEvent;
use crate::state::SimState;

/// What the agent reads of one guest message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Heard {
    pub text: String,
    /// The button the guest chose (quick reply, card button, time slot), if any.
    pub choice: Option<Choice>,
    /// Names of the files the message carried.
    pub files: Vec<String>,
}

/// A `ButtonResponse`: its `type` (`QuickReply`, `Button`/`Postback`, `DatePicker`), the label
/// the guest saw and the payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub kind: String,
    pub label: String,
    pub payload: String,
}

impl Heard {
    pub fn from_said(said: &Said) -> Self {
        let field = |item: &Value, pointer: &str| {
            item.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let choice = said
            .content
            .iter()
            .find(|item| item["contentType"] == "ButtonResponse")
            .map(|item| Choice {
                kind: field(item, "/buttonResponse/type"),
                label: field(item, "/buttonResponse/text"),
                payload: field(item, "/buttonResponse/payload"),
            });
        let files = said
            .content
            .iter()
            .filter(|item| item["contentType"] == "Attachment")
            .map(|item| field(item, "/attachment/filename"))
            .collect();
        Heard {
            text: said.text.clone(),
            choice,
            files,
        }
    }

    /// What a greeting quotes: the text, else the chosen label, else the file names.
    fn quoted(&self) -> String {
        if !self.text.trim().is_empty() {
            return self.text.clone();
        }
        match &self.choice {
            Some(choice) => choice.label.clone(),
            None => self.files.join(", "),
        }
    }

    /// A trigger word, only in a plain text (not in a button's label or beside a file).
    fn trigger(&self) -> Option<Trigger> {
        if self.choice.is_some() || !self.files.is_empty() {
            return None;
        }
        rich::trigger(&self.text)
    }
}

/// Longest piece of guest text an answer quotes, in characters.
const MAX_QUOTE_CHARS: usize = 200;

pub struct Agent {
    pub state: SimState,
    pub token: String,
    pub conversation: Uuid,
    /// Subscribed before the conversation was started, so the assignment is never missed.
    pub events: broadcast::Receiver<ModelEvent>,
    pub from_guest: mpsc::Receiver<Heard>,
    /// Cancelled when the session ends the conversation (Clear, disconnect) or on shutdown.
    pub stop: CancellationToken,
}

/// What a model event means for this conversation.
enum Seen {
    Nothing,
    Assigned(String),
    Ended,
    /// Events were missed and the model shows no agent: still waiting, or ended.
    NoAgent,
    Closed,
}

pub fn spawn(agent: Agent) {
    tokio::spawn(agent.run());
}

impl Agent {
    async fn run(mut self) {
        let Some((name, backlog)) = self.wait_for_agent().await else {
            return;
        };
        let state = self.state.clone();
        if !state
            .webmessaging
            .agent_assigned(&self.token, self.conversation, &name)
        {
            return;
        }
        let waiting = backlog.last();
        let quoted = waiting.map(Heard::quoted);
        let greeting = greeting(&name, &self.queue_name(), quoted.as_ref());
        if !self.type_then_say(&name, &greeting).await {
            return;
        }
        // A trigger word the guest wrote while waiting is answered once greeted.
        if let Some(heard) = waiting.filter(|heard| heard.trigger().is_some())
            && !self.respond(&name, heard).await
        {
            return;
        }
        self.chat(&name).await;
    }

    /// Until an agent takes the conversation: collects the guest's messages meanwhile.
    async fn wait_for_agent(&mut self) -> Option<(String, Vec<Heard>)> {
        let mut backlog = Vec::new();
        loop {
            if let Some(name) = self.current_agent() {
                return Some((name, self.drain(backlog)));
            }
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                text = self.from_guest.recv() => backlog.push(text?),
                event = self.events.recv() => match self.interpret(event) {
                    Seen::Assigned(name) => return Some((name, self.drain(backlog))),
                    Seen::Ended => return self.ended_elsewhere(),
                    Seen::Closed => return None,
                    Seen::Nothing | Seen::NoAgent => {}
                },
            }
        }
    }

    /// Everything the guest wrote before the agent took over is answered by the greeting, not
    /// one by one (the text that started the conversation is usually still queued here).
    fn drain(&mut self, mut backlog: Vec<Heard>) -> Vec<Heard> {
        while let Ok(text) = self.from_guest.try_recv() {
            backlog.push(text);
        }
        backlog
    }

    /// After the greeting: one typed answer per guest message, until the conversation ends.
    async fn chat(&mut self, name: &str) {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                heard = self.from_guest.recv() => {
                    let Some(heard) = heard else { return };
                    if !self.respond(name, &heard).await {
                        return;
                    }
                }
                event = self.events.recv() => match self.interpret(event) {
                    Seen::Ended | Seen::NoAgent => {
                        self.ended_elsewhere::<()>();
                        return;
                    }
                    Seen::Closed => return,
                    Seen::Nothing | Seen::Assigned(_) => {}
                },
            }
        }
    }

    fn interpret(&self, event: Result<ModelEvent, broadcast::error::RecvError>) -> Seen {
        match event {
            Ok(ModelEvent::Assigned {
                conversation_id,
                agent_name,
                ..
            }) if conversation_id == self.conversation => Seen::Assigned(agent_name),
            Ok(ModelEvent::Ended {
                conversation_id, ..
            }) if conversation_id == self.conversation => Seen::Ended,
            Ok(_) => Seen::Nothing,
            // Missed events: the model itself says whether the conversation still has an agent.
            Err(broadcast::error::RecvError::Lagged(_)) => match self.current_agent() {
                Some(name) => Seen::Assigned(name),
                None => Seen::NoAgent,
            },
            Err(broadcast::error::RecvError::Closed) => Seen::Closed,
        }
    }

    fn current_agent(&self) -> Option<String> {
        self.state
            .model()
            .agent_of(self.conversation)
            .map(|a| a.name.clone())
    }

    fn queue_name(&self) -> String {
        let queue = self.state.config.org.messaging_queue;
        self.state
            .model()
            .queue_name(queue)
            .unwrap_or("support")
            .to_owned()
    }

    /// Something other than the guest or the control route ended the conversation in the
    /// model: for the guest that is the agent's side disconnecting.
    fn ended_elsewhere<T>(&self) -> Option<T> {
        let _ =
            self.state
                .webmessaging
                .disconnect(&self.state, &self.token, Some(self.conversation));
        None
    }

    /// The answer to one guest message: on a trigger word the bot's rich message or the
    /// agent's file, else a text (see [`reply`]). False once the agent should stop.
    async fn respond(&self, name: &str, heard: &Heard) -> bool {
        let Some(trigger) = heard.trigger() else {
            return self.type_then_say(name, &reply(heard)).await;
        };
        if !self.type_and_wait().await {
            return false;
        }
        let sessions = &self.state.webmessaging;
        let now = OffsetDateTime::now_utc();
        match rich::message(trigger, sessions.files_base(), now) {
            Some(given) => protocol::agent_message(&given, None).is_some_and(|mut body| {
                // As in the transport SDK's date picker sample, which names itself as the
                // message its time slots answer.
                if trigger == Trigger::Date {
                    body["originatingMessageId"] = body["id"].clone();
                }
                self.say(&body, true)
            }),
            // Without an upload target (a state not started by `spawn`) there is nowhere to
            // put a file.
            None if sessions.files_base().is_none() => {
                let text = "Sorry, I can't send files from here.";
                self.say(&protocol::agent_text(name, text), true)
            }
            None => {
                let text = "Here is the file you asked for.".to_owned();
                let file = AgentFile::sample(Some(text));
                sessions.agent_file(&self.token, self.conversation, name, file)
            }
        }
    }

    /// Typing indicator, `agent_typing_delay`, then the text. False once the agent should stop.
    async fn type_then_say(&self, name: &str, text: &str) -> bool {
        self.type_and_wait().await && self.say(&protocol::agent_text(name, text), true)
    }

    /// The typing indicator, then `agent_typing_delay`. False once the agent should stop.
    async fn type_and_wait(&self) -> bool {
        if !self.say(&protocol::agent_typing(), false) {
            return false;
        }
        tokio::select! {
            _ = self.stop.cancelled() => false,
            _ = tokio::time::sleep(self.state.config.agent_typing_delay) => true,
        }
    }

    fn say(&self, body: &serde_json::Value, record: bool) -> bool {
        self.state
            .webmessaging
            .agent_says(&self.token, self.conversation, body, record)
    }
}

/// The canned greeting; after a wait it acknowledges the guest's last message.
fn greeting(agent: &str, queue: &str, waiting_text: Option<&String>) -> String {
    match waiting_text {
        None => format!("Hi, I'm {agent} from the {queue} team. How can I help you today?"),
        Some(text) => format!(
            "Hi, I'm {agent} from the {queue} team. Sorry to keep you waiting! You wrote: \"{}\". Let me help you with that.",
            quote(text)
        ),
    }
}

/// The canned answer to every later message: it quotes the guest's text, or acknowledges the
/// button chosen or the files sent, so the exchange reads naturally.
fn reply(heard: &Heard) -> String {
    const MORE: &str = "Is there anything else I can help with?";
    if let Some(choice) = &heard.choice {
        let label = quote(&choice.label);
        return match choice.kind.as_str() {
            "QuickReply" => format!("You chose \"{label}\". Let me look into that. {MORE}"),
            "DatePicker" => format!(
                "Your call is booked for {}. We'll ring you then. {MORE}",
                quote(&choice.payload)
            ),
            _ => format!("You selected \"{label}\". Good choice! {MORE}"),
        };
    }
    if !heard.files.is_empty() && heard.text.trim().is_empty() {
        return format!(
            "Thanks, I received your file \"{}\". I'll have a look. {MORE}",
            quote(&heard.files.join(", "))
        );
    }
    format!(
        "Thanks for your message: \"{}\". I'm looking into it. {MORE}",
        quote(&heard.text)
    )
}

fn quote(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_QUOTE_CHARS {
        return text.to_owned();
    }
    let mut quoted: String = text.chars().take(MAX_QUOTE_CHARS).collect();
    quoted.push('…');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Heard {
        Heard {
            text: text.to_owned(),
            ..Heard::default()
        }
    }

    fn chose(kind: &str, label: &str, payload: &str) -> Heard {
        Heard {
            choice: Some(Choice {
                kind: kind.to_owned(),
                label: label.to_owned(),
                payload: payload.to_owned(),
            }),
            ..Heard::default()
        }
    }

    #[test]
    fn reply_quotes_the_guest() {
        assert!(reply(&text("  where is my order? ")).contains("\"where is my order?\""));
    }

    #[test]
    fn replies_acknowledge_buttons_time_slots_and_files() {
        assert!(
            reply(&chose("QuickReply", "Billing", "billing")).contains("You chose \"Billing\"")
        );
        assert!(
            reply(&chose("Button", "Choose Basic", "plan-basic"))
                .contains("You selected \"Choose Basic\"")
        );
        let slot = chose("DatePicker", "Tomorrow 10:00", "2024-06-01T10:00:00.000Z");
        assert!(reply(&slot).contains("booked for 2024-06-01T10:00:00.000Z"));
        let file = Heard {
            files: vec!["a.pdf".to_owned()],
            ..Heard::default()
        };
        assert!(reply(&file).contains("your file \"a.pdf\""));
    }

    #[test]
    fn triggers_only_in_plain_texts() {
        assert_eq!(text("Options").trigger(), Some(Trigger::Options));
        assert_eq!(chose("QuickReply", "options", "o").trigger(), None);
    }

    #[test]
    fn long_quotes_are_cut() {
        let long = "x".repeat(1_000);
        assert_eq!(quote(&long).chars().count(), MAX_QUOTE_CHARS + 1);
    }

    #[test]
    fn greeting_after_a_wait_mentions_the_text() {
        let text = "hello?".to_owned();
        assert!(greeting("Eva Novak", "Support", Some(&text)).contains("hello?"));
        assert!(greeting("Eva Novak", "Support", None).contains("Eva Novak"));
    }
}
