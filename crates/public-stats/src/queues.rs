//! The public queues: the monitored queues are the allow-list of everything the service says.
//! `GET /api/queues` lists them; the [`PublicQueue`] extractor turns a `{queueId}` path segment
//! into a queue ID only if it parses as a UUID *and* is on the list, so an unknown queue is a 404
//! before anything reaches Genesys.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use uuid::Uuid;

use crate::problem::ApiError;

/// The monitored queues with their names, in configured order.
#[derive(Clone, Debug)]
pub struct PublicQueues {
    ordered: Arc<Vec<PublicQueueInfo>>,
    ids: Arc<HashSet<Uuid>>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PublicQueueInfo {
    pub id: Uuid,
    pub name: String,
}

impl PublicQueues {
    pub fn new(queues: Vec<PublicQueueInfo>) -> Self {
        let ids = queues.iter().map(|q| q.id).collect();
        PublicQueues {
            ordered: Arc::new(queues),
            ids: Arc::new(ids),
        }
    }

    pub fn ids(&self) -> Vec<Uuid> {
        self.ordered.iter().map(|q| q.id).collect()
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.ids.contains(&id)
    }

    pub fn all(&self) -> &[PublicQueueInfo] {
        &self.ordered
    }

    /// A path segment as a public queue ID, or the 404 every unknown queue gets.
    pub fn resolve(&self, raw: &str) -> Result<Uuid, ApiError> {
        let id = Uuid::parse_str(raw).map_err(|_| ApiError::UnknownQueue)?;
        if self.contains(id) {
            Ok(id)
        } else {
            Err(ApiError::UnknownQueue)
        }
    }
}

/// A `{queueId}` path parameter that names a public queue.
pub struct PublicQueue(pub Uuid);

impl<S> FromRequestParts<S> for PublicQueue
where
    PublicQueues: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // Raw (percent-decoded, not deserialised): no map or strings built on the busiest routes.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::UnknownQueue)?;
        let (_, raw) = params
            .iter()
            .find(|(name, _)| *name == "queueId")
            .ok_or(ApiError::UnknownQueue)?;
        PublicQueues::from_ref(state).resolve(raw).map(PublicQueue)
    }
}

pub fn router<S>() -> Router<S>
where
    PublicQueues: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/api/queues", get(list))
}

/// The public queues, in configured order.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueList<'a> {
    #[schema(value_type = Vec<PublicQueueInfo>)]
    queues: &'a [PublicQueueInfo],
}

async fn list(State(queues): State<PublicQueues>) -> Response {
    Json(QueueList {
        queues: queues.all(),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_uuids_resolve() {
        let id = Uuid::new_v4();
        let queues = PublicQueues::new(vec![PublicQueueInfo {
            id,
            name: "Sales".into(),
        }]);
        assert_eq!(queues.resolve(&id.to_string()).ok(), Some(id));
        assert!(queues.resolve(&Uuid::new_v4().to_string()).is_err());
        assert!(queues.resolve("../../oauth/token").is_err());
        assert!(queues.resolve("").is_err());
    }
}
