//! The service's business hours: each monitored queue's schedule group (and emergency group) as
//! last read from Genesys, read again every `HOURS_REFRESH_SECONDS`, evaluated whenever someone
//! asks (a stats request, a callback) and published at the instant a queue opens or closes, so
//! the push sockets send a frame then rather than at the next refresh.
//!
//! A failed refresh keeps the last good reading and marks answers from it `stale`, with `asOf`
//! (when it was read). Reads are low priority in the request budget: a refresh skipped for want
//! of budget costs nothing but staleness, never a callback or the live statistics.
//!
//! In clustered mode (`REDIS_URL`) each instance reads the groups on its own: a few low-priority
//! requests a minute per instance, from the budget the instances share. Hours change rarely and
//! are evaluated locally, so sharing one reading through Redis would buy little.
//!
//! It is not the evaluation (the parent module, pure) nor the frames (`stats`), which follow
//! [`HoursKeeper::subscribe`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use genesys::GenesysClient;
use genesys::architect::{ArchitectError, ArchitectKind, Schedule, ScheduleGroupWithSchedules};
use genesys::budget::in_turn;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::{BusinessHours, Horizon, HoursError, HoursStatus, Interval, Reason, evaluate};

/// Which queues keep business hours, and how often the groups are read again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoursSettings {
    /// Monitored queues with a schedule group, in the monitored order; empty: no business hours.
    pub sources: Vec<(Uuid, HoursSource)>,
    pub refresh: Duration,
}

impl Default for HoursSettings {
    fn default() -> Self {
        HoursSettings {
            sources: Vec::new(),
            refresh: Duration::from_secs(60),
        }
    }
}

/// Where one queue's hours come from. Queues with the same groups share one reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HoursSource {
    pub schedule_group: Uuid,
    /// `None`: no emergency closes the queue.
    pub emergency_group: Option<Uuid>,
}

/// A queue's hours as visitors get them: the evaluation at the moment of the answer, plus
/// `stale` and `asOf` when the last refresh failed and the answer comes from an older reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Hours)]
pub struct HoursAnswer {
    pub open: bool,
    pub reason: Reason,
    /// When `open` next flips (RFC 3339 with the zone's offset); `null` when nothing scheduled
    /// changes it within a month, or during an emergency.
    #[serde(serialize_with = "super::maybe_with_offset")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub next_change: Option<OffsetDateTime>,
    /// The schedule group's IANA zone, in which the times are given.
    pub time_zone: String,
    /// The open periods of the next 7 days, from now.
    pub open_intervals: Vec<Interval>,
    /// Present (and `true`) when the last refresh failed: the answer is from the reading of
    /// `asOf`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// When the reading used was made (RFC 3339), when stale.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<OffsetDateTime>,
}

impl HoursAnswer {
    fn new(status: HoursStatus, reading: &Reading) -> Self {
        HoursAnswer {
            open: status.open,
            reason: status.reason,
            next_change: status.next_change,
            time_zone: status.time_zone,
            open_intervals: status.open_intervals,
            stale: reading.stale,
            as_of: reading.stale.then_some(reading.read_at),
        }
    }

    /// Whether a visitor would see the state differ: everything but the open periods, whose
    /// first start moves with the clock while open.
    fn same_state(&self, other: &HoursAnswer) -> bool {
        self.open == other.open
            && self.reason == other.reason
            && self.next_change == other.next_change
            && self.time_zone == other.time_zone
            && self.stale == other.stale
            && self.as_of == other.as_of
    }
}

/// The last good reading of one source.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Reading {
    hours: BusinessHours,
    read_at: OffsetDateTime,
    /// The refresh after `read_at` failed.
    stale: bool,
}

/// The kept readings and each queue's answer at the moment they were published: what frames
/// carry. Replaced, never changed.
#[derive(Debug)]
pub struct HoursSnapshot {
    readings: HashMap<HoursSource, Reading>,
    /// Configured order; a queue whose reading cannot be evaluated is left out.
    answers: Vec<(Uuid, HoursAnswer)>,
}

impl HoursSnapshot {
    /// Each queue with hours and its answer, in the monitored order.
    pub fn answers(&self) -> &[(Uuid, HoursAnswer)] {
        &self.answers
    }

    pub fn answer(&self, queue: Uuid) -> Option<&HoursAnswer> {
        self.answers
            .iter()
            .find(|(id, _)| *id == queue)
            .map(|(_, answer)| answer)
    }

