//! `GET /api/v2/routing/queues/{queueId}/members`: the queue's agents as `QueueMember`s (with
//! their `User` and routing status), paged as `QueueMemberEntityListing` (which, unlike the queue
//! listing, has no `total`, `pageCount` or `lastUri`).
//!
//! Filters: `name` (contains, any case), `routingStatus` and `presence` (lists), `joined`. The
//! skill, language and member-type filters are accepted and ignored: the simulated agents have no
//! skills or languages and are all members in their own right (`memberBy: "user"`).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::HOME_DIVISION;
use crate::api::error::{ApiError, parse_uuid};
use crate::api::listing::{Links, ListQuery, Paging, SortOrder};
use crate::model::Agent;
use crate::state::SimState;

/// "Max value is 100", per the API definition; larger asks are served 100.
const MEMBERS_PAGE_CAP: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMemberEntityListing {
    entities: Vec<Value>,
    page_number: usize,
    page_size: usize,
    first_uri: String,
    self_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_uri: Option<String>,
}

pub async fn list_members(
    State(state): State<SimState>,
    Path(queue): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<QueueMemberEntityListing>, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    let query = ListQuery::new(pairs);
    let paging = Paging::read(&query, MEMBERS_PAGE_CAP)?;
    let order = SortOrder::read(&query)?;
    let filter = Filter::read(&query)?;
    let mut members: Vec<(String, Value)> = {
        let model = state.model();
        if model.queue_name(queue).is_none() {
            return Err(ApiError::not_found(format!("Queue {queue} not found")));
        }
        model
            .queue_agents(queue)
            .into_iter()
            .filter(|agent| filter.keeps(agent))
            .map(|agent| (agent.name.clone(), member_json(queue, agent)))
            .collect()
    };
    order.sort(&mut members, |(name, _)| name.clone());
    let total = members.len();
    let entities: Vec<Value> = paging.page(members).into_iter().map(|(_, m)| m).collect();
    let path = format!("/api/v2/routing/queues/{queue}/members");
    let links = Links {
        path: &path,
        size: paging.size,
        extra: filter.echo(&query),
    };
    Ok(Json(QueueMemberEntityListing {
        entities,
        page_number: paging.number,
        page_size: paging.size,
        first_uri: links.page(1),
        self_uri: links.page(paging.number),
        next_uri: (paging.number < paging.page_count(total)).then(|| links.page(paging.number + 1)),
        previous_uri: (paging.number > 1).then(|| links.page(paging.number - 1)),
    }))
}

struct Filter {
    name: Option<String>,
    routing_statuses: Vec<String>,
    presences: Vec<String>,
    joined: Option<bool>,
}

impl Filter {
    fn read(query: &ListQuery) -> Result<Filter, ApiError> {
        let joined = match query.single("joined") {
            None => None,
            Some(raw) if raw.eq_ignore_ascii_case("true") => Some(true),
            Some(raw) if raw.eq_ignore_ascii_case("false") => Some(false),
            Some(raw) => {
                return Err(ApiError::bad_request(format!(
                    "joined must be true or false, got {raw:?}"
                )));
            }
        };
        let upper = |name| -> Vec<String> {
            query
                .list(name)
                .into_iter()
                .map(str::to_ascii_uppercase)
                .collect()
        };
        Ok(Filter {
            name: query.single("name").map(str::to_lowercase),
            routing_statuses: upper("routingStatus"),
            presences: upper("presence"),
            joined,
        })
    }

    fn keeps(&self, agent: &Agent) -> bool {
        let status = agent.status.qualifier();
        let presence = agent.status.presence();
        self.name
            .as_ref()
            .is_none_or(|name| agent.name.to_lowercase().contains(name))
            && (self.routing_statuses.is_empty() || self.routing_statuses.iter().any(|s| s == status))
            && (self.presences.is_empty() || self.presences.iter().any(|p| p == presence))
            // Every simulated agent has joined the queue.
            && self.joined != Some(false)
    }

    /// The filters as given, for the page links.
    fn echo(&self, query: &ListQuery) -> Vec<(&'static str, String)> {
        ["name", "routingStatus", "presence", "joined", "sortOrder"]
            .into_iter()
            .filter_map(|name| {
                let values = query.list(name);
                (!values.is_empty()).then(|| (name, values.join(",")))
            })
            .collect()
    }
}

/// `QueueMember`: the agent as a `User` and its routing status. Agents have no login of their own
/// in the simulator; their username and email are made from their names.
fn member_json(queue: Uuid, agent: &Agent) -> Value {
    let id = agent.id;
    let handle: String = agent
        .name
        .to_lowercase()
        .split_whitespace()
        .map(|part| {
            part.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".");
    let email = format!("{handle}@example.com");
    json!({
        "id": id,
        "name": agent.name,
        "user": {
            "id": id,
            "name": agent.name,
            "division": {"id": HOME_DIVISION, "name": "Home", "selfUri": format!("/api/v2/authorization/divisions/{HOME_DIVISION}")},
            "email": email,
            "username": email,
            "state": "active",
            "version": 1,
            "acdAutoAnswer": false,
            "selfUri": format!("/api/v2/users/{id}"),
        },
        "ringNumber": 1,
        "joined": true,
        "memberBy": "user",
        "routingStatus": {"userId": id, "status": agent.status.qualifier()},
        "selfUri": format!("/api/v2/routing/queues/{queue}/members/{id}"),
    })
}
