//! Web Messaging deployments: the settings an admin gives a Messenger deployment, the
//! `config.json` Genesys publishes for it, and what the guest socket does differently because of
//! them (typing allowed, Clear allowed, how an agent's disconnect reads, session lifetime, which
//! files a guest may upload, how many bytes of custom attributes a message may carry).
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
    /// Whether guests may upload files: `config.json` then lists the file types and the
    /// SessionResponse carries `allowedMedia` and `blockedExtensions`.
    pub file_upload: bool,
    /// MIME types a guest may upload; `*/*` allows any, `image/*` any image.
    pub allowed_file_types: Vec<String>,
    /// Largest upload in KB, a KB being 1,000 bytes (as the transport SDK counts them).
    #[serde(rename = "maxFileSizeKB")]
    pub max_file_size_kb: u64,
    /// Extensions (with their dot, lower case) no upload may have, whatever its type.
    pub blocked_extensions: Vec<String>,
    /// `maxCustomDataBytes` of the SessionResponse: larger custom attributes are refused (4013).
    pub max_custom_data_bytes: usize,
    /// `durationSeconds` of its sessions: how long a session lives after its last activity.
    /// Genesys derives it from the deployment; ours defaults to 72 h.
    pub session_duration_seconds: u64,
}

/// Largest `maxFileSizeKB` a deployment may be given: uploads are held in memory.
pub const MAX_FILE_SIZE_KB_LIMIT: u64 = 25_600;
/// Largest `maxCustomDataBytes` a deployment may be given: a message must still fit in a frame.
pub const MAX_CUSTOM_DATA_BYTES_LIMIT: usize = 32_768;