    /// The earliest moment a queue opens or closes.
    fn next_change(&self) -> Option<OffsetDateTime> {
        self.answers
            .iter()
            .filter_map(|(_, answer)| answer.next_change)
            .min()
    }

    /// Whether `other` would show visitors something else.
    fn same_as(&self, other: &HoursSnapshot) -> bool {
        let hours = |snapshot: &HoursSnapshot| -> Vec<(HoursSource, BusinessHours, bool)> {
            let mut all: Vec<_> = snapshot
                .readings
                .iter()
                .map(|(source, reading)| (*source, reading.hours.clone(), reading.stale))
                .collect();
            all.sort_by_key(|(source, _, _)| (source.schedule_group, source.emergency_group));
            all
        };
        self.answers.len() == other.answers.len()
            && self
                .answers
                .iter()
                .zip(&other.answers)
                .all(|((a, left), (b, right))| a == b && left.same_state(right))
            && hours(self) == hours(other)
    }
}

/// Why the configured groups could not be read at start-up: each names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum HoursLoadError {
    #[error("PURECLOUD_SCHEDULE_GROUPS names schedule group {0}, which the org does not have")]
    UnknownScheduleGroup(Uuid),
    #[error(
        "PURECLOUD_SCHEDULE_GROUPS: schedule group {group} names schedule {schedule}, which the \
         org does not have"
    )]
    UnknownSchedule { group: Uuid, schedule: Uuid },
    #[error("PURECLOUD_EMERGENCY_GROUPS names emergency group {0}, which the org does not have")]
    UnknownEmergencyGroup(Uuid),
    #[error(
        "could not read the {kind} {id} named in {setting}: {error}{}",
        permission_hint(error)
    )]
    Unreadable {
        setting: &'static str,
        kind: ArchitectKind,
        id: Uuid,
        error: genesys::Error,
    },
    #[error("PURECLOUD_SCHEDULE_GROUPS: schedule group {group} cannot be evaluated: {error}")]
    Unusable { group: Uuid, error: HoursError },
}

/// What to add to a 403: the permissions reading business hours takes.
fn permission_hint(error: &genesys::Error) -> &'static str {
    if error.status().map(|status| status.as_u16()) == Some(403) {
        " (the OAuth client needs routing:scheduleGroup:view, routing:schedule:view and \
         routing:emergencyGroup:view)"
    } else {
        ""
    }
}

/// The monitored queues' business hours. Cheap to clone.
#[derive(Clone)]
pub struct HoursKeeper(Arc<Parts>);

struct Parts {
    sources: Vec<(Uuid, HoursSource)>,
    refresh: Duration,
    published: watch::Sender<Arc<HoursSnapshot>>,
}

/// How long a refresh may wait for the request budget: about its period, within these bounds.
const MIN_PATIENCE: Duration = Duration::from_secs(5);
const MAX_PATIENCE: Duration = Duration::from_secs(60);
/// How soon a failed refresh is tried again (sooner than the refresh period when that is long).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(15);
/// How long after a change's instant the clock re-evaluates: evaluation is to the second, so the
/// instant itself must have begun on the wall clock.
const CHANGE_MARGIN: Duration = Duration::from_millis(20);
/// How long the clock waits before looking again when it woke and nothing had changed (the wall
/// clock and the timer disagreeing by a little).
const EARLY_WAKE_PAUSE: Duration = Duration::from_millis(200);

impl HoursKeeper {
    /// No business hours: every queue is always open, and no answer carries `hours`.
    pub fn none() -> Self {
        Self::with(Vec::new(), Duration::from_secs(60), HashMap::new())
    }

    fn with(
        sources: Vec<(Uuid, HoursSource)>,
        refresh: Duration,
        readings: HashMap<HoursSource, Reading>,
    ) -> Self {
        let snapshot = snapshot(&sources, readings, OffsetDateTime::now_utc());
        let (published, _) = watch::channel(Arc::new(snapshot));
        HoursKeeper(Arc::new(Parts {
            sources,
            refresh,
            published,
        }))
    }

    /// Reads every configured group once, waiting up to `patience` for the request budget; any
    /// group that cannot be read or evaluated is an error naming its setting.
    pub async fn load(
        client: &GenesysClient,
        settings: &HoursSettings,
        patience: Duration,
    ) -> Result<Self, HoursLoadError> {
        let mut readings = HashMap::new();
        let now = OffsetDateTime::now_utc();
        let deadline = Instant::now() + patience;
        for source in distinct(&settings.sources) {
            let hours = read(client, source, deadline).await?;
            readings.insert(
                source,
                Reading {
                    hours,
                    read_at: now,
                    stale: false,
                },
            );
        }
        Ok(Self::with(
            settings.sources.clone(),
            settings.refresh,
            readings,
        ))
    }

