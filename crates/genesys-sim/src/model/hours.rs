//! A queue closed or opened by its business hours (control API
//! `PUT /__sim/queues/{id}/follow-hours`): when it closes, its idle agents go off queue at once
//! and its busy ones as soon as they finish; when it opens, exactly those agents come back idle.
//! Agents who were on a break of their own stay on it.
//!
//! It does not decide when a queue is open (the control API evaluates the schedule group and
//! calls [`Model::set_queue_open`]). It applies to a queue a test holds still too: opening and
//! closing is itself a test's instruction.

use uuid::Uuid;

use super::{Model, RoutingStatus};

impl Model {
    /// Opens or closes `queue` as its business hours say; false if there is no such queue.
    /// Saying again what the queue already is changes nothing.
    pub fn set_queue_open(&mut self, queue: Uuid, open: bool) -> bool {
        let Some(q) = self.queues.get_mut(&queue) else {
            return false;
        };
        if q.closed_by_hours != open {
            return true;
        }
        q.closed_by_hours = !open;
        if open {
            for id in std::mem::take(&mut q.sent_off_by_hours) {
                if let Some(agent) = self.agents.get_mut(&id)
                    && agent.status == RoutingStatus::OffQueue
                {
                    agent.status = RoutingStatus::Idle;
                }
            }
            self.dispatch();
        } else {
            for id in &q.agents {
                if let Some(agent) = self.agents.get_mut(id)
                    && agent.status == RoutingStatus::Idle
                {
                    agent.status = RoutingStatus::OffQueue;
                    q.sent_off_by_hours.push(*id);
                }
            }
        }
        self.record_changes();
        true
    }

    /// Whether the business hours keep `queue` closed.
    pub fn is_closed_by_hours(&self, queue: Uuid) -> bool {
        self.queues.get(&queue).is_some_and(|q| q.closed_by_hours)
    }

    /// An agent of `queue` who just became idle goes off queue if the queue is closed, and
    /// comes back with the others when it opens.
    pub(super) fn send_off_if_closed(&mut self, queue: Uuid, agent: Uuid) {
        let Some(q) = self.queues.get_mut(&queue).filter(|q| q.closed_by_hours) else {
            return;
        };
        if let Some(freed) = self.agents.get_mut(&agent) {
            freed.status = RoutingStatus::OffQueue;
            q.sent_off_by_hours.push(agent);
        }
    }
}
