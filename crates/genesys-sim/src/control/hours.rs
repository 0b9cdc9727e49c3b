//! Queues that follow their business hours (control API `PUT`/`DELETE
//! /__sim/queues/{id}/follow-hours`): which schedule group (and emergency group) each follows,
//! and the check, run every second and at once on a change, that opens or closes the queue in
//! the model when the group's answer flips.
//!
//! It is not Genesys: Genesys's queues ignore schedule groups (flows consult them). It lets a
//! test watch agents leave when the hours close, as a real centre's shifts would make them.
//! The reading of the group is `api::architect::hours`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::api::architect::hours::{Hours, evaluate};
use crate::api::error::{ApiError, GenesysJson, parse_uuid};
use crate::state::SimState;

/// How often the hours are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What one queue follows, and what it was last told.
#[derive(Clone, Copy, Debug)]
struct Following {
    group: Uuid,
    emergency: Option<Uuid>,
    /// None until the first check.
    applied: Option<Hours>,
}

/// Every queue that follows its hours, by queue id.
#[derive(Default)]
pub struct FollowHours(Mutex<BTreeMap<Uuid, Following>>);

impl FollowHours {
    /// Never hold the guard across an `.await`.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Uuid, Following>> {
        // Plain records: a panic mid-update leaves nothing half-changed that matters.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `PUT /__sim/queues/{queueId}/follow-hours` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FollowBody {
    schedule_group_id: String,
    emergency_group_id: Option<String>,
}

/// Starts (or changes) following; the queue is opened or closed at once.
pub(super) async fn follow(
    State(state): State<SimState>,
    Path(queue): Path<String>,
    GenesysJson(body): GenesysJson<FollowBody>,
) -> Result<StatusCode, ApiError> {
    let queue = known_queue(&state, &queue)?;
    let group = parse_uuid("scheduleGroupId", &body.schedule_group_id)?;
    let emergency = body
        .emergency_group_id
        .map(|id| parse_uuid("emergencyGroupId", &id))
        .transpose()?;
    {
        let objects = state.architect.objects();
        if !objects.groups.contains_key(&group) {
            return Err(ApiError::bad_request(format!(
                "scheduleGroupId: schedule group {group} does not exist"
            )));
        }
        if let Some(emergency) = emergency.filter(|e| !objects.emergency_groups.contains_key(e)) {
            return Err(ApiError::bad_request(format!(
                "emergencyGroupId: emergency group {emergency} does not exist"
            )));
        }
    }
    state.control.follow_hours.lock().insert(
        queue,
        Following {
            group,
            emergency,
            applied: None,
        },
    );
    check(&state);
    Ok(StatusCode::NO_CONTENT)
}

/// Stops following; a queue the hours had closed opens again.
pub(super) async fn unfollow(
    State(state): State<SimState>,
    Path(queue): Path<String>,
) -> Result<StatusCode, ApiError> {
    let queue = known_queue(&state, &queue)?;
    state.control.follow_hours.lock().remove(&queue);
    state.update_model(|m| m.set_queue_open(queue, true));
    Ok(StatusCode::NO_CONTENT)
}

fn known_queue(state: &SimState, queue: &str) -> Result<Uuid, ApiError> {
    let queue = parse_uuid("queueId", queue)?;
    if state.model().queue_name(queue).is_some() {
        Ok(queue)
    } else {
        Err(ApiError::not_found(format!("queue {queue} not found")))
    }
}

/// Reads every followed group now and opens or closes the queues whose answer changed.
pub fn check(state: &SimState) {
    let now = chrono::Utc::now();
    let followed: Vec<(Uuid, Following)> = state
        .control
        .follow_hours
        .lock()
        .iter()
        .map(|(q, f)| (*q, *f))
        .collect();
    if followed.is_empty() {
        return;
    }
    let answers: Vec<(Uuid, Following, Hours)> = {
        let objects = state.architect.objects();
        followed
            .into_iter()
            .filter_map(|(queue, f)| {
                let hours = evaluate(&objects, f.group, f.emergency, now);
                (f.applied != Some(hours)).then_some((queue, f, hours))
            })
            .collect()
    };
    for (queue, read, hours) in answers {
        {
            // Only if still followed, and following the same groups: a DELETE or PUT may have
            // come in since the groups were read.
            let mut following = state.control.follow_hours.lock();
            match following.get_mut(&queue) {
                Some(f) if f.group == read.group && f.emergency == read.emergency => {
                    f.applied = Some(hours);
                }
                _ => continue,
            }
        }
        tracing::debug!(%queue, ?hours, "queue follows its hours");
        state.update_model(|m| m.set_queue_open(queue, hours == Hours::Open));
    }
}
