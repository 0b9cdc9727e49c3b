//! The shared store against a real redis-server, and side by side with the SQLite store it
//! stands in for.

use std::time::Duration;

use test_redis::RedisServer;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::callbacks::backend::{CallbackBackend, Due, NotStored, Stored};
use crate::callbacks::limits::{CallbackLimits, Refusal};
use crate::callbacks::store::{CallbackStore, DueJob, IdempotencyRecord, NewCallback, unix_ms};
use crate::cluster::{ClusterSettings, RedisUrl};

const QUEUES: [Uuid; 3] = [
    Uuid::from_u128(0x1f6f4c71_6a3e_4c57_9d0e_6b7a2e1c0a01),
    Uuid::from_u128(0x2f6f4c71_6a3e_4c57_9d0e_6b7a2e1c0a02),
    Uuid::from_u128(0x3f6f4c71_6a3e_4c57_9d0e_6b7a2e1c0a03),
];

async fn connect(server: &RedisServer, lease: Duration) -> SharedStore {
    let settings = ClusterSettings {
        url: RedisUrl::parse(&server.url()).unwrap(),
        lease,
    };
    SharedStore::new(Cluster::connect(&settings).await.unwrap())
}

fn number(n: u32) -> String {
    format!("+1317555{n:04}")
}

fn request(queue: Uuid, numbers: &[u32], address: &str) -> NewCallback {
    NewCallback {
        queue,
        numbers: numbers.iter().map(|n| number(*n)).collect(),
        user_name: Some("Ada Lovelace".into()),
        scheduled_time: Some(time::macros::datetime!(2030-01-02 10:30 UTC)),
        country_code: Some("US".into()),
        client_address: address.into(),
    }
}

fn limits() -> CallbackLimits {
    CallbackLimits::default()
}

fn accepted_id(stored: Result<Stored, NotStored>) -> String {
    match stored {
        Ok(Stored::New(id)) => id,
        Ok(Stored::Earlier(earlier)) => panic!("replayed {}", earlier.receipt.id),
        Err(error) => panic!("not stored: {error}"),
    }
}

async fn claim(store: &SharedStore, now: OffsetDateTime) -> DueJob {
    match store.claim_due(now).await.unwrap() {
        Due::Now(job) => job,
        Due::At(at) => panic!("nothing due before {at}"),
        Due::Nothing => panic!("nothing pending"),
    }
}

#[tokio::test]
async fn an_accepted_request_is_stored_with_its_job_and_receipt_and_no_number_in_key_names() {
    let server = RedisServer::start();
    let store = connect(&server, Duration::from_secs(10)).await;
    let now = OffsetDateTime::now_utc();
    let callback = request(QUEUES[0], &[1234], "203.0.113.7");
    let id = accepted_id(store.accept(&callback, &limits(), None, now).await);

    let receipt = store.receipt(&id).await.unwrap().unwrap();
    assert_eq!(receipt.status, Status::Pending);
    assert_eq!(receipt.number_hint, "34");
    assert_eq!(store.pending_count().await.unwrap(), 1);
    assert!(store.receipt(&"0".repeat(32)).await.unwrap().is_none());

    let job = claim(&store, now).await;
    assert_eq!(job.id, id);
    assert_eq!(job.queue, QUEUES[0]);
    assert_eq!(job.numbers, callback.numbers);
    assert_eq!(job.user_name, callback.user_name);
    assert_eq!(job.scheduled_time, callback.scheduled_time);
    assert_eq!(job.country_code, callback.country_code);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.number_hint, "34");
    assert_eq!(
        unix_ms(job.accepted_at),
        unix_ms(now),
        "accepted at, to the millisecond"
    );
    assert!(job.claim.as_deref().unwrap().starts_with(store.instance()));

    let keys = server.cli(&["KEYS", "*"]);
    assert!(
        keys.lines()
            .all(|key| key.starts_with("public-stats:callbacks:")),
        "{keys}"
    );
    assert!(
        !keys.contains("5551234") && !keys.contains("203.0.113.7"),
        "{keys}"
    );
}

