//! Routing: listing queues (to check configured queue ids) and estimated wait times.
//!
//! It does not cache: the service decides how often to ask.

use std::collections::HashMap;
use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::GenesysClient;
use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Request, Route};
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGES, Page};

const QUEUES: &str = "/api/v2/routing/queues";
const QUEUE_EWT: &str = "/api/v2/routing/queues/{queueId}/estimatedwaittime";
const MEDIA_EWT: &str = "/api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime";

/// A routing queue: the fields public-stats needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Queue {
    pub id: Uuid,
    pub name: String,
}

/// The answer of [`GenesysClient::find_queues`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueLookup {
    /// The queues that exist, in the order they were asked for.
    pub found: Vec<Queue>,
    /// The ids asked for that the org does not have.
    pub missing: Vec<Uuid>,
}

/// Which queues to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueListing {
    /// Genesys's `name` filter (leading/trailing `*` allowed).
    pub name: Option<String>,
    pub page_size: u32,
}

impl Default for QueueListing {
    fn default() -> Self {
        QueueListing {
            name: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// The `mediaType` path values of the per-media EWT endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EwtMediaType {
    All,
    Call,
    Chat,
    Callback,
    Email,
    VideoComm,
    Message,
}

impl EwtMediaType {
    pub const EVERY: [EwtMediaType; 7] = [
        EwtMediaType::All,
        EwtMediaType::Call,
        EwtMediaType::Chat,
        EwtMediaType::Callback,
        EwtMediaType::Email,
        EwtMediaType::VideoComm,
        EwtMediaType::Message,
    ];

    /// The path segment, as in the API.
    pub fn as_path(self) -> &'static str {
        match self {
            EwtMediaType::All => "all",
            EwtMediaType::Call => "call",
            EwtMediaType::Chat => "chat",
            EwtMediaType::Callback => "callback",
            EwtMediaType::Email => "email",
            EwtMediaType::VideoComm => "videoComm",
            EwtMediaType::Message => "message",
        }
    }

    /// The `intent` a prediction for this media type carries.
    pub fn intent(self) -> &'static str {
        match self {
            EwtMediaType::All => "ALL",
            EwtMediaType::Call => "CALL",
            EwtMediaType::Chat => "CHAT",
            EwtMediaType::Callback => "CALLBACK",
            EwtMediaType::Email => "EMAIL",
            EwtMediaType::VideoComm => "VIDEOCOMM",
            EwtMediaType::Message => "MESSAGE",
        }
    }
}

impl fmt::Display for EwtMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_path())
    }
}

/// `EstimatedWaitTimePredictions`. Serialises back to the same JSON, so an application may keep
/// an answer (a cache shared by several processes) and read it again.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EstimatedWaitTimePredictions {
    #[serde(default)]
    pub results: Vec<PredictionResult>,
}

/// `PredictionResults`: one estimate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictionResult {
    pub intent: Option<String>,
    pub formula: Option<String>,
    pub estimated_wait_time_seconds: Option<f64>,
}

impl EstimatedWaitTimePredictions {
    /// The estimate in whole seconds for `media` (`None` = the queue-wide `ALL` estimate), or
    /// `None` when Genesys has no usable one: no results, no value, a negative value, or several
    /// results none of which is for this media type.
    pub fn seconds_for(&self, media: Option<EwtMediaType>) -> Option<u64> {
        let intent = media.unwrap_or(EwtMediaType::All).intent();
        let chosen = match self.results.as_slice() {
            [only] => Some(only),
            several => several.iter().find(|result| {
                result
                    .intent
                    .as_deref()
                    .is_some_and(|i| i.eq_ignore_ascii_case(intent))
            }),
        }?;
        whole_seconds(chosen)
    }

    /// Whether the answer gives estimates per media type (results whose `intent` is a media
    /// type, not `ALL`). Genesys's model lets the queue-wide endpoint answer so: one result per
    /// media type the queue serves, which makes one call serve every media type.
    pub fn breaks_down_by_media(&self) -> bool {
        self.results.iter().any(|result| {
            result
                .intent
                .as_deref()
                .is_some_and(|intent| !intent.eq_ignore_ascii_case(EwtMediaType::All.intent()))
        })
    }