/// The file types of a deployment with file upload on, until a test changes them.
fn default_file_types() -> Vec<String> {
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "text/plain",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Extensions blocked whatever the type. Genesys keeps its own list (the transport SDK's samples
/// show `.ade` and `.adp`); these are the usual executable and script extensions.
fn default_blocked_extensions() -> Vec<String> {
    [
        ".ade", ".adp", ".bat", ".cmd", ".com", ".exe", ".hta", ".js", ".msi", ".scr", ".vbs",
    ]
    .map(str::to_owned)
    .to_vec()
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
            allowed_file_types: default_file_types(),
            max_file_size_kb: 10_240,
            blocked_extensions: default_blocked_extensions(),
            max_custom_data_bytes: 2_048,
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
    allowed_file_types: Option<Vec<String>>,
    #[serde(rename = "maxFileSizeKB")]
    max_file_size_kb: Option<u64>,
    blocked_extensions: Option<Vec<String>>,
    max_custom_data_bytes: Option<usize>,
    session_duration_seconds: Option<u64>,
}

impl SettingsPatch {
    /// Refuses values no deployment could work with: a zero session duration (every session
    /// would expire the moment it is configured), zero or huge limits, a file type without a
    /// `/`, an extension without its dot. File types and extensions are compared in lower case.
    pub fn validate(&mut self) -> Result<(), &'static str> {
        if self.session_duration_seconds == Some(0) {
            return Err("sessionDurationSeconds must be at least 1");
        }
        if self
            .max_file_size_kb
            .is_some_and(|kb| kb == 0 || kb > MAX_FILE_SIZE_KB_LIMIT)
        {
            return Err("maxFileSizeKB must be between 1 and 25600");
        }
        if self
            .max_custom_data_bytes
            .is_some_and(|bytes| bytes == 0 || bytes > MAX_CUSTOM_DATA_BYTES_LIMIT)
        {
            return Err("maxCustomDataBytes must be between 1 and 32768");
        }
        if let Some(types) = &mut self.allowed_file_types {
            lower_case(types);
            if types.iter().any(|t| !is_media_type(t)) {
                return Err("allowedFileTypes must be MIME types such as image/png or image/*");
            }
        }
        if let Some(extensions) = &mut self.blocked_extensions {
            lower_case(extensions);
            if extensions.iter().any(|e| !is_extension(e)) {
                return Err("blockedExtensions must be extensions with their dot, such as .exe");
            }
        }
        Ok(())
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
            allowed_file_types,
            max_file_size_kb,
            blocked_extensions,
            max_custom_data_bytes,
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
        set(&mut settings.allowed_file_types, allowed_file_types);
        set(&mut settings.max_file_size_kb, max_file_size_kb);
        set(&mut settings.blocked_extensions, blocked_extensions);
        set(&mut settings.max_custom_data_bytes, max_custom_data_bytes);
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

fn lower_case(values: &mut [String]) {
    for value in values {
        *value = value.trim().to_ascii_lowercase();
    }
}

/// `type/subtype`, either part possibly `*`, nothing else.
fn is_media_type(value: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-*".contains(c))
    };
    value
        .split_once('/')
        .is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

fn is_extension(value: &str) -> bool {
    value
        .strip_prefix('.')
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

impl DeploymentSettings {
    /// The deployment's `config.json`, shaped like the `DeploymentConfig` of Genesys's transport
    /// SDK (`shyrka/receive/DeploymentConfig.kt`) and its sample in `TestWebMessagingApiResponses`.
    pub fn config_json(&self, id: Uuid, addr: SocketAddr) -> Value {
        let modes = if self.file_upload {
            json!([{ "fileTypes": self.allowed_file_types, "maxFileSizeKB": self.max_file_size_kb }])
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
                // With `enableAttachments` present the transport SDK takes the limits from the
                // SessionResponse (`allowedMedia`, `blockedExtensions`), else from `modes`.
                "fileUpload": { "enableAttachments": self.file_upload, "modes": modes },
            },
            "journeyEvents": { "enabled": false },
            "status": self.status,
            "auth": { "enabled": false },
        })
    }

    /// The upload limits a SessionResponse carries, or `None` with file upload off: `allowedMedia`
    /// (`inbound.fileTypes[{type}]`, `inbound.maxFileSizeKB`) and `blockedExtensions`, as
    /// `SessionResponse.kt` of the transport SDK reads them.
    pub fn upload_limits(&self) -> Option<(Value, Value)> {
        self.file_upload.then(|| {
            let types: Vec<Value> = self
                .allowed_file_types
                .iter()
                .map(|t| json!({ "type": t }))
                .collect();
            (
                json!({ "inbound": { "fileTypes": types, "maxFileSizeKB": self.max_file_size_kb } }),
                json!(self.blocked_extensions),
            )
        })
    }

    /// Largest upload in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_size_kb.saturating_mul(1_000)
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
    fn limits_are_checked_and_lower_cased() {
        let mut patch: SettingsPatch = serde_json::from_value(json!({
            "allowedFileTypes": ["Image/PNG", "*/*"], "blockedExtensions": [".EXE"],
            "maxFileSizeKB": 1, "maxCustomDataBytes": 10,
        }))
        .expect("patch");
        assert_eq!(patch.validate(), Ok(()));
        let changed = Deployments::default().patch(Uuid::new_v4(), patch);
        assert_eq!(changed.allowed_file_types, ["image/png", "*/*"]);
        assert_eq!(changed.blocked_extensions, [".exe"]);
        assert_eq!(changed.max_file_bytes(), 1_000);
        for bad in [
            json!({"allowedFileTypes": ["png"]}),
            json!({"blockedExtensions": ["exe"]}),
            json!({"maxFileSizeKB": 0}),
            json!({"maxCustomDataBytes": 0}),
            json!({"sessionDurationSeconds": 0}),
        ] {
            let mut patch: SettingsPatch = serde_json::from_value(bad.clone()).expect("parses");
            assert!(patch.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_patch_fields_are_refused() {
        let patch = serde_json::from_value::<SettingsPatch>(json!({"typing": false}));
        assert!(patch.is_err());
    }
}
