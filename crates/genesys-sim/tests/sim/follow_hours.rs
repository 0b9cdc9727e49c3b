//! A queue that follows its business hours (`PUT /__sim/queues/{id}/follow-hours`): its agents
//! leave when the schedule group closes and return when it opens. Schedules are built relative
//! to now, in a zone other than UTC, so these run at any time of day.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::helpers::{SALES, TestSim, assert_error, spawn_sim};

const OBSERVATIONS: &str = "/api/v2/analytics/queues/observations/query";
/// The group's zone: no daylight saving, and not UTC, so the zone is really applied.
const ZONE: &str = "Asia/Kolkata";
/// How long a test waits for the hours' check (every second) to act, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

fn follow_path(queue: Uuid) -> String {
    format!("/__sim/queues/{queue}/follow-hours")
}

/// Wall-clock `at` in Kolkata, as Architect's `LocalDateTime`.
fn kolkata(at: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(5, 30, 0).expect("a valid offset");
    let local = at.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

impl TestSim {
    async fn idle_agents(&self, queue: Uuid) -> u64 {
        let query = json!({
            "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": queue.to_string()}]},
            "metrics": ["oOnQueueUsers"]
        });
        let body = self.post_json(OBSERVATIONS, &query).await;
        let row = body["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["group"].get("mediaType").is_none())
            .cloned()
            .unwrap_or(Value::Null);
        row["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["metric"] == "oOnQueueUsers" && d["qualifier"] == "IDLE")
            .map_or(0, |d| d["stats"]["count"].as_u64().expect("count"))
    }

    /// Polls the observations until `queue` has `idle` idle agents; the moment it saw them.
    async fn wait_for_idle(&self, queue: Uuid, idle: u64) -> OffsetDateTime {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.idle_agents(queue).await == idle {
                return OffsetDateTime::now_utc();
            }
            assert!(
                Instant::now() < deadline,
                "{queue} never had {idle} idle agents"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn schedule(&self, name: &str, start: OffsetDateTime, end: OffsetDateTime) -> Value {
        self.post_json(
            "/api/v2/architect/schedules",
            &json!({"name": name, "start": kolkata(start), "end": kolkata(end), "rrule": "FREQ=DAILY"}),
        )
        .await
    }

    async fn follow(&self, queue: Uuid, body: &Value) -> reqwest::Response {
        self.plain
            .put(self.url(&follow_path(queue)))
            .json(body)
            .send()
            .await
            .expect("request is sent")
    }
}

#[tokio::test]
async fn agents_go_off_queue_when_the_hours_close_and_return_when_they_open() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"idle": 2, "busy": 1, "offQueue": 1}}),
    )
    .await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let closes = now + time::Duration::seconds(5);
    let opens = now + time::Duration::seconds(10);
    // Daily schedules that began yesterday, so today's occurrences come from the rule: one
    // ending five seconds from now, the next starting five seconds after that.
    let day = time::Duration::days(1);
    let morning = sim
        .schedule(
            "Until shortly",
            now - day - time::Duration::hours(1),
            closes - day,
        )
        .await;
    let later = sim
        .schedule(
            "From a little later",
            opens - day,
            opens - day + time::Duration::hours(1),
        )
        .await;
    let group = sim
        .post_json(
            "/api/v2/architect/schedulegroups",
            &json!({"name": "Shifts", "timeZone": ZONE,
                    "openSchedules": [{"id": morning["id"]}, {"id": later["id"]}]}),
        )
        .await;
    let response = sim
        .follow(SALES, &json!({"scheduleGroupId": group["id"]}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    if OffsetDateTime::now_utc() < closes {
        assert_eq!(sim.idle_agents(SALES).await, 2, "open until {closes}");
    }

    let closed_at = sim.wait_for_idle(SALES, 0).await;
    assert!(
        closed_at >= closes,
        "closed at {closed_at}, before {closes}"
    );
    let reopened_at = sim.wait_for_idle(SALES, 2).await;
    assert!(
        reopened_at >= opens,
        "reopened at {reopened_at}, before {opens}"
    );
}

#[tokio::test]
async fn an_enabled_emergency_group_closes_at_once_and_stopping_reopens() {
    let sim = spawn_sim().await;
    sim.set_queue_state(SALES, &json!({"agents": {"idle": 3}}))
        .await;
    let now = OffsetDateTime::now_utc();
    let always = sim
        .schedule(
            "Always",
            now - time::Duration::days(1),
            now + time::Duration::hours(20),
        )
        .await;
    let group = sim
        .post_json(
            "/api/v2/architect/schedulegroups",
            &json!({"name": "Open", "timeZone": ZONE, "openSchedules": [{"id": always["id"]}]}),
        )
        .await;
    let emergency = sim
        .post_json(
            "/api/v2/architect/emergencygroups",
            &json!({"name": "Fire drill", "enabled": false}),
        )
        .await;
    let response = sim
        .follow(
            SALES,
            &json!({"scheduleGroupId": group["id"], "emergencyGroupId": emergency["id"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.idle_agents(SALES).await, 3, "open, no emergency");

    let path = format!(
        "/api/v2/architect/emergencygroups/{}",
        emergency["id"].as_str().unwrap()
    );
    let enabled = sim
        .api
        .put(sim.url(&path))
        .json(&json!({"name": "Fire drill", "enabled": true, "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), StatusCode::OK);
    sim.wait_for_idle(SALES, 0).await;

    let stopped = sim
        .plain
        .delete(sim.url(&follow_path(SALES)))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.idle_agents(SALES).await, 3, "no longer following");
}

#[tokio::test]
async fn following_an_enabled_emergency_group_closes_on_the_spot() {
    let sim = spawn_sim().await;
    sim.set_queue_state(SALES, &json!({"agents": {"idle": 2}}))
        .await;
    let emergency = sim
        .post_json(
            "/api/v2/architect/emergencygroups",
            &json!({"name": "Storm", "enabled": true}),
        )
        .await;
    let response = sim
        .follow(
            SALES,
            &json!({"scheduleGroupId": genesys_sim::config::DEMO_SCHEDULE_GROUP,
                    "emergencyGroupId": emergency["id"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.idle_agents(SALES).await, 0);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let sim = spawn_sim().await;
    let group = genesys_sim::config::DEMO_SCHEDULE_GROUP.to_string();
    let unknown = Uuid::new_v4().to_string();
    let cases = [
        (SALES, json!({}), 400),
        (SALES, json!({"scheduleGroupId": "nope"}), 400),
        (SALES, json!({"scheduleGroupId": unknown}), 400),
        (
            SALES,
            json!({"scheduleGroupId": group, "emergencyGroupId": unknown}),
            400,
        ),
        (SALES, json!({"scheduleGroupId": group, "extra": 1}), 400),
        (Uuid::new_v4(), json!({"scheduleGroupId": group}), 404),
    ];
    for (queue, body, status) in cases {
        let response = sim.follow(queue, &body).await;
        let code = if status == 404 {
            "not.found"
        } else {
            "bad.request"
        };
        assert_error(response, status, code).await;
    }
}