    /// From an answer that [breaks down by media](Self::breaks_down_by_media): the estimate
    /// whose `intent` is exactly `media`'s, `None` when there is none (no estimate for that
    /// media type), never another media type's.
    pub fn seconds_for_intent(&self, media: EwtMediaType) -> Option<u64> {
        self.results
            .iter()
            .find(|result| {
                result
                    .intent
                    .as_deref()
                    .is_some_and(|i| i.eq_ignore_ascii_case(media.intent()))
            })
            .and_then(whole_seconds)
    }
}

fn whole_seconds(result: &PredictionResult) -> Option<u64> {
    let seconds = result.estimated_wait_time_seconds?;
    (seconds.is_finite() && seconds >= 0.0).then(|| seconds.round() as u64)
}

impl GenesysClient {
    /// Every queue, following pages.
    pub async fn list_queues(&self) -> Result<Vec<Queue>, Error> {
        self.list_queues_with(&QueueListing::default()).await
    }

    /// Queues matching `listing`, following pages.
    pub async fn list_queues_with(&self, listing: &QueueListing) -> Result<Vec<Queue>, Error> {
        let mut queues = Vec::new();
        for page_number in 1..=MAX_PAGES {
            let page = self.queue_page(listing, page_number).await?;
            let collected = queues.len() + page.entities.len();
            let last = page.is_last(page_number, collected, listing.page_size);
            queues.extend(page.entities);
            if last {
                break;
            }
        }
        Ok(queues)
    }

    /// Looks `wanted` up in the org's queues: those found (in `wanted`'s order, with their names)
    /// and those the org does not have (or that this client may not see).
    pub async fn find_queues(&self, wanted: &[Uuid]) -> Result<QueueLookup, Error> {
        let existing: HashMap<Uuid, Queue> = self
            .list_queues()
            .await?
            .into_iter()
            .map(|queue| (queue.id, queue))
            .collect();
        let mut lookup = QueueLookup::default();
        for id in wanted {
            match existing.get(id) {
                Some(queue) => lookup.found.push(queue.clone()),
                None => lookup.missing.push(*id),
            }
        }
        Ok(lookup)
    }

    /// `GET /api/v2/routing/queues/{queueId}/estimatedwaittime` → seconds, `None` when unknown.
    pub async fn estimated_wait_time(&self, queue_id: Uuid) -> Result<Option<u64>, Error> {
        self.ewt_seconds(queue_id, None).await
    }

    /// `GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime`.
    pub async fn estimated_wait_time_for(
        &self,
        queue_id: Uuid,
        media: EwtMediaType,
    ) -> Result<Option<u64>, Error> {
        self.ewt_seconds(queue_id, Some(media)).await
    }

    /// The queue-wide endpoint for `None`, the per-media one otherwise.
    async fn ewt_seconds(
        &self,
        queue_id: Uuid,
        media: Option<EwtMediaType>,
    ) -> Result<Option<u64>, Error> {
        let predictions = self
            .estimated_wait_time_predictions(queue_id, media)
            .await?;
        Ok(predictions.seconds_for(media))
    }

    /// The whole answer of the queue-wide EWT endpoint (`media` = `None`) or of the per-media
    /// one, for a caller that reads several estimates from one call.
    pub async fn estimated_wait_time_predictions(
        &self,
        queue_id: Uuid,
        media: Option<EwtMediaType>,
    ) -> Result<EstimatedWaitTimePredictions, Error> {
        let queue = queue_id.to_string();
        let (template, url) = match media {
            None => (
                QUEUE_EWT,
                self.api_url(&[
                    "api",
                    "v2",
                    "routing",
                    "queues",
                    &queue,
                    "estimatedwaittime",
                ])?,
            ),
            Some(media) => (
                MEDIA_EWT,
                self.api_url(&[
                    "api",
                    "v2",
                    "routing",
                    "queues",
                    &queue,
                    "mediatypes",
                    media.as_path(),
                    "estimatedwaittime",
                ])?,
            ),
        };
        let request = Request::new(Route::idempotent(Method::GET, template), url, Priority::Low);
        self.send(request)
            .await?
            .json("estimated wait time predictions")
    }

