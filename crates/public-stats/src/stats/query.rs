//! The query string of `GET /api/stats/{queueId}` and of the live stream: which parts are asked
//! for (`key`, repeated or comma-separated, as the seed accepted it) and `mediaType`, in the
//! seed's words or Genesys's.
//!
//! Parameters it does not know (a jQuery `_=…` cache-buster, say) are ignored; values it does not
//! know are refused with a problem that names them. It does no I/O.

use genesys::EwtMediaType;

use crate::problem::{ApiError, excerpt};

const KEYS_HELP: &str =
    "use key=ewt, key=observations and/or key=hours (repeated or comma-separated)";
const MEDIA_HELP: &str = "use one of voice (or call), chat, callback, email, message, \
                          video (or videoComm), all";

/// What `GET /api/stats/{queueId}` was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsQuery {
    pub ewt: bool,
    pub observations: bool,
    /// Business hours (answered only for a queue that has them).
    pub hours: bool,
    /// The EWT's media type; `None` = the whole queue.
    pub media: Option<EwtMediaType>,
}

impl StatsQuery {
    /// Parses a raw query string (`None` = no `?` at all).
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut query = StatsQuery {
            ewt: false,
            observations: false,
            hours: false,
            media: media_type(raw)?,
        };
        for (name, value) in pairs(raw) {
            if name != "key" {
                continue;
            }
            for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                match key {
                    "ewt" => query.ewt = true,
                    "observations" => query.observations = true,
                    "hours" => query.hours = true,
                    other => {
                        return Err(ApiError::BadQuery(format!(
                            "unknown key {}: {KEYS_HELP}",
                            excerpt(other)
                        )));
                    }
                }
            }
        }
        if !(query.ewt || query.observations || query.hours) {
            return Err(ApiError::BadQuery(format!(
                "the key query parameter is required: {KEYS_HELP}"
            )));
        }
        Ok(query)
    }
}

/// The `mediaType` parameter alone (the live stream takes no `key`).
pub fn media_type(raw: Option<&str>) -> Result<Option<EwtMediaType>, ApiError> {
    let mut chosen: Option<Option<EwtMediaType>> = None;
    for (name, value) in pairs(raw) {
        if name != "mediaType" {
            continue;
        }
        let media = parse_media(&value)?;
        if chosen.is_some_and(|earlier| earlier != media) {
            return Err(ApiError::BadQuery(
                "mediaType is given more than once with different values".into(),
            ));
        }
        chosen = Some(media);
    }
    Ok(chosen.flatten())
}

/// A `mediaType` value, case-insensitively, in the seed's analytics words or the EWT API's.
/// `all` is the whole queue, the same estimate as no `mediaType` (one cache entry for both).
fn parse_media(value: &str) -> Result<Option<EwtMediaType>, ApiError> {
    let media = match value.trim().to_ascii_lowercase().as_str() {
        "all" => None,
        "voice" | "call" => Some(EwtMediaType::Call),
        "chat" => Some(EwtMediaType::Chat),
        "callback" => Some(EwtMediaType::Callback),
        "email" => Some(EwtMediaType::Email),
        "message" => Some(EwtMediaType::Message),
        "video" | "videocomm" => Some(EwtMediaType::VideoComm),
        _ => {
            return Err(ApiError::BadQuery(format!(
                "unknown mediaType {}: {MEDIA_HELP}",
                excerpt(value)
            )));
        }
    };
    Ok(media)
}

fn pairs(raw: Option<&str>) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<StatsQuery, String> {
        StatsQuery::parse(Some(raw)).map_err(|e| e.to_string())
    }

    #[test]
    fn keys_repeated_or_comma_separated_mean_the_same() {
        let both = StatsQuery {
            ewt: true,
            observations: true,
            hours: false,
            media: None,
        };
        assert_eq!(parse("key=ewt&key=observations"), Ok(both));
        assert_eq!(parse("key=ewt,observations"), Ok(both));
        assert_eq!(parse("key=ewt%2Cobservations&_=123"), Ok(both));
        assert_eq!(
            parse("key=ewt").map(|q| (q.ewt, q.observations, q.hours)),
            Ok((true, false, false))
        );
        assert_eq!(
            parse("key=ewt,hours").map(|q| (q.ewt, q.observations, q.hours)),
            Ok((true, false, true))
        );
        assert_eq!(
            parse("key=hours").map(|q| (q.ewt, q.observations, q.hours)),
            Ok((false, false, true))
        );
    }

    #[test]
    fn missing_or_unknown_keys_are_refused_by_name() {
        for raw in ["", "key=", "mediaType=chat", "key=,"] {
            assert!(parse(raw).unwrap_err().contains("required"), "{raw}");
        }
        assert!(StatsQuery::parse(None).is_err());
        let error = parse("key=ewt,agents").unwrap_err();
        assert!(error.contains("\"agents\""), "{error}");
    }

    #[test]
    fn media_types_accept_seed_and_genesys_names() {
        for (raw, media) in [
            ("voice", Some(EwtMediaType::Call)),
            ("call", Some(EwtMediaType::Call)),
            ("video", Some(EwtMediaType::VideoComm)),
            ("videoComm", Some(EwtMediaType::VideoComm)),
            ("EMAIL", Some(EwtMediaType::Email)),
            ("all", None),
        ] {
            assert_eq!(
                media_type(Some(&format!("mediaType={raw}"))).ok(),
                Some(media),
                "{raw}"
            );
        }
        assert_eq!(media_type(None).ok(), Some(None));
    }

    #[test]
    fn unknown_or_conflicting_media_types_are_refused() {
        for raw in [
            "mediaType=fax",
            "mediaType=screenshare",
            "mediaType=voice&mediaType=chat",
        ] {
            assert!(media_type(Some(raw)).is_err(), "{raw}");
        }
        assert!(media_type(Some("mediaType=voice&mediaType=call")).is_ok());
        let long = format!("mediaType={}", "x".repeat(500));
        let error = media_type(Some(&long)).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
    }
}