/// One request, as both stores answer it: the kind of answer, and a 429's wait in minutes.
fn outcome(stored: Result<Stored, NotStored>) -> String {
    match stored {
        Ok(Stored::New(_)) => "accepted".into(),
        Ok(Stored::Earlier(_)) => "replayed".into(),
        Err(NotStored::Refused(Refusal::AlreadyPending { .. })) => "pending".into(),
        Err(NotStored::Refused(Refusal::TooMany { retry_after })) => {
            format!("too-many {}m", retry_after.as_secs().div_ceil(60))
        }
        Err(NotStored::Refused(Refusal::QueueFull)) => "queue-full".into(),
        Err(NotStored::Refused(Refusal::DailyLimit)) => "daily-limit".into(),
        Err(NotStored::Unavailable(error)) => panic!("store unavailable: {error}"),
    }
}

/// The same requests at the same times, against the SQLite store and the shared one.
async fn run_scenario(store: &CallbackBackend, base: OffsetDateTime) -> Vec<String> {
    let limits = CallbackLimits {
        per_number_daily: 2,
        per_address_hourly: 3,
        per_address_daily: 4,
        numbers_per_address_daily: 3,
        max_pending_per_queue: 3,
        daily_limit: 6,
        pending_window: Duration::from_secs(2 * 3600),
    };
    let at = |minutes: i64| base + time::Duration::minutes(minutes);
    let (a, b, c) = ("198.51.100.1", "198.51.100.2", "198.51.100.3");
    let steps: [(i64, Uuid, &[u32], &str); 12] = [
        (0, QUEUES[0], &[1], a),
        (1, QUEUES[0], &[1], a),
        (2, QUEUES[1], &[1], a),
        (3, QUEUES[2], &[1], b),
        (4, QUEUES[0], &[2], a),
        (5, QUEUES[0], &[3], a),
        (70, QUEUES[0], &[3], a),
        (71, QUEUES[0], &[4], b),
        (72, QUEUES[1], &[4, 5], a),
        (74, QUEUES[1], &[6], b),
        (75, QUEUES[2], &[7, 8], b),
        (76, QUEUES[2], &[9], b),
    ];
    let mut outcomes = Vec::new();
    for (minutes, queue, numbers, address) in steps {
        let request = request(queue, numbers, address);
        outcomes.push(outcome(
            store.accept(&request, &limits, None, at(minutes)).await,
        ));
        if minutes == 72 {
            // The first request is delivered: a created callback still counts as pending for its
            // number on its queue within the window.
            let Due::Now(job) = store.next_due(at(73)).await.unwrap() else {
                panic!("the first request is due");
            };
            store.mark_created(&job, None, at(73)).await.unwrap();
            outcomes.push(outcome(
                store
                    .accept(&request_for_first(b), &limits, None, at(73))
                    .await,
            ));
        }
    }
    let last = request(QUEUES[2], &[10], c);
    outcomes.push(outcome(store.accept(&last, &limits, None, at(77)).await));
    outcomes
}

fn request_for_first(address: &str) -> NewCallback {
    request(QUEUES[0], &[1], address)
}

#[tokio::test]
async fn the_limits_answer_exactly_as_the_sqlite_store_does() {
    let base = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let dir = tempfile::tempdir().unwrap();
    let local = CallbackBackend::Local(CallbackStore::open(dir.path()).await.unwrap());
    let server = RedisServer::start();
    let shared = CallbackBackend::Shared(connect(&server, Duration::from_secs(10)).await);

    let expected = run_scenario(&local, base).await;
    let answered = run_scenario(&shared, base).await;
    assert_eq!(answered, expected);
    let kinds: Vec<&str> = expected
        .iter()
        .map(|o| o.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "accepted",    // a, number 1, queue 1
            "pending",     // the same again
            "accepted",    // number 1 on queue 2
            "too-many",    // number 1 a third time, from b: per number
            "accepted",    // a's third
            "too-many",    // a's fourth within the hour
            "accepted",    // an hour on: a's third distinct number
            "queue-full",  // queue 1 holds 3 pending
            "too-many",    // a's fifth in the day
            "pending",     // number 1 on queue 1, created 73 minutes after it was accepted
            "accepted",    // b
            "accepted",    // b, two more numbers: 3 distinct
            "too-many",    // b's fourth distinct number
            "daily-limit", // c: the deployment's 6 of the day
        ]
    );
}

