//! The simulated chatting agent of one web messaging conversation: it waits until the model
//! assigns the conversation to an agent, then types and greets as that agent, and answers every
//! later guest text with a canned reply after `agent_typing_delay`.
//!
//! It is not an agent desktop or a bot: replies are deterministic, friendly templates that quote
//! the guest (enough for a visitor in sandbox mode to see a conversation flow, and for tests to
//! match on). It only speaks through [`Sessions`](super::session::Sessions), which drops
//! anything said into a conversation the session has left.

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::protocol;
use crate::model::ModelEvent;
use crate::state::SimState;

/// Longest piece of guest text an answer quotes, in characters.
const MAX_QUOTE_CHARS: usize = 200;

pub struct Agent {
    pub state: SimState,
    pub token: String,
    pub conversation: Uuid,
    /// Subscribed before the conversation was started, so the assignment is never missed.
    pub events: broadcast::Receiver<ModelEvent>,
    pub from_guest: mpsc::Receiver<String>,
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
        let greeting = greeting(&name, &self.queue_name(), backlog.last());
        if !self.type_then_say(&name, &greeting).await {
            return;
        }
        self.chat(&name).await;
    }

    /// Until an agent takes the conversation: collects the guest's texts meanwhile.
    async fn wait_for_agent(&mut self) -> Option<(String, Vec<String>)> {
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
    fn drain(&mut self, mut backlog: Vec<String>) -> Vec<String> {
        while let Ok(text) = self.from_guest.try_recv() {
            backlog.push(text);
        }
        backlog
    }

    /// After the greeting: one typed answer per guest text, until the conversation ends.
    async fn chat(&mut self, name: &str) {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                text = self.from_guest.recv() => {
                    let Some(text) = text else { return };
                    if !self.type_then_say(name, &reply(&text)).await {
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

    /// Typing indicator, `agent_typing_delay`, then the text. False once the agent should stop.
    async fn type_then_say(&self, name: &str, text: &str) -> bool {
        if !self.say(&protocol::agent_typing(), false) {
            return false;
        }
        tokio::select! {
            _ = self.stop.cancelled() => return false,
            _ = tokio::time::sleep(self.state.config.agent_typing_delay) => {}
        }
        self.say(&protocol::agent_text(name, text), true)
    }

    fn say(&self, body: &serde_json::Value, record: bool) -> bool {
        self.state
            .webmessaging
            .agent_says(&self.token, self.conversation, body, record)
    }
}

/// The canned greeting; after a wait it acknowledges the guest's last text.
fn greeting(agent: &str, queue: &str, waiting_text: Option<&String>) -> String {
    match waiting_text {
        None => format!("Hi, I'm {agent} from the {queue} team. How can I help you today?"),
        Some(text) => format!(
            "Hi, I'm {agent} from the {queue} team. Sorry to keep you waiting! You wrote: \"{}\". Let me help you with that.",
            quote(text)
        ),
    }
}

/// The canned answer to every later text: it quotes the guest so the exchange reads naturally.
fn reply(text: &str) -> String {
    format!(
        "Thanks for your message: \"{}\". I'm looking into it. Is there anything else I can help with?",
        quote(text)
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

    #[test]
    fn reply_quotes_the_guest() {
        assert!(reply("  where is my order? ").contains("\"where is my order?\""));
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