    /// Starts refreshing the readings and publishing each opening and closing, until `shutdown`.
    /// Nothing to do without business hours.
    pub fn start(&self, client: GenesysClient, shutdown: CancellationToken, tasks: &TaskTracker) {
        if self.0.sources.is_empty() {
            return;
        }
        tasks.spawn(self.clone().refresh_loop(client, shutdown.clone()));
        tasks.spawn(self.clone().clock(shutdown));
    }

    /// Whether any queue has business hours.
    pub fn is_configured(&self) -> bool {
        !self.0.sources.is_empty()
    }

    /// `queue`'s hours now, evaluated from the kept reading; `None` when it has none.
    pub fn answer(&self, queue: Uuid) -> Option<HoursAnswer> {
        let (status, reading) =
            self.evaluate(queue, OffsetDateTime::now_utc(), Horizon::default())?;
        Some(HoursAnswer::new(status, &reading))
    }

    /// `queue`'s hours at `now` looking `horizon` ahead (a callback's booking window is longer
    /// than a week); `None` when it has none, or its reading cannot be evaluated that far.
    pub fn status(
        &self,
        queue: Uuid,
        now: OffsetDateTime,
        horizon: Horizon,
    ) -> Option<HoursStatus> {
        self.evaluate(queue, now, horizon).map(|(status, _)| status)
    }

    fn evaluate(
        &self,
        queue: Uuid,
        now: OffsetDateTime,
        horizon: Horizon,
    ) -> Option<(HoursStatus, Reading)> {
        let source = self.source(queue)?;
        let reading = self.0.published.borrow().readings.get(&source)?.clone();
        match evaluate(&reading.hours, now, horizon) {
            Ok(status) => Some((status, reading)),
            Err(error) => {
                tracing::error!(%queue, %error, "business hours could not be evaluated");
                None
            }
        }
    }

    fn source(&self, queue: Uuid) -> Option<HoursSource> {
        self.0
            .sources
            .iter()
            .find(|(id, _)| *id == queue)
            .map(|(_, source)| *source)
    }

    /// Follows the published answers: notified after a refresh that changed something, and at
    /// the instant a queue opens or closes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<HoursSnapshot>> {
        self.0.published.subscribe()
    }

    async fn refresh_loop(self, client: GenesysClient, shutdown: CancellationToken) {
        let mut pause = self.0.refresh;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
            let complete = tokio::select! {
                () = shutdown.cancelled() => break,
                complete = self.refresh(&client) => complete,
            };
            pause = if complete {
                self.0.refresh
            } else {
                self.0.refresh.min(RETRY_AFTER_FAILURE)
            };
        }
    }

    /// Reads every source again; a source that fails keeps its last reading, marked stale.
    /// Returns whether every read succeeded.
    async fn refresh(&self, client: &GenesysClient) -> bool {
        let before = Arc::clone(&self.0.published.borrow());
        let mut readings = before.readings.clone();
        let mut complete = true;
        let deadline = Instant::now() + self.0.refresh.clamp(MIN_PATIENCE, MAX_PATIENCE);
        for source in distinct(&self.0.sources) {
            let now = OffsetDateTime::now_utc();
            match read(client, source, deadline).await {
                Ok(hours) => {
                    readings.insert(
                        source,
                        Reading {
                            hours,
                            read_at: now,
                            stale: false,
                        },
                    );
                }
                Err(error) => {
                    complete = false;
                    if let Some(reading) = readings.get_mut(&source) {
                        if !reading.stale {
                            tracing::warn!(group = %source.schedule_group, %error,
                                "business hours could not be refreshed; answering from the last reading, marked stale");
                        }
                        reading.stale = true;
                    }
                }
            }
        }
        let outcome = if complete { "ok" } else { "failed" };
        metrics::counter!("public_stats_hours_refreshes_total", "outcome" => outcome).increment(1);
        let stale = readings.values().filter(|reading| reading.stale).count();
        metrics::gauge!("public_stats_hours_stale_groups").set(stale as f64);
        self.publish(readings);
        complete
    }

    /// Publishes `readings` evaluated now, waking subscribers only when visitors would see a
    /// difference. Returns whether they were woken.
    fn publish(&self, readings: HashMap<HoursSource, Reading>) -> bool {
        let next = snapshot(&self.0.sources, readings, OffsetDateTime::now_utc());
        self.0.published.send_if_modified(|current| {
            let visible = !current.same_as(&next);
            if visible {
                *current = Arc::new(next);
            }
            visible
        })
    }

    /// Publishes again at each instant a queue opens or closes: the earliest `nextChange` of the
    /// answers, re-armed after every publication (a refresh may move it).
    async fn clock(self, shutdown: CancellationToken) {
        let mut published = self.subscribe();
        loop {
            let next_change = published.borrow_and_update().next_change();
            let Some(at) = next_change else {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    changed = published.changed() => if changed.is_err() { break },
                }
                continue;
            };
            let wait = std::time::Duration::try_from(at - OffsetDateTime::now_utc())
                .unwrap_or_default()
                + CHANGE_MARGIN;
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = published.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(wait) => {
                    let readings = published.borrow().readings.clone();
                    if self.publish(readings) {
                        metrics::counter!("public_stats_hours_changes_total").increment(1);
                    } else {
                        tokio::time::sleep(EARLY_WAKE_PAUSE).await;
                    }
                }
            }
        }
    }
}

