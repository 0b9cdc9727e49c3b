//! Architect's business-hours objects: schedules (`/api/v2/architect/schedules`), schedule groups
//! (`…/schedulegroups`) and emergency groups (`…/emergencygroups`), each listed (paged, sorted by
//! name, filtered by `name`; groups also by `scheduleIds`), read by id, created (`POST` on the
//! collection) and replaced (`PUT` on `…/{id}`, naming the version it replaces) as an admin would.
//!
//! It is not the rest of Architect (flows, IVRs, prompts) and has no `DELETE` or division views.
//! Genesys offers no endpoint that evaluates a schedule group, and neither does the simulator's
//! API; `hours` is the simulator's own reading of one, for a queue that follows its hours.

mod demo;
pub mod hours;
mod objects;

use std::sync::{Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::error::{ApiError, GenesysJson, parse_uuid};
use crate::api::listing::{Links, ListQuery, Paging, SortOrder};
use crate::api::routing::name_matches;
use crate::config::SimConfig;
use crate::state::SimState;
pub use objects::{EmergencyGroup, Entity, Meta, Objects, Schedule, ScheduleGroup};

/// The most objects one page holds. The API definition names no maximum for these listings;
/// 500 is the cap the simulator's other listings use (unconfirmed for Architect).
const PAGE_CAP: usize = 500;

/// The org's Architect objects. A std mutex: held for a lookup or an insert, never across an
/// await.
pub struct Architect {
    objects: Mutex<Objects>,
}

impl Architect {
    /// The demo org's objects when `config.org.business_hours`, placed relative to `now` (see
    /// `demo.rs`); none otherwise.
    pub fn new(config: &SimConfig, now: OffsetDateTime) -> Self {
        let objects = if config.org.business_hours {
            demo::objects(now)
        } else {
            Objects::default()
        };
        Architect {
            objects: Mutex::new(objects),
        }
    }

    pub fn objects(&self) -> MutexGuard<'_, Objects> {
        // Every change is one insert, so a panic elsewhere cannot leave the objects half-changed.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn router() -> Router<SimState> {
    Router::new()
        .route(
            Schedule::PATH,
            get(list::<Schedule>).post(create::<Schedule>),
        )
        .route(
            "/api/v2/architect/schedules/{scheduleId}",
            get(fetch::<Schedule>).put(update::<Schedule>),
        )
        .route(
            ScheduleGroup::PATH,
            get(list::<ScheduleGroup>).post(create::<ScheduleGroup>),
        )
        .route(
            "/api/v2/architect/schedulegroups/{scheduleGroupId}",
            get(fetch::<ScheduleGroup>).put(update::<ScheduleGroup>),
        )
        .route(
            EmergencyGroup::PATH,
            get(list::<EmergencyGroup>).post(create::<EmergencyGroup>),
        )
        .route(
            "/api/v2/architect/emergencygroups/{emergencyGroupId}",
            get(fetch::<EmergencyGroup>).put(update::<EmergencyGroup>),
        )
}

/// The `…EntityListing` of a kind: `pageSize` (25), `pageNumber`, `sortBy` (`name` only),
/// `sortOrder`, `name` (Genesys's `*` wildcards) and, for groups, `scheduleIds`.
async fn list<T: Entity>(
    State(state): State<SimState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let query = ListQuery::new(pairs);
    let paging = Paging::read(&query, PAGE_CAP)?;
    let order = SortOrder::read(&query)?;
    if let Some(sort_by) = query.single("sortBy").filter(|s| *s != "name") {
        return Err(ApiError::bad_request(format!(
            "Invalid sortBy '{sort_by}'. The simulator sorts by name only"
        )));
    }
    let name = query.single("name");
    let schedules = if T::FILTERS_BY_SCHEDULE {
        query
            .list("scheduleIds")
            .into_iter()
            .map(|id| parse_uuid("scheduleIds", id))
            .collect::<Result<Vec<Uuid>, ApiError>>()?
    } else {
        Vec::new()
    };
    let objects = state.architect.objects();
    let mut found: Vec<&T> = T::map(&objects)
        .values()
        .filter(|o| name.is_none_or(|pattern| name_matches(pattern, &o.meta().name)))
        .filter(|o| schedules.is_empty() || o.uses_any_schedule(&schedules))
        .collect();
    order.sort(&mut found, |o| o.meta().name.clone());
    let total = found.len();
    let entities: Vec<Value> = paging
        .page(found)
        .into_iter()
        .map(|o| o.to_json(&objects))
        .collect();
    let mut extra = Vec::new();
    if query.single("sortOrder").is_some() {
        extra.push(("sortOrder", order.as_str().to_owned()));
    }
    if let Some(name) = name {
        extra.push(("name", name.to_owned()));
    }
    if !schedules.is_empty() {
        let joined: Vec<String> = schedules.iter().map(Uuid::to_string).collect();
        extra.push(("scheduleIds", joined.join(",")));
    }
    let links = Links {
        path: T::PATH,
        size: paging.size,
        extra,
    };
    let page_count = paging.page_count(total);
    let mut listing = json!({
        "entities": entities,
        "pageSize": paging.size,
        "pageNumber": paging.number,
        "total": total,
        "pageCount": page_count,
        "firstUri": links.page(1),
        "selfUri": links.page(paging.number),
        "lastUri": links.page(page_count.max(1)),
    });
    if paging.number < page_count {
        listing["nextUri"] = json!(links.page(paging.number + 1));
    }
    if paging.number > 1 {
        listing["previousUri"] = json!(links.page(paging.number - 1));
    }
    Ok(Json(listing))
}

async fn fetch<T: Entity>(
    State(state): State<SimState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid(T::ID_PARAM, &id)?;
    let objects = state.architect.objects();
    let object = T::map(&objects)
        .get(&id)
        .ok_or_else(|| not_found::<T>(id))?;
    Ok(Json(object.to_json(&objects)))
}

/// `POST` on the collection: a new object, version 1. Answered 200 with the object, as the SDKs'
/// return type suggests (whether Genesys answers 200 or 201 is unconfirmed).
async fn create<T: Entity>(
    State(state): State<SimState>,
    GenesysJson(raw): GenesysJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let body: T::Body = serde_json::from_value(raw).map_err(ApiError::invalid_body)?;
    let header = T::header(&body);
    let now = OffsetDateTime::now_utc();
    let meta = Meta {
        id: Uuid::new_v4(),
        name: objects::required_name(header.name)?,
        description: header.description.map(str::to_owned),
        version: 1,
        created: now,
        modified: now,
    };
    let mut objects = state.architect.objects();
    let object = T::from_body(body, meta, &objects)?;
    let json = object.to_json(&objects);
    T::map_mut(&mut objects).insert(object.meta().id, object);
    Ok(Json(json))
}

/// `PUT` on `…/{id}`: replaces the object. The body names the version it replaces, as Genesys's
/// own tools send it: absent → 400, another one → 409 (the wording and code of both are
/// unconfirmed).
async fn update<T: Entity>(
    State(state): State<SimState>,
    Path(id): Path<String>,
    GenesysJson(raw): GenesysJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid(T::ID_PARAM, &id)?;
    let body: T::Body = serde_json::from_value(raw).map_err(ApiError::invalid_body)?;
    let header = T::header(&body);
    let mut objects = state.architect.objects();
    let current = T::map(&objects)
        .get(&id)
        .ok_or_else(|| not_found::<T>(id))?
        .meta()
        .clone();
    match header.version {
        None => return Err(ApiError::bad_request("version is required")),
        Some(version) if version != current.version => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "general.conflict",
                format!(
                    "{} {id} version mismatch: the request has version {version}, the current version is {}",
                    T::LABEL,
                    current.version
                ),
            ));
        }
        Some(_) => {}
    }
    let meta = Meta {
        name: objects::required_name(header.name)?,
        description: header.description.map(str::to_owned),
        version: current.version + 1,
        modified: OffsetDateTime::now_utc(),
        ..current
    };
    let object = T::from_body(body, meta, &objects)?;
    let json = object.to_json(&objects);
    T::map_mut(&mut objects).insert(id, object);
    Ok(Json(json))
}

fn not_found<T: Entity>(id: Uuid) -> ApiError {
    ApiError::not_found(format!("{} {id} not found", T::LABEL))
}
