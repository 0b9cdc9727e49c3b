//! Unit tests of the contact-centre model's rules (no HTTP here).

use std::time::Duration;

use super::*;
use crate::config::{DEMO_SALES_QUEUE, SimConfig};

fn still_model() -> Model {
    Model::new(&SimConfig::for_tests())
}

fn spec(idle: u32, busy: u32, off: u32, waiting: &[(MediaType, u32)]) -> QueueStateSpec {
    QueueStateSpec {
        idle,
        busy,
        off_queue: off,
        waiting: waiting.iter().copied().collect(),
        interacting: BTreeMap::new(),
    }
}

#[test]
fn set_state_is_reported_exactly() {
    let mut model = still_model();
    assert!(model.set_queue_state(DEMO_SALES_QUEUE, spec(2, 1, 3, &[(MediaType::Voice, 4)])));
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.member_users, 6);
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 2);
    assert_eq!(snap.routing_statuses[&RoutingStatus::Interacting], 1);
    assert_eq!(snap.routing_statuses[&RoutingStatus::OffQueue], 3);
    assert_eq!(snap.media[&MediaType::Voice].waiting, 4);
    assert_eq!(snap.on_queue_users(), 3);
    // Held still: time passing does not dispatch the waiting calls to the idle agents.
    model.advance(Duration::from_secs(10));
    assert_eq!(
        model.queue_snapshot(DEMO_SALES_QUEUE).unwrap().media[&MediaType::Voice].waiting,
        4
    );
}

#[test]
fn resumed_queue_dispatches_waiting_work_to_idle_agents() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(2, 0, 0, &[(MediaType::Voice, 3)]));
    model.resume_queue(DEMO_SALES_QUEUE);
    model.advance(Duration::from_millis(100));
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.media[&MediaType::Voice].waiting, 1);
    assert_eq!(snap.media[&MediaType::Voice].interacting, 2);
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 0);
    let assigned = model
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, ModelEvent::Assigned { .. }))
        .count();
    assert_eq!(assigned, 2);
}

#[test]
fn ewt_rises_while_nobody_is_on_queue() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(0, 0, 2, &[(MediaType::Voice, 1)]));
    let before = model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice));
    model.advance(Duration::from_secs(5));
    let after = model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice));
    assert_eq!(before, Some(0));
    assert_eq!(after, Some(5));
}

#[test]
fn ewt_is_unknown_with_nobody_on_queue_and_nothing_waiting() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(0, 0, 2, &[]));
    assert_eq!(model.estimated_wait_seconds(DEMO_SALES_QUEUE, None), None);
}

#[test]
fn ewt_is_zero_with_an_idle_agent_and_grows_with_work_ahead() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(1, 1, 0, &[]));
    assert_eq!(
        model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice)),
        Some(0)
    );
    model.set_queue_state(DEMO_SALES_QUEUE, spec(0, 2, 0, &[(MediaType::Voice, 3)]));
    // 4 calls of 240 s each (the demo's voice handle time) shared by 2 agents.
    assert_eq!(
        model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice)),
        Some(480)
    );
}

#[test]
fn callbacks_wait_in_their_queue_then_are_taken() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(1, 0, 0, &[]));
    let spec = CallbackSpec {
        numbers: vec!["+13175551234".into()],
        user_name: None,
        scheduled_time: None,
        attributes: Default::default(),
    };
    let created = model.create_callback(DEMO_SALES_QUEUE, spec).unwrap();
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.media[&MediaType::Callback].waiting, 1);
    assert_eq!(
        model.callback(created.conversation_id).unwrap().state,
        InteractionState::Waiting
    );
    model.resume_queue(DEMO_SALES_QUEUE);
    model.advance(Duration::from_millis(100));
    let record = model.callback(created.conversation_id).unwrap();
    assert!(matches!(record.state, InteractionState::Interacting { .. }));
    assert!(record.agent.is_some());
    assert_eq!(
        model.queue_snapshot(DEMO_SALES_QUEUE).unwrap().media[&MediaType::Callback].interacting,
        1
    );
}

#[test]
fn traffic_makes_the_org_move_and_is_reproducible() {
    let run = || {
        let mut config = SimConfig::for_tests();
        config.traffic = true;
        config.time_scale = 60.0;
        let mut model = Model::new(&config);
        let mut changes = 0;
        for _ in 0..600 {
            model.advance(Duration::from_millis(100));
            changes += model
                .take_events()
                .iter()
                .filter(|e| matches!(e, ModelEvent::QueueChanged { .. }))
                .count();
        }
        (changes, model.queue_snapshot(DEMO_SALES_QUEUE))
    };
    let (changes, first) = run();
    let (_, second) = run();
    assert!(
        changes > 10,
        "an hour of simulated traffic changed queues only {changes} times"
    );
    assert_eq!(first.map(|s| s.media), second.map(|s| s.media));
}