    async fn queue_page(
        &self,
        listing: &QueueListing,
        page_number: u32,
    ) -> Result<Page<Queue>, Error> {
        let mut url = self.api_url(&["api", "v2", "routing", "queues"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("pageSize", &listing.page_size.to_string());
            query.append_pair("pageNumber", &page_number.to_string());
            if let Some(name) = &listing.name {
                query.append_pair("name", name);
            }
        }
        let route = Route::idempotent(Method::GET, QUEUES);
        let reply = self.send(Request::new(route, url, Priority::Low)).await?;
        reply.json("queue listing")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictions(json: &str) -> EstimatedWaitTimePredictions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_single_estimate_is_used_whatever_its_intent() {
        let p = predictions(
            r#"{"results":[{"intent":"CALL","formula":"BEST","estimatedWaitTimeSeconds":123}]}"#,
        );
        assert_eq!(p.seconds_for(None), Some(123));
        assert_eq!(p.seconds_for(Some(EwtMediaType::Chat)), Some(123));
    }

    #[test]
    fn several_estimates_are_picked_by_intent() {
        let p = predictions(
            r#"{"results":[{"intent":"ALL","formula":"BEST","estimatedWaitTimeSeconds":30},
                           {"intent":"CALL","formula":"BEST","estimatedWaitTimeSeconds":45.6},
                           {"intent":"CALLBACK","formula":"SIMPLE","estimatedWaitTimeSeconds":600}]}"#,
        );
        assert_eq!(p.seconds_for(None), Some(30));
        assert_eq!(p.seconds_for(Some(EwtMediaType::Call)), Some(46));
        assert_eq!(p.seconds_for(Some(EwtMediaType::Callback)), Some(600));
        assert_eq!(p.seconds_for(Some(EwtMediaType::Email)), None);
    }

    #[test]
    fn a_breakdown_by_media_is_read_by_exact_intent_only() {
        let by_media = predictions(
            r#"{"results":[{"intent":"CALL","formula":"BEST","estimatedWaitTimeSeconds":45},
                           {"intent":"chat","formula":"BEST","estimatedWaitTimeSeconds":12}]}"#,
        );
        assert!(by_media.breaks_down_by_media());
        assert_eq!(by_media.seconds_for_intent(EwtMediaType::Call), Some(45));
        assert_eq!(by_media.seconds_for_intent(EwtMediaType::Chat), Some(12));
        assert_eq!(by_media.seconds_for_intent(EwtMediaType::Email), None);
        let only_a_single_call_estimate = predictions(
            r#"{"results":[{"intent":"CALL","formula":"BEST","estimatedWaitTimeSeconds":45}]}"#,
        );
        assert_eq!(
            only_a_single_call_estimate.seconds_for_intent(EwtMediaType::Chat),
            None
        );
        for whole_queue in [
            r#"{"results":[{"intent":"ALL","formula":"BEST","estimatedWaitTimeSeconds":30}]}"#,
            r#"{"results":[{"formula":"BEST","estimatedWaitTimeSeconds":30}]}"#,
            r#"{"results":[]}"#,
        ] {
            assert!(
                !predictions(whole_queue).breaks_down_by_media(),
                "{whole_queue}"
            );
        }
    }

    #[test]
    fn unknown_estimates_are_none() {
        for json in [
            r#"{"results":[]}"#,
            r#"{}"#,
            r#"{"results":[{"intent":"ALL","formula":"BEST"}]}"#,
            r#"{"results":[{"intent":"ALL","formula":"BEST","estimatedWaitTimeSeconds":-1}]}"#,
        ] {
            assert_eq!(predictions(json).seconds_for(None), None, "{json}");
        }
    }

    #[test]
    fn wrongly_typed_estimates_are_rejected() {
        let bad = r#"{"results":[{"intent":"ALL","estimatedWaitTimeSeconds":"soon"}]}"#;
        assert!(serde_json::from_str::<EstimatedWaitTimePredictions>(bad).is_err());
    }
}
