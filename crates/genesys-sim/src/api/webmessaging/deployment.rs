//! Web Messaging deployments: the settings an admin gives a Messenger deployment, the
//! `config.json` Genesys publishes for it, and what the guest socket does differently because of
//! them (typing allowed, Clear allowed, how an agent's disconnect reads, session lifetime).
//!
//! The org's own deployment exists from the start with every feature on; tests add deployments or
//! change one through `PUT /__sim/webmessaging/deployments/{id}`. Not the sessions (`session.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// `conversationDisconnect.type`: what the guest may do once the agent has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisconnectType {
    /// The conversation becomes read-only: Genesys flags the Disconnect with `readOnly:"true"`.
    ReadOnly,
    /// The guest may keep writing; the next text starts a new conversation.
    Send,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationDisconnect {
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: DisconnectType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Active,
    Inactive,
}

/// One deployment's settings, named as in its `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSettings {
    pub status: Status,
    pub show_user_typing_indicator: bool,
    pub show_agent_typing_indicator: bool,
    pub conversation_clear: bool,
    pub conversation_disconnect: ConversationDisconnect,
    pub auto_start: bool,
    /// Whether `fileUpload.modes` lists file types. Uploads themselves are not simulated.
    pub file_upload: bool,
    /// `durationSeconds` of its sessions: how long a session lives after its last activity.
    /// Genesys derives it from the deployment; ours defaults to 72 h.
    pub session_duration_seconds: u64,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        DeploymentSettings {
            status: Status::Active,
            show_user_typing_indicator: true,
            show_agent_typing_indicator: true,
            conversation_clear: true,
            conversation_disconnect: ConversationDisconnect {
                enabled: true,
                kind: DisconnectType::ReadOnly,
            },
            auto_start: false,
            file_upload: false,
            session_duration_seconds: 72 * 3600,
        }
    }
}

/// The body of `PUT /__sim/webmessaging/deployments/{id}`: what to change; the rest stays.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    status: Option<Status>,
    show_user_typing_indicator: Option<bool>,
    show_agent_typing_indicator: Option<bool>,
    conversation_clear: Option<bool>,
    conversation_disconnect: Option<ConversationDisconnect>,
    auto_start: Option<bool>,
    file_upload: Option<bool>,
    session_duration_seconds: Option<u64>,
}

impl SettingsPatch {
    /// A zero session duration would expire every session the moment it is configured.
    pub fn validate(&self) -> Result<(), &'static str> {
        match self.session_duration_seconds {
            Some(0) => Err("sessionDurationSeconds must be at least 1"),
            _ => Ok(()),
        }
    }

    fn apply(self, settings: &mut DeploymentSettings) {
        let SettingsPatch {
            status,
            show_user_typing_indicator,
            show_agent_typing_indicator,
            conversation_clear,
            conversation_disconnect,
            auto_start,
            file_upload,
            session_duration_seconds,
        } = self;
        set(&mut settings.status, status);
        set(
            &mut settings.show_user_typing_indicator,
            show_user_typing_indicator,
        );
        set(
            &mut settings.show_agent_typing_indicator,
            show_agent_typing_indicator,
        );
        set(&mut settings.conversation_clear, conversation_clear);
        set(
            &mut settings.conversation_disconnect,
            conversation_disconnect,
        );
        set(&mut settings.auto_start, auto_start);
        set(&mut settings.file_upload, file_upload);
        set(
            &mut settings.session_duration_seconds,
            session_duration_seconds,
        );
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

impl DeploymentSettings {
    /// The deployment's `config.json`, shaped like the `DeploymentConfig` of Genesys's transport
    /// SDK (`shyrka/receive/DeploymentConfig.kt`) and its sample in `TestWebMessagingApiResponses`.
    pub fn config_json(&self, id: Uuid, addr: SocketAddr) -> Value {
        let modes = if self.file_upload {
            json!([{ "fileTypes": ["image/png", "image/jpeg", "application/pdf"], "maxFileSizeKB": 10240 }])
        } else {
            json!([])
        };
        json!({
            "id": id,
            "version": "1",
            "languages": ["en-us"],
            "defaultLanguage": "en-us",
            "apiEndpoint": format!("http://{addr}"),
            "messenger": {
                "enabled": true,
                "apps": {
                    "conversations": {
                        "messagingEndpoint": format!("ws://{addr}"),
                        "conversationDisconnect": self.conversation_disconnect,
                        "conversationClear": { "enabled": self.conversation_clear },
                        "showAgentTypingIndicator": self.show_agent_typing_indicator,
                        "showUserTypingIndicator": self.show_user_typing_indicator,
                        "autoStart": { "enabled": self.auto_start },
                        "markdown": { "enabled": false },
                    },
                },
                "styles": { "primaryColor": "#1f6feb" },
                "launcherButton": { "visibility": "On" },
                "fileUpload": { "modes": modes },
            },
            "journeyEvents": { "enabled": false },
            "status": self.status,
            "auth": { "enabled": false },
        })
    }

    /// `metadata.readOnly` of the agent's Disconnect, or `None` when nothing is sent: with
    /// `conversationDisconnect` off Messenger shows nothing of the agent leaving.
    pub fn disconnect_read_only(&self) -> Option<bool> {
        let disconnect = self.conversation_disconnect;
        disconnect
            .enabled
            .then_some(disconnect.kind == DisconnectType::ReadOnly)
    }
}

/// Every deployment the simulator serves besides the org's own, which is implicit.
#[derive(Default)]
pub struct Deployments {
    settings: Mutex<HashMap<Uuid, DeploymentSettings>>,
}

impl Deployments {
    fn map(&self) -> MutexGuard<'_, HashMap<Uuid, DeploymentSettings>> {
        // Plain records: a panic mid-update leaves nothing worth refusing to serve.
        self.settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The settings of `id`, if the simulator serves it (`org` is the org's own deployment).
    pub fn get(&self, org: Uuid, id: Uuid) -> Option<DeploymentSettings> {
        match self.map().get(&id) {
            Some(settings) => Some(settings.clone()),
            None => (id == org).then(DeploymentSettings::default),
        }
    }

    /// Changes `id`'s settings, creating the deployment (with the defaults) if it is new.
    /// The org's deployment has no entry until its first change, so it starts from the defaults
    /// like any new one.
    pub fn patch(&self, id: Uuid, patch: SettingsPatch) -> DeploymentSettings {
        let mut map = self.map();
        let settings = map.entry(id).or_default();
        patch.apply(settings);
        settings.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_flag_follows_the_settings() {
        let mut settings = DeploymentSettings::default();
        assert_eq!(settings.disconnect_read_only(), Some(true));
        settings.conversation_disconnect.kind = DisconnectType::Send;
        assert_eq!(settings.disconnect_read_only(), Some(false));
        settings.conversation_disconnect.enabled = false;
        assert_eq!(settings.disconnect_read_only(), None);
    }

    #[test]
    fn patch_changes_only_what_it_names() {
        let deployments = Deployments::default();
        let org = Uuid::new_v4();
        let patch: SettingsPatch =
            serde_json::from_value(json!({"showUserTypingIndicator": false})).expect("patch");
        let changed = deployments.patch(org, patch);
        assert!(!changed.show_user_typing_indicator);
        assert!(changed.conversation_clear);
        assert_eq!(deployments.get(org, org), Some(changed));
        assert_eq!(deployments.get(org, Uuid::new_v4()), None);
    }

    #[test]
    fn unknown_patch_fields_are_refused() {
        let patch = serde_json::from_value::<SettingsPatch>(json!({"typing": false}));
        assert!(patch.is_err());
    }
}