#[test]
fn message_conversations_last_until_ended() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(1, 0, 0, &[]));
    model.resume_queue(DEMO_SALES_QUEUE);
    let id = model.start_message_conversation(DEMO_SALES_QUEUE).unwrap();
    assert!(model.agent_of(id).is_some());
    model.advance(Duration::from_secs(100_000));
    assert!(
        model.agent_of(id).is_some(),
        "the model ended a guest's conversation on its own"
    );
    assert!(model.end_conversation(id));
    assert!(model.agent_of(id).is_none());
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 1);
}

#[test]
fn ewt_rises_while_every_agent_is_busy() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(0, 2, 0, &[(MediaType::Voice, 3)]));
    // 4 calls of 240 s shared by 2 agents.
    assert_eq!(
        model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice)),
        Some(480)
    );
    model.advance(Duration::from_secs(600));
    assert_eq!(
        model.estimated_wait_seconds(DEMO_SALES_QUEUE, Some(MediaType::Voice)),
        Some(600)
    );
}

#[test]
fn a_seeded_run_is_reproducible_to_the_id() {
    let ids = || {
        let mut model = still_model();
        model.set_queue_state(DEMO_SALES_QUEUE, spec(1, 0, 0, &[]));
        let spec = CallbackSpec {
            numbers: vec!["+13175551234".into()],
            user_name: None,
            scheduled_time: None,
            attributes: Default::default(),
        };
        let created = model.create_callback(DEMO_SALES_QUEUE, spec).unwrap();
        (created.conversation_id, created.acd_id, created.external_id)
    };
    let first = ids();
    assert_eq!(first, ids());
    assert_eq!(first.0.get_version_num(), 4, "ids look like Genesys's (v4)");
}

#[test]
fn absurd_state_requests_are_capped_not_overflowed() {
    let mut model = still_model();
    assert!(model.set_queue_state(DEMO_SALES_QUEUE, spec(u32::MAX, u32::MAX, u32::MAX, &[])));
    let snapshot = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snapshot.member_users, 30_000);
}

#[test]
fn closing_hours_send_idle_agents_off_and_opening_brings_back_only_them() {
    let mut model = still_model();
    model.set_queue_state(DEMO_SALES_QUEUE, spec(2, 1, 1, &[]));
    model.take_events();
    assert!(model.set_queue_open(DEMO_SALES_QUEUE, false));
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 0);
    assert_eq!(snap.routing_statuses[&RoutingStatus::OffQueue], 3);
    assert_eq!(snap.routing_statuses[&RoutingStatus::Interacting], 1);
    assert!(
        model
            .take_events()
            .iter()
            .any(|e| matches!(e, ModelEvent::QueueChanged { .. })),
        "the change is reported like any other"
    );
    assert!(model.set_queue_open(DEMO_SALES_QUEUE, true));
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 2);
    assert_eq!(
        snap.routing_statuses[&RoutingStatus::OffQueue],
        1,
        "the agent already on a break stays on it"
    );
    assert!(!model.set_queue_open(Uuid::nil(), true));
}

#[test]
fn a_busy_agent_goes_off_queue_when_done_while_closed() {
    let mut model = still_model();
    model.resume_queue(DEMO_SALES_QUEUE);
    model.set_queue_open(DEMO_SALES_QUEUE, false);
    let busy = model
        .enqueue(DEMO_SALES_QUEUE, MediaType::Voice, Origin::Traffic)
        .unwrap();
    // Nobody is on queue to take it while closed.
    model.advance(Duration::from_millis(100));
    assert!(
        model
            .queue_interactions(DEMO_SALES_QUEUE)
            .iter()
            .all(|i| i.state == InteractionState::Waiting)
    );
    model.set_queue_open(DEMO_SALES_QUEUE, true);
    let taken = model.queue_interactions(DEMO_SALES_QUEUE)[0].state.clone();
    assert!(
        matches!(taken, InteractionState::Interacting { .. }),
        "{busy}"
    );
    model.set_queue_open(DEMO_SALES_QUEUE, false);
    let index = 0;
    model.finish(DEMO_SALES_QUEUE, index);
    let snap = model.queue_snapshot(DEMO_SALES_QUEUE).unwrap();
    assert_eq!(snap.routing_statuses[&RoutingStatus::Idle], 0);
    assert_eq!(snap.on_queue_users(), 0);
}
