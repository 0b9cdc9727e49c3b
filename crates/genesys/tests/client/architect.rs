//! Business-hours objects read from the simulator: the demo org's schedule group with its
//! schedules, the emergency group, listings across pages, 404s, and the low priority they go at.

use std::time::Duration;

use anyhow::Result;
use genesys::{ArchitectError, ArchitectKind, BudgetConfig, Error};
use genesys_sim::config::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CLOSED_SCHEDULE, DEMO_EMERGENCY_GROUP,
    DEMO_OPEN_SCHEDULE, DEMO_SCHEDULE_GROUP,
};
use serde_json::{Value, json};
use time::macros::datetime;
use uuid::Uuid;

use crate::helpers::Sim;

const GROUP: &str = "GET /api/v2/architect/schedulegroups/{scheduleGroupId}";
const SCHEDULE: &str = "GET /api/v2/architect/schedules/{scheduleId}";
const SCHEDULES: &str = "GET /api/v2/architect/schedules";

/// Creates objects the way an admin's tool would: `POST` with a token of its own.
async fn admin_post(sim: &Sim, path: &str, body: &Value) -> Result<Value> {
    let http = reqwest::Client::new();
    let base = sim.sim.base_url();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["access_token"].as_str().unwrap_or_default();
    Ok(http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

#[tokio::test]
async fn a_schedule_group_is_read_with_its_schedules() -> Result<()> {
    let sim = Sim::start().await?;
    let hours = sim
        .client()
        .schedule_group_with_schedules(DEMO_SCHEDULE_GROUP)
        .await?;
    assert_eq!(hours.group.time_zone.as_deref(), Some("Europe/London"));
    assert_eq!(hours.open.len(), 1);
    let open = &hours.open[0];
    assert_eq!(open.id, DEMO_OPEN_SCHEDULE);
    assert_eq!(open.start, datetime!(2024-01-01 00:00));
    assert_eq!(open.end, datetime!(2024-01-02 00:00));
    assert_eq!(open.rrule.as_deref(), Some("FREQ=DAILY"));
    assert_eq!(hours.closed[0].id, DEMO_CLOSED_SCHEDULE);
    assert_eq!(hours.holiday.len(), 1);
    assert_eq!(hours.holiday[0].rrule, None);
    let log = sim.requests().await?;
    assert_eq!((log.count(GROUP), log.count(SCHEDULE)), (1, 3));

    let emergency = sim.client().emergency_group(DEMO_EMERGENCY_GROUP).await?;
    assert!(!emergency.enabled);
    Ok(())
}

#[tokio::test]
async fn unknown_ids_are_not_found_without_retries() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    let unknown = Uuid::new_v4();
    match client.schedule_group(unknown).await {
        Err(ArchitectError::NotFound { kind, id }) => {
            assert_eq!((kind, id), (ArchitectKind::ScheduleGroup, unknown));
        }
        other => panic!("expected not found, got {other:?}"),
    }
    assert!(matches!(
        client.emergency_group(unknown).await,
        Err(ArchitectError::NotFound {
            kind: ArchitectKind::EmergencyGroup,
            ..
        })
    ));
    assert_eq!(sim.count(GROUP).await?, 1);

    // A group naming a schedule that is gone names the schedule.
    let schedule = admin_post(
        &sim,
        "/api/v2/architect/schedules",
        &json!({"name": "s", "start": "2026-01-05T09:00", "end": "2026-01-05T17:00"}),
    )
    .await?;
    let group = admin_post(
        &sim,
        "/api/v2/architect/schedulegroups",
        &json!({"name": "g", "timeZone": "Europe/London", "openSchedules": [{"id": schedule["id"]}]}),
    )
    .await?;
    sim.fault(json!({"route": SCHEDULE, "status": 404, "times": 1}))
        .await?;
    let group: Uuid = group["id"].as_str().unwrap_or_default().parse()?;
    assert!(matches!(
        client.schedule_group_with_schedules(group).await,
        Err(ArchitectError::NotFound {
            kind: ArchitectKind::Schedule,
            ..
        })
    ));
    Ok(())
}

#[tokio::test]
async fn listings_follow_every_page() -> Result<()> {
    let sim = Sim::start().await?;
    for n in 0..101 {
        admin_post(
            &sim,
            "/api/v2/architect/schedules",
            &json!({"name": format!("Schedule {n:03}"), "start": "2026-01-05T09:00:00.000",
                    "end": "2026-01-05T17:00:00.000", "rrule": "FREQ=DAILY"}),
        )
        .await?;
    }
    let schedules = sim.client().list_schedules().await?;
    assert_eq!(schedules.len(), 104, "101 made here and the demo's 3");
    assert_eq!(sim.count(SCHEDULES).await?, 2, "100 a page");
    assert_eq!(sim.client().list_schedule_groups().await?.len(), 1);
    assert_eq!(sim.client().list_emergency_groups().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn business_hours_never_spend_the_reserves() -> Result<()> {
    let sim = Sim::start().await?;
    // Every token is reserved for callbacks and the live statistics.
    let client = sim.client_with(|config| {
        config.budget = BudgetConfig {
            per_minute: 60,
            burst: 4,
            high_priority_reserve: 2,
            normal_priority_reserve: 2,
            high_priority_max_wait: Duration::from_millis(10),
        };
    });
    let answer = client.schedule_group(DEMO_SCHEDULE_GROUP).await;
    assert!(
        matches!(answer, Err(ArchitectError::Genesys(Error::BudgetExhausted))),
        "{answer:?}"
    );
    assert!(matches!(
        client.list_schedules().await,
        Err(Error::BudgetExhausted)
    ));
    assert_eq!(sim.count(GROUP).await? + sim.count(SCHEDULES).await?, 0);
    Ok(())
}