/// Each source once, in the order first named.
fn distinct(sources: &[(Uuid, HoursSource)]) -> Vec<HoursSource> {
    let mut seen = Vec::new();
    for (_, source) in sources {
        if !seen.contains(source) {
            seen.push(*source);
        }
    }
    seen
}

/// Each queue's answer at `now` from `readings`.
fn snapshot(
    sources: &[(Uuid, HoursSource)],
    readings: HashMap<HoursSource, Reading>,
    now: OffsetDateTime,
) -> HoursSnapshot {
    let mut evaluated: HashMap<HoursSource, Option<HoursAnswer>> = HashMap::new();
    let mut answers = Vec::new();
    for (queue, source) in sources {
        let answer = evaluated.entry(*source).or_insert_with(|| {
            let reading = readings.get(source)?;
            match evaluate(&reading.hours, now, Horizon::default()) {
                Ok(status) => Some(HoursAnswer::new(status, reading)),
                Err(error) => {
                    tracing::error!(group = %source.schedule_group, %error,
                        "business hours could not be evaluated");
                    None
                }
            }
        });
        if let Some(answer) = answer {
            answers.push((*queue, answer.clone()));
        }
    }
    HoursSnapshot { readings, answers }
}

/// Reads one source and checks that it can be evaluated. Each request waits its turn in the
/// request budget until `deadline`: reads are low priority, which fails at once when the budget
/// is low, and a group with many schedules takes more requests than the budget lets low
/// priority make back to back.
async fn read(
    client: &GenesysClient,
    source: HoursSource,
    deadline: Instant,
) -> Result<BusinessHours, HoursLoadError> {
    let group_id = source.schedule_group;
    let group = read_group(client, group_id, deadline)
        .await
        .map_err(|error| match error {
            ArchitectError::NotFound {
                kind: ArchitectKind::ScheduleGroup,
                ..
            } => HoursLoadError::UnknownScheduleGroup(group_id),
            ArchitectError::NotFound { id, .. } => HoursLoadError::UnknownSchedule {
                group: group_id,
                schedule: id,
            },
            ArchitectError::Genesys(error) => HoursLoadError::Unreadable {
                setting: "PURECLOUD_SCHEDULE_GROUPS",
                kind: ArchitectKind::ScheduleGroup,
                id: group_id,
                error,
            },
        })?;
    let emergency = match source.emergency_group {
        None => false,
        Some(id) => {
            in_turn(deadline, || client.emergency_group(id))
                .await
                .map_err(|error| match error {
                    ArchitectError::NotFound { .. } => HoursLoadError::UnknownEmergencyGroup(id),
                    ArchitectError::Genesys(error) => HoursLoadError::Unreadable {
                        setting: "PURECLOUD_EMERGENCY_GROUPS",
                        kind: ArchitectKind::EmergencyGroup,
                        id,
                        error,
                    },
                })?
                .enabled
        }
    };
    let unusable = |error| HoursLoadError::Unusable {
        group: group_id,
        error,
    };
    let hours = BusinessHours::from_genesys(&group, emergency).map_err(unusable)?;
    evaluate(&hours, OffsetDateTime::now_utc(), Horizon::default()).map_err(unusable)?;
    Ok(hours)
}

