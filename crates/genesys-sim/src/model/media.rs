//! Media types under the two names Genesys uses for them: analytics (`voice`, `message`, …, used
//! by observations) and routing (`call`, `videoComm`, …, used by the estimated-wait-time API).
//! Names only; how each media type behaves in a queue is in the model's queue specs.

/// A kind of interaction a queue handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    Voice,
    Chat,
    Callback,
    Email,
    Message,
    Cobrowse,
    Screenshare,
    Video,
}

impl MediaType {
    pub const ALL: [MediaType; 8] = [
        MediaType::Voice,
        MediaType::Chat,
        MediaType::Callback,
        MediaType::Email,
        MediaType::Message,
        MediaType::Cobrowse,
        MediaType::Screenshare,
        MediaType::Video,
    ];

    /// The name in analytics (`group.mediaType` of observations).
    pub fn analytics_name(self) -> &'static str {
        match self {
            MediaType::Voice => "voice",
            MediaType::Chat => "chat",
            MediaType::Callback => "callback",
            MediaType::Email => "email",
            MediaType::Message => "message",
            MediaType::Cobrowse => "cobrowse",
            MediaType::Screenshare => "screenshare",
            MediaType::Video => "video",
        }
    }

    pub fn from_analytics_name(name: &str) -> Option<Self> {
        MediaType::ALL
            .into_iter()
            .find(|m| m.analytics_name() == name)
    }

    /// The name in `/routing/queues/{id}/mediatypes/{mediaType}/estimatedwaittime`, for the media
    /// types that endpoint accepts (`call, chat, callback, email, videoComm, message`).
    pub fn ewt_name(self) -> Option<&'static str> {
        match self {
            MediaType::Voice => Some("call"),
            MediaType::Chat => Some("chat"),
            MediaType::Callback => Some("callback"),
            MediaType::Email => Some("email"),
            MediaType::Message => Some("message"),
            MediaType::Video => Some("videoComm"),
            MediaType::Cobrowse | MediaType::Screenshare => None,
        }
    }

    /// The media type of an EWT path name, in any case (as Genesys accepts it).
    pub fn from_ewt_name(name: &str) -> Option<Self> {
        MediaType::ALL
            .into_iter()
            .find(|m| m.ewt_name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The `intent` of an EWT prediction for this media type (`CALL`, `CHAT`, …).
    pub fn ewt_intent(self) -> Option<&'static str> {
        match self {
            MediaType::Voice => Some("CALL"),
            MediaType::Chat => Some("CHAT"),
            MediaType::Callback => Some("CALLBACK"),
            MediaType::Email => Some("EMAIL"),
            MediaType::Message => Some("MESSAGE"),
            MediaType::Video => Some("VIDEOCOMM"),
            MediaType::Cobrowse | MediaType::Screenshare => None,
        }
    }
}
