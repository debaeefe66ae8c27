//! Under which policy the main loop waits for its next event: as a
//! normal process, polling or asleep, or asleep under SCHED_RR (see
//! `Executive::policy_for`).
//!
//! A client calling the API in a loop sends its next request about one
//! answer later. The loop used to poll for it as a normal process; now,
//! where it may take SCHED_RR (`realtime_priority` `yes` or `auto`), it
//! waits for it real-time. Where the client shares the loop's CPU, its
//! request then wakes the loop at once, preempting the client, which finds
//! its answer ready when it looks (no sleep, no spin); where the client
//! runs on another CPU, the real-time poll after a request
//! (`rt_polls.rs`) takes the next one without a wakeup. Polling as a
//! normal process instead let the client, or other work, keep the CPU
//! for a time slice while the loop had a request to answer, and under
//! other work the client slept on most calls. Interleaved A/B, one node,
//! two busy loops, 3 rounds: `saClmClusterNodeGet` 71-77k a second
//! against 26-69k, publishes 60-63k against 45-50k, reads 52-60k against
//! 26-65k; quiet, node get 145-167k against 109-142k, writes 118-120k
//! against 110-113k. Three nodes under the busy loops: node get 66-86k
//! against 33-84k, writes 7.1-8.6k against 6.8-7.9k.
//!
//! Windows after packets are still polled as a normal process, and a
//! client's window too while messages flow through a ring of several
//! nodes: there the next event is usually a packet (the token, an ack),
//! which a poll takes without the wakeup of an idle CPU. Waiting
//! real-time there too cost 3-node loops a third to two thirds on a quiet
//! machine (CPG 40-43k a second against 129k, writes 7.4-7.9k against
//! 11.8-12.5k). So is a client's window in which the loop sent callbacks
//! (the main loop ends it): a client taking callbacks while it calls (a
//! CPG sender dispatching what came) runs beside the loop, not after it;
//! awaited real-time, the two took turns on one CPU. One node, two busy
//! loops: the `cpgbench` loop 104-118k a second against 58k, EVS
//! 118-132k against 60-67k, the other loops unchanged.

use crate::config::Realtime;

/// Whether a turn in a window asked for by a client's request
/// (`client_window`) waits for the client's next request real-time
/// instead of polling for it: where the loop may take SCHED_RR and no
/// packets are due (this node is alone in its ring, or the ring carries
/// no messages).
pub fn awaits_client_real_time(realtime: Realtime, client_window: bool, alone: bool, ring_busy: bool) -> bool {
    client_window && realtime != Realtime::Never && (alone || !ring_busy)
}

/// Whether the loop waits under SCHED_RR this turn: never while it polls
/// (a real-time process that polled would keep normal ones, its clients
/// too, off its CPU); otherwise always (`yes`), or while a client is
/// awaited (`client_wait`) or other work holds the CPU (`auto`). `None`:
/// the policy is never switched (`no`).
pub fn waits_real_time(realtime: Realtime, polling: bool, client_wait: bool, held_by_other_work: bool) -> Option<bool> {
    match realtime {
        Realtime::Never => None,
        Realtime::Always => Some(!polling),
        Realtime::WhileContested => Some(!polling && (client_wait || held_by_other_work)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Realtime; 3] = [Realtime::Never, Realtime::Always, Realtime::WhileContested];

    #[test]
    fn a_client_is_awaited_real_time_unless_packets_are_due_or_the_loop_may_not() {
        for rt in [Realtime::Always, Realtime::WhileContested] {
            assert!(awaits_client_real_time(rt, true, true, false), "alone, idle");
            assert!(awaits_client_real_time(rt, true, true, true), "alone: a busy ring of one sends nothing");
            assert!(awaits_client_real_time(rt, true, false, false), "an idle ring of several");
            assert!(!awaits_client_real_time(rt, true, false, true), "messages flow: packets are due");
            assert!(!awaits_client_real_time(rt, false, true, false), "a window after packets");
        }
        assert!(!awaits_client_real_time(Realtime::Never, true, true, false), "no SCHED_RR to take");
    }

    #[test]
    fn auto_waits_real_time_for_a_client_or_while_other_work_holds_the_cpu() {
        let auto = Realtime::WhileContested;
        assert_eq!(waits_real_time(auto, false, false, false), Some(false), "a quiet machine, no client");
        assert_eq!(waits_real_time(auto, false, true, false), Some(true), "a client is awaited");
        assert_eq!(waits_real_time(auto, false, false, true), Some(true), "other work holds the CPU");
        assert_eq!(waits_real_time(Realtime::Always, false, false, false), Some(true));
        for rt in ALL {
            // Polling is never real-time; `no` never switches.
            assert_ne!(waits_real_time(rt, true, true, true), Some(true), "{rt:?}");
        }
        assert_eq!(waits_real_time(Realtime::Never, false, true, true), None);
    }
}