/// The group and each schedule it names (each read once), one request at a time.
async fn read_group(
    client: &GenesysClient,
    id: Uuid,
    deadline: Instant,
) -> Result<ScheduleGroupWithSchedules, ArchitectError> {
    let group = in_turn(deadline, || client.schedule_group(id)).await?;
    let mut read: HashMap<Uuid, Schedule> = HashMap::new();
    let mut lists: [Vec<Schedule>; 3] = Default::default();
    let named = [
        &group.open_schedules,
        &group.closed_schedules,
        &group.holiday_schedules,
    ];
    for (list, references) in lists.iter_mut().zip(named) {
        for reference in references {
            let schedule = match read.get(&reference.id) {
                Some(schedule) => schedule.clone(),
                None => {
                    let schedule = in_turn(deadline, || client.schedule(reference.id)).await?;
                    read.insert(reference.id, schedule.clone());
                    schedule
                }
            };
            list.push(schedule);
        }
    }
    let [open, closed, holiday] = lists;
    Ok(ScheduleGroupWithSchedules {
        group,
        open,
        closed,
        holiday,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::ScheduleSpec;

    const SALES: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");
    const GROUP: Uuid = uuid::uuid!("4c9a7fa4-9d6b-4f8a-8a3b-9eae5b4f3d04");

    fn always_open() -> BusinessHours {
        let local = |text| genesys::architect::parse_local_date_time(text).unwrap();
        BusinessHours {
            time_zone: "Europe/London".into(),
            open: vec![ScheduleSpec {
                name: "Always".into(),
                start: local("2024-01-01T00:00:00"),
                end: local("2024-01-02T00:00:00"),
                rrule: Some("FREQ=DAILY".into()),
            }],
            closed: vec![],
            holiday: vec![],
            emergency: false,
        }
    }

    fn keeper(stale: bool) -> HoursKeeper {
        let source = HoursSource {
            schedule_group: GROUP,
            emergency_group: None,
        };
        let read_at = time::macros::datetime!(2026-01-05 08:00 UTC);
        let readings = HashMap::from([(
            source,
            Reading {
                hours: always_open(),
                read_at,
                stale,
            },
        )]);
        HoursKeeper::with(vec![(SALES, source)], Duration::from_secs(60), readings)
    }

    #[test]
    fn a_stale_reading_is_answered_with_when_it_was_read() {
        let fresh = serde_json::to_value(keeper(false).answer(SALES).unwrap()).unwrap();
        assert_eq!(fresh["open"], true);
        assert_eq!(fresh["reason"], "open");
        assert!(
            fresh.get("stale").is_none() && fresh.get("asOf").is_none(),
            "{fresh}"
        );
        let stale = serde_json::to_value(keeper(true).answer(SALES).unwrap()).unwrap();
        assert_eq!(stale["stale"], true);
        assert_eq!(stale["asOf"], "2026-01-05T08:00:00Z");
        assert_eq!(stale["open"], true, "the last reading still answers");
    }

    #[test]
    fn a_refused_read_names_the_setting_and_the_permissions() {
        let refused = |status| HoursLoadError::Unreadable {
            setting: "PURECLOUD_SCHEDULE_GROUPS",
            kind: ArchitectKind::ScheduleGroup,
            id: GROUP,
            error: genesys::Error::Api { status, body: None },
        };
        let forbidden = refused(axum::http::StatusCode::FORBIDDEN).to_string();
        for named in [
            "PURECLOUD_SCHEDULE_GROUPS",
            "routing:scheduleGroup:view",
            "routing:schedule:view",
            "routing:emergencyGroup:view",
        ] {
            assert!(forbidden.contains(named), "{forbidden}");
        }
        let down = refused(axum::http::StatusCode::BAD_GATEWAY).to_string();
        assert!(!down.contains("routing:"), "{down}");
    }

    #[test]
    fn a_queue_without_hours_has_no_answer() {
        let keeper = keeper(false);
        assert!(keeper.answer(uuid::Uuid::nil()).is_none());
        assert!(HoursKeeper::none().answer(SALES).is_none());
        assert!(!HoursKeeper::none().is_configured());
    }

    #[test]
    fn publishing_the_same_state_again_wakes_nobody() {
        let keeper = keeper(false);
        let mut follower = keeper.subscribe();
        follower.borrow_and_update();
        let readings = keeper.0.published.borrow().readings.clone();
        assert!(!keeper.publish(readings.clone()), "nothing visible changed");
        let mut stale = readings;
        for reading in stale.values_mut() {
            reading.stale = true;
        }
        assert!(keeper.publish(stale), "staleness is visible");
        assert!(follower.has_changed().unwrap());
    }
}
