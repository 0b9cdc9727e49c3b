//! Business hours end to end, upstream half: schedules made on the sandbox's simulator the way an
//! admin would (Genesys's own create and update endpoints), read back by the `genesys` client and
//! evaluated by `hours`, with a client of the tests' own. What the service serves from them is
//! `hours_api`'s.

use genesys::GenesysClient;
use genesys_sim::config::{DEMO_EMERGENCY_GROUP, DEMO_SCHEDULE_GROUP};
use public_stats::hours::{self, BusinessHours, Horizon, Reason, format_with_offset};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// A client of the sandbox's simulator, logged in with the demo org's credentials.
fn genesys(app: &TestApp) -> GenesysClient {
    let sandbox = app.state.sandbox.as_ref().unwrap();
    GenesysClient::new(sandbox.client_config().unwrap()).unwrap()
}

/// An admin's tool: its own token, Genesys's create (`POST`) and update (`PUT`) endpoints.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    pub async fn login(app: &TestApp) -> Admin {
        Admin::login_to(app.sim()).await
    }

    /// An admin of the org `sim` simulates.
    pub async fn login_to(sim: &genesys_sim::RunningSim) -> Admin {
        let org = sim.org();
        let base = sim.base_url();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(&org.client_id, Some(&org.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        Admin { http, base, token }
    }

    /// `GET path` as the admin.
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// Creates a schedule and returns its id.
    pub async fn schedule(&self, name: &str, start: &str, end: &str, rrule: Option<&str>) -> Value {
        let body = json!({"name": name, "start": start, "end": end, "rrule": rrule});
        let schedule = self
            .send(reqwest::Method::POST, "/api/v2/architect/schedules", body)
            .await;
        schedule["id"].clone()
    }
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

async fn read(client: &GenesysClient, group: Uuid, emergency: Uuid) -> BusinessHours {
    let group = client.schedule_group_with_schedules(group).await.unwrap();
    let emergency = client.emergency_group(emergency).await.unwrap();
    BusinessHours::from_genesys(&group, emergency.enabled).unwrap()
}

#[tokio::test]
async fn hours_made_by_an_admin_are_read_back_and_evaluated() {
    let app = spawn_app().await;
    let admin = Admin::login(&app).await;
    let weekdays = admin
        .schedule(
            "Weekdays",
            "2026-01-05T08:00:00.000",
            "2026-01-05T18:00:00.000",
            Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        )
        .await;
    let training = admin
        .schedule(
            "Training",
            "2026-07-01T12:00:00.000",
            "2026-07-01T14:00:00.000",
            None,
        )
        .await;
    let independence_day = admin
        .schedule(
            "Independence Day",
            "2026-07-03T00:00:00.000",
            "2026-07-04T00:00:00.000",
            None,
        )
        .await;
    let group = admin
        .send(
            reqwest::Method::POST,
            "/api/v2/architect/schedulegroups",
            json!({"name": "US support", "timeZone": "America/New_York",
                   "openSchedules": [{"id": weekdays}], "closedSchedules": [{"id": training}],
                   "holidaySchedules": [{"id": independence_day}]}),
        )
        .await;
    let emergency = admin
        .send(
            reqwest::Method::POST,
            "/api/v2/architect/emergencygroups",
            json!({"name": "US storm", "enabled": false}),
        )
        .await;
    let group: Uuid = group["id"].as_str().unwrap().parse().unwrap();
    let emergency_id: Uuid = emergency["id"].as_str().unwrap().parse().unwrap();
    let client = genesys(&app);
    let us = read(&client, group, emergency_id).await;
    assert_eq!(us.time_zone, "America/New_York");

    // Wednesday 1 July 2026, EDT (UTC-4).
    for (now, open, reason, next_change) in [
        (
            "2026-07-01T13:00:00Z",
            true,
            Reason::Open,
            "2026-07-01T12:00:00-04:00",
        ),
        (
            "2026-07-01T17:00:00Z",
            false,
            Reason::Closed,
            "2026-07-01T14:00:00-04:00",
        ),
        (
            "2026-07-02T23:00:00Z",
            false,
            Reason::Closed,
            "2026-07-06T08:00:00-04:00",
        ),
        (
            "2026-07-03T14:00:00Z",
            false,
            Reason::Holiday,
            "2026-07-06T08:00:00-04:00",
        ),
    ] {
        let status = hours::evaluate(&us, at(now), Horizon::default()).unwrap();
        assert_eq!((status.open, status.reason), (open, reason), "{now}");
        assert_eq!(
            status.next_change.map(format_with_offset).as_deref(),
            Some(next_change),
            "{now}"
        );
    }

    // The admin declares an emergency: the next read closes everything.
    admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/v2/architect/emergencygroups/{emergency_id}"),
            json!({"name": "US storm", "enabled": true, "version": emergency["version"]}),
        )
        .await;
    let storm = read(&client, group, emergency_id).await;
    let status = hours::evaluate(&storm, at("2026-07-01T13:00:00Z"), Horizon::default()).unwrap();
    assert_eq!((status.open, status.reason), (false, Reason::Emergency));
    assert_eq!(status.next_change, None);
}

/// The sandbox must be open whenever someone tries it, and still show a closed period and a
/// holiday in its week.
#[tokio::test]
async fn the_sandbox_is_open_now_and_its_week_shows_a_closed_period_and_a_holiday() {
    let app = spawn_app().await;
    let demo = read(&genesys(&app), DEMO_SCHEDULE_GROUP, DEMO_EMERGENCY_GROUP).await;
    let now = OffsetDateTime::now_utc();
    let status = hours::evaluate(&demo, now, Horizon::default()).unwrap();
    assert!(status.open, "{status:?}");
    assert_eq!(status.reason, Reason::Open);
    let next = status.next_change.expect("the closed period is ahead");
    assert!(next - now > time::Duration::days(2), "{status:?}");
    // Three open stretches around two gaps: half an hour closed, an hour of holiday.
    assert_eq!(status.open_intervals.len(), 3, "{status:?}");
    let gaps: time::Duration = status
        .open_intervals
        .windows(2)
        .map(|pair| pair[1].start - pair[0].end)
        .sum();
    assert_eq!(gaps, time::Duration::minutes(90), "{status:?}");
}