#[tokio::test]
async fn concurrent_requests_for_one_number_from_many_connections_store_one() {
    let server = RedisServer::start();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(connect(&server, Duration::from_secs(10)).await);
    }
    let now = OffsetDateTime::now_utc();
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = stores[n % stores.len()].clone();
            tokio::spawn(async move {
                let callback = request(QUEUES[0], &[4242], &format!("192.0.2.{n}"));
                store.accept(&callback, &limits(), None, now).await
            })
        })
        .collect();
    let mut stored = Vec::new();
    let mut pending_for = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(Stored::New(id)) => stored.push(id),
            Err(NotStored::Refused(Refusal::AlreadyPending { id })) => pending_for.push(id),
            other => panic!("unexpected: {:?}", other.err()),
        }
    }
    assert_eq!(stored.len(), 1, "exactly one stored");
    assert_eq!(pending_for.len(), 19);
    assert!(pending_for.iter().all(|id| *id == stored[0]));
    assert_eq!(stores[0].pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn one_idempotency_key_stores_one_request_however_many_race_with_it() {
    let server = RedisServer::start();
    let first = connect(&server, Duration::from_secs(10)).await;
    let second = connect(&server, Duration::from_secs(10)).await;
    let now = OffsetDateTime::now_utc();
    let record = || IdempotencyRecord {
        key: "3c5c7a8e-key".into(),
        body_digest: "digest-1".into(),
    };
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let store = if n % 2 == 0 { &first } else { &second }.clone();
            let record = record();
            tokio::spawn(async move {
                let callback = request(QUEUES[0], &[1000 + n], "192.0.2.1");
                let limits = CallbackLimits {
                    numbers_per_address_daily: 100,
                    per_address_hourly: 100,
                    per_address_daily: 100,
                    ..limits()
                };
                store.accept(&callback, &limits, Some(&record), now).await
            })
        })
        .collect();
    let mut new = Vec::new();
    let mut earlier = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(Stored::New(id)) => new.push(id),
            Ok(Stored::Earlier(replay)) => {
                assert_eq!(replay.body_digest, "digest-1");
                assert_eq!(replay.receipt.status, Status::Pending);
                earlier.push(replay.receipt.id);
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(new.len(), 1);
    assert!(earlier.iter().all(|id| *id == new[0]) && earlier.len() == 9);
    let looked_up = second.idempotent("3c5c7a8e-key").await.unwrap().unwrap();
    assert_eq!(looked_up.receipt.id, new[0]);
    assert!(second.idempotent("another-key").await.unwrap().is_none());
    assert_eq!(first.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_claim_is_one_instances_until_its_lease_lapses_and_only_creation_overrides_it() {
    let server = RedisServer::start();
    let lease = Duration::from_secs(2);
    let first = connect(&server, lease).await;
    let second = connect(&server, lease).await;
    let now = OffsetDateTime::now_utc();
    let id = accepted_id(
        first
            .accept(&request(QUEUES[0], &[7], "192.0.2.1"), &limits(), None, now)
            .await,
    );
    let held = claim(&first, now).await;
    match second.claim_due(now).await.unwrap() {
        Due::At(at) => assert!(at > now, "due again only when the lease ends"),
        _ => panic!("a claimed job is not due for another instance"),
    }

    // The first instance stalls past its lease: the second takes the job over.
    let later = now + lease + time::Duration::milliseconds(1);
    let taken = claim(&second, later).await;
    assert_eq!(taken.id, id);
    assert_ne!(taken.claim, held.claim);
    // The stalled instance may not reschedule or fail what it no longer holds…
    first.reschedule(&held, later).await.unwrap();
    first.mark_failed(&held, later).await.unwrap();
    assert_eq!(
        first.receipt(&id).await.unwrap().unwrap().status,
        Status::Pending
    );
    assert!(matches!(second.claim_due(later).await.unwrap(), Due::At(_)));
    // …but a creation is a fact, whoever records it.
    first.mark_created(&held, None, later).await.unwrap();
    assert_eq!(
        second.receipt(&id).await.unwrap().unwrap().status,
        Status::Created
    );
    second.reschedule(&taken, later).await.unwrap();
    assert_eq!(
        first.receipt(&id).await.unwrap().unwrap().status,
        Status::Created,
        "a settled job stays settled"
    );
    assert!(matches!(
        second.claim_due(later).await.unwrap(),
        Due::Nothing
    ));
    assert_eq!(first.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_claim_is_renewed_while_its_send_is_in_flight() {
    let server = RedisServer::start();
    let lease = Duration::from_secs(2);
    let first = connect(&server, lease).await;
    let second = connect(&server, lease).await;
    let now = OffsetDateTime::now_utc();
    accepted_id(
        first
            .accept(&request(QUEUES[0], &[8], "192.0.2.1"), &limits(), None, now)
            .await,
    );
    let held = claim(&first, now).await;
    let watcher = second.clone();
    let taken_over = first
        .holding(&held, async move {
            // Three leases long: without renewal the other instance would take it over.
            let end = tokio::time::Instant::now() + lease * 3;
            let mut taken = false;
            while tokio::time::Instant::now() < end {
                taken |= matches!(
                    watcher.claim_due(OffsetDateTime::now_utc()).await,
                    Ok(Due::Now(_))
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            taken
        })
        .await;
    assert!(!taken_over, "the held job was claimed by another instance");
    // Left unrecorded (the holder died): due again once the lease lapses.
    let after = OffsetDateTime::now_utc() + lease + time::Duration::milliseconds(1);
    assert_eq!(claim(&second, after).await.id, held.id);
}

#[tokio::test]
async fn settling_forgets_the_visitors_details_and_retries_keep_them() {
    let server = RedisServer::start();
    let store = connect(&server, Duration::from_secs(10)).await;
    let now = OffsetDateTime::now_utc();
    let id = accepted_id(
        store
            .accept(&request(QUEUES[1], &[9], "192.0.2.1"), &limits(), None, now)
            .await,
    );
    let key = format!("public-stats:callbacks:request:{id}");
    let job = claim(&store, now).await;
    let retry_at = now + time::Duration::seconds(30);
    store.reschedule(&job, retry_at).await.unwrap();
    assert_eq!(
        server.cli(&["ZSCORE", "public-stats:callbacks:due", &id]),
        unix_ms(retry_at).to_string()
    );
    let job = claim(&store, retry_at).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.numbers, vec![number(9)]);
    let conversation = Uuid::new_v4();
    store
        .mark_created(&job, Some(conversation), retry_at)
        .await
        .unwrap();
    assert_eq!(server.cli(&["HGET", &key, "numbers"]), "");
    assert_eq!(server.cli(&["HGET", &key, "user_name"]), "");
    assert_eq!(server.cli(&["HGET", &key, "attempts"]), "2");
    assert_eq!(
        server.cli(&["HGET", &key, "conversation_id"]),
        conversation.to_string()
    );
    let ttl: u64 = server.cli(&["TTL", &key]).parse().unwrap();
    assert!(ttl > 6 * 24 * 3600 && ttl <= 7 * 24 * 3600, "{ttl}");
    let pending_set = format!("public-stats:callbacks:queue:{}:pending", QUEUES[1]);
    assert_eq!(server.cli(&["SCARD", &pending_set]), "0");
    assert_eq!(server.cli(&["ZCARD", "public-stats:callbacks:due"]), "0");
}

#[tokio::test]
async fn redis_down_is_an_error_and_what_it_acknowledged_is_there_when_it_returns() {
    let mut server = RedisServer::start();
    let store = connect(&server, Duration::from_secs(10)).await;
    let now = OffsetDateTime::now_utc();
    let id = accepted_id(
        store
            .accept(
                &request(QUEUES[0], &[11], "192.0.2.1"),
                &limits(),
                None,
                now,
            )
            .await,
    );
    server.kill();
    let refused = store
        .accept(
            &request(QUEUES[0], &[12], "192.0.2.1"),
            &limits(),
            None,
            now,
        )
        .await;
    assert!(matches!(refused, Err(NotStored::Unavailable(_))));
    assert!(store.receipt(&id).await.is_err());
    assert!(store.claim_due(now).await.is_err());
    assert!(!store.cluster.is_reachable());

    server.restart();
    let mut back = None;
    for _ in 0..50 {
        if let Ok(receipt) = store.receipt(&id).await {
            back = receipt;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        back.map(|r| r.status),
        Some(Status::Pending),
        "the AOF kept it"
    );
    // Accepted later, so due later: the kept request is still first in line.
    let later = now + time::Duration::seconds(1);
    accepted_id(
        store
            .accept(
                &request(QUEUES[0], &[12], "192.0.2.1"),
                &limits(),
                None,
                later,
            )
            .await,
    );
    assert_eq!(claim(&store, later).await.id, id);
}
