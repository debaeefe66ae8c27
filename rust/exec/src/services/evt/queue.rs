//! One subscriber connection's events waiting to be pulled: four queues
//! by priority, bounded by `event { delivery_queue_size }`.
//!
//! When an event arrives to a full queue it is dropped, and the special
//! "lost event" (`SA_EVT_EVENTID_LOST`, pattern `SA_EVT_LOST_EVENT`) is
//! queued once at the highest priority, so the subscriber learns that it
//! missed events. From then on events are dropped until the subscriber
//! has drained the queue to `delivery_queue_resume`. So the memory held
//! for one subscriber is at most `size + 1` events.

use std::collections::VecDeque;
use std::sync::Arc;

use ais_ipc::evt::{Event, LOWEST_PRIORITY};

/// One event for one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub open: u64,
    pub sub: u32,
    pub event: Arc<Event>,
}

#[derive(Debug)]
pub struct DeliveryQueue {
    by_priority: [VecDeque<Delivery>; LOWEST_PRIORITY as usize + 1],
    len: usize,
    size: usize,
    resume: usize,
    /// Dropping events until drained to `resume`.
    dropping: bool,
    /// An `EVENT_READY` is on its way and not answered by a pull yet.
    pub notified: bool,
    /// Events dropped (for status and tests).
    pub dropped: u64,
}

impl DeliveryQueue {
    pub fn new(size: u32, resume: u32) -> DeliveryQueue {
        DeliveryQueue {
            by_priority: Default::default(),
            len: 0,
            size: (size as usize).max(1),
            resume: resume as usize,
            dropping: false,
            notified: false,
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `d`, or drops it (queuing the lost event if this is the
    /// first drop since the queue last drained). `now` stamps the lost event.
    pub fn push(&mut self, d: Delivery, now: i64) {
        if !self.dropping && self.len >= self.size {
            self.dropping = true;
            let lost = Delivery { open: d.open, sub: d.sub, event: Arc::new(Event::lost(now)) };
            self.by_priority[0].push_front(lost);
            self.len += 1;
        }
        if self.dropping {
            self.dropped += 1;
            return;
        }
        let p = usize::from(d.event.priority.min(LOWEST_PRIORITY));
        self.by_priority[p].push_back(d);
        self.len += 1;
    }

    /// The next event: highest priority first, each priority in order.
    pub fn pop(&mut self) -> Option<Delivery> {
        let d = self.by_priority.iter_mut().find_map(|q| q.pop_front())?;
        self.len -= 1;
        if self.dropping && self.len <= self.resume {
            self.dropping = false;
        }
        Some(d)
    }

    /// Drops waiting events that `keep` refuses (unsubscribe, close).
    pub fn retain(&mut self, keep: impl Fn(&Delivery) -> bool) {
        for q in &mut self.by_priority {
            q.retain(&keep);
        }
        self.len = self.by_priority.iter().map(|q| q.len()).sum();
        if self.dropping && self.len <= self.resume {
            self.dropping = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::evt::EVENTID_LOST;

    fn d(id: u64, priority: u8) -> Delivery {
        Delivery { open: 1, sub: 7, event: Arc::new(Event { id, priority, ..Event::default() }) }
    }

    #[test]
    fn priorities_first_then_order() {
        let mut q = DeliveryQueue::new(10, 5);
        q.push(d(10, 3), 0);
        q.push(d(11, 1), 0);
        q.push(d(12, 3), 0);
        q.push(d(13, 0), 0);
        let ids: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|d| d.event.id).collect();
        assert_eq!(ids, vec![13, 11, 10, 12]);
    }

    #[test]
    fn overflow_queues_one_lost_event_and_resumes_after_draining() {
        let mut q = DeliveryQueue::new(4, 2);
        for i in 0..10 {
            q.push(d(100 + i, 2), 55);
        }
        assert_eq!(q.len(), 5, "4 events + the lost event");
        assert_eq!(q.dropped, 6);
        let first = q.pop().unwrap();
        assert_eq!(first.event.id, EVENTID_LOST);
        assert_eq!(first.event.publish_time, 55);
        assert_eq!(first.sub, 7);
        q.push(d(200, 2), 0);
        assert_eq!(q.dropped, 7, "still above resume: dropped");
        q.pop();
        q.pop();
        assert_eq!(q.len(), 2);
        q.push(d(201, 2), 0);
        assert_eq!(q.len(), 3, "resumed");
        let ids: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|d| d.event.id).collect();
        assert_eq!(ids, vec![102, 103, 201]);
    }

    #[test]
    fn retain_drops_and_recounts() {
        let mut q = DeliveryQueue::new(10, 5);
        q.push(d(1, 0), 0);
        q.push(Delivery { sub: 8, ..d(2, 1) }, 0);
        q.retain(|d| d.sub != 7);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop().unwrap().event.id, 2);
        assert!(q.is_empty());
    }
}
