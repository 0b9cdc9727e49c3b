//! Architect's schedules, schedule groups and emergency groups: the demo org's, and created and
//! replaced as an admin would, with Genesys's checks.

use genesys_sim::SimConfig;
use genesys_sim::config::{
    DEMO_CLOSED_SCHEDULE, DEMO_EMERGENCY_GROUP, DEMO_HOLIDAY_SCHEDULE, DEMO_OPEN_SCHEDULE,
    DEMO_SCHEDULE_GROUP,
};
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestSim, assert_error, ok_json, spawn_sim, spawn_sim_with};

const SCHEDULES: &str = "/api/v2/architect/schedules";
const GROUPS: &str = "/api/v2/architect/schedulegroups";
const EMERGENCY: &str = "/api/v2/architect/emergencygroups";

impl TestSim {
    async fn put(&self, path: &str, body: &Value) -> Response {
        self.api
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request is sent")
    }
}

fn weekdays() -> Value {
    json!({"name": "Weekdays", "start": "2026-01-05T09:00:00.000", "end": "2026-01-05T17:00:00.000",
           "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"})
}

#[tokio::test]
async fn the_demo_org_has_a_schedule_group_and_a_disabled_emergency_group() {
    let sim = spawn_sim().await;
    let group = sim
        .get_json(&format!("{GROUPS}/{DEMO_SCHEDULE_GROUP}"))
        .await;
    assert_eq!(group["timeZone"], "Europe/London");
    assert_eq!(group["state"], "active");
    assert_eq!(
        group["openSchedules"][0]["id"],
        DEMO_OPEN_SCHEDULE.to_string()
    );
    assert_eq!(
        group["closedSchedules"][0]["id"],
        DEMO_CLOSED_SCHEDULE.to_string()
    );
    assert_eq!(
        group["holidaySchedules"][0]["id"],
        DEMO_HOLIDAY_SCHEDULE.to_string()
    );
    assert_eq!(
        group["openSchedules"][0]["selfUri"],
        format!("{SCHEDULES}/{DEMO_OPEN_SCHEDULE}")
    );
    let open = sim
        .get_json(&format!("{SCHEDULES}/{DEMO_OPEN_SCHEDULE}"))
        .await;
    assert_eq!(open["start"], "2024-01-01T00:00:00.000");
    assert_eq!(open["end"], "2024-01-02T00:00:00.000");
    assert_eq!(open["rrule"], "FREQ=DAILY");
    let holiday = sim
        .get_json(&format!("{SCHEDULES}/{DEMO_HOLIDAY_SCHEDULE}"))
        .await;
    assert!(holiday.get("rrule").is_none(), "a one-off: {holiday}");
    let emergency = sim
        .get_json(&format!("{EMERGENCY}/{DEMO_EMERGENCY_GROUP}"))
        .await;
    assert_eq!(emergency["enabled"], false);
    let org = ok_json(sim.plain.get(sim.url("/__sim/org")).send().await.unwrap()).await;
    assert_eq!(org["scheduleGroupId"], DEMO_SCHEDULE_GROUP.to_string());
}

#[tokio::test]
async fn an_org_without_business_hours_has_none() {
    let mut config = SimConfig::for_tests();
    config.org.business_hours = false;
    let sim = spawn_sim_with(config).await;
    for path in [SCHEDULES, GROUPS, EMERGENCY] {
        let listing = sim.get_json(path).await;
        assert_eq!(listing["total"], 0, "{path}: {listing}");
    }
    assert_error(
        sim.get(&format!("{GROUPS}/{DEMO_SCHEDULE_GROUP}")).await,
        404,
        "not.found",
    )
    .await;
}

#[tokio::test]
async fn an_admin_creates_schedules_and_a_group_that_names_them() {
    let sim = spawn_sim().await;
    let schedule = sim.post_json(SCHEDULES, &weekdays()).await;
    assert_eq!(schedule["version"], 1);
    assert_eq!(schedule["start"], "2026-01-05T09:00:00.000");
    let id = schedule["id"].as_str().unwrap().to_owned();
    let group = sim
        .post_json(
            GROUPS,
            &json!({"name": "Support hours", "timeZone": "America/New_York",
                    "openSchedules": [{"id": id}]}),
        )
        .await;
    assert_eq!(group["openSchedules"][0]["name"], "Weekdays");
    assert_eq!(group["closedSchedules"], json!([]));
    let group_id = group["id"].as_str().unwrap();
    assert_eq!(sim.get_json(&format!("{GROUPS}/{group_id}")).await, group);

    let by_schedule = sim.get_json(&format!("{GROUPS}?scheduleIds={id}")).await;
    assert_eq!(by_schedule["total"], 1, "{by_schedule}");
    assert_eq!(by_schedule["entities"][0]["id"], group_id);
    let by_name = sim.get_json(&format!("{SCHEDULES}?name=*DAYS")).await;
    assert_eq!(by_name["total"], 1, "{by_name}");
}

#[tokio::test]
async fn genesys_refuses_what_it_cannot_store() {
    let sim = spawn_sim().await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (path, body) in [
        (
            GROUPS,
            json!({"name": "g", "timeZone": "Europe/London", "openSchedules": [{"id": unknown}]}),
        ),
        (
            GROUPS,
            json!({"name": "g", "closedSchedules": [{"id": "not-a-uuid"}]}),
        ),
        (GROUPS, json!({"timeZone": "Europe/London"})),
        (
            SCHEDULES,
            json!({"name": "s", "start": "2026-01-05T09:00:00Z", "end": "2026-01-05T17:00:00.000"}),
        ),
        (
            SCHEDULES,
            json!({"name": "s", "start": "2026-01-05T09:00:00.000"}),
        ),
        (
            SCHEDULES,
            json!({"name": "s", "start": "2026-01-05T17:00:00.000", "end": "2026-01-05T09:00:00.000"}),
        ),
        (
            SCHEDULES,
            json!({"name": "s", "start": "2026-01-05T09:00:00.000", "end": "2026-01-05T17:00:00.000", "rrule": "BYDAY=MO"}),
        ),
        (EMERGENCY, json!({"name": "e", "enabled": "yes"})),
    ] {
        assert_error(sim.post(path, &body).await, 400, "bad.request").await;
    }
    assert_error(
        sim.get(&format!("{SCHEDULES}/{unknown}")).await,
        404,
        "not.found",
    )
    .await;
    assert_error(
        sim.get(&format!("{SCHEDULES}/nope")).await,
        400,
        "bad.request",
    )
    .await;
    // Genesys's Terraform provider sends an empty rule for a one-off schedule.
    let one_off = sim
        .post_json(
            SCHEDULES,
            &json!({"name": "Once", "start": "2026-02-14T10:00", "end": "2026-02-14T16:00", "rrule": ""}),
        )
        .await;
    assert!(one_off.get("rrule").is_none(), "{one_off}");
}

#[tokio::test]
async fn a_put_replaces_the_version_it_names() {
    let sim = spawn_sim().await;
    let path = format!("{EMERGENCY}/{DEMO_EMERGENCY_GROUP}");
    let enable = |version: Option<u64>| {
        let mut body = json!({"name": "Demo emergency", "enabled": true});
        if let Some(version) = version {
            body["version"] = json!(version);
        }
        body
    };
    assert_error(sim.put(&path, &enable(None)).await, 400, "bad.request").await;
    assert_eq!(sim.put(&path, &enable(Some(7))).await.status(), 409);
    let enabled = ok_json(sim.put(&path, &enable(Some(1))).await).await;
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["version"], 2);
    assert_eq!(sim.get_json(&path).await["enabled"], true);
    assert_eq!(
        sim.put(&path, &enable(Some(1))).await.status(),
        409,
        "the old version is stale now"
    );
    let unknown = format!("{GROUPS}/00000000-0000-4000-8000-000000000000");
    assert_error(
        sim.put(&unknown, &json!({"name": "x", "version": 1})).await,
        404,
        "not.found",
    )
    .await;
}
