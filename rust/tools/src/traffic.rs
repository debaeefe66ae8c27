//! CPG traffic that runs through membership changes (the scale test's
//! failover and rejoin): one member of a group on every node records what
//! it is delivered, some of them also multicast numbered messages (agreed
//! order, one request at a time, as a program calling `cpg_mcast_joined`
//! in a loop does), and [`check`] then says whether every surviving
//! receiver got everything in one order.
//!
//! A message is named by its sender (node, pid) and its sequence number;
//! the payload is that number (8 bytes, little-endian). Every member of one
//! process has the same pid, so a process has at most one sender per node
//! (a member that joins again on a restarted node only receives).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ais_ipc::cpg::{self, Callback};
use ais_ipc::frame::read_message;
use ais_ipc::handshake::Role;
use ais_ipc::{error, service};

use crate::bench::{ask, hello};

/// The group every traffic member joins.
pub const GROUP: &[u8] = b"scale-traffic";
/// `CPG_TYPE_AGREED`.
const AGREED: u32 = 1;

/// A sender: the node and pid the executive reports for it.
pub type Sender = (u32, u32);
/// A message: its sender and sequence number.
pub type MsgId = (Sender, u64);

/// What one member was delivered, in order.
#[derive(Default, Debug, Clone)]
pub struct Received {
    pub msgs: Vec<MsgId>,
    pub confchgs: u64,
    /// The dispatch channel ended (its executive stopped).
    pub ended: bool,
}

/// One member of [`GROUP`]: its request channel (for multicasting) and
/// its sender identity; deliveries go to the thread [`Member::join`] starts.
pub struct Member {
    request: UnixStream,
    pub me: Sender,
    next_seq: u64,
}

/// The answer to one multicast.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Accepted(u64),
    TryAgain,
}

impl Member {
    /// Connects, joins [`GROUP`] and starts a thread that records the
    /// deliveries into the returned [`Received`].
    pub fn join(socket: &Path) -> io::Result<(Member, Arc<Mutex<Received>>)> {
        let (request, reply) = hello(socket, service::CPG, Role::Request, 0)?;
        let reply = reply.ok_or_else(|| io::Error::other("no hello reply"))?;
        if reply.error != error::OK {
            return Err(io::Error::other(format!("hello: SaAisErrorT {}", reply.error)));
        }
        let (dispatch, _) = hello(socket, service::CPG, Role::Dispatch, reply.token)?;
        let received = Arc::new(Mutex::new(Received::default()));
        let rx = Arc::clone(&received);
        std::thread::spawn(move || record(dispatch, rx));
        let mut m = Member { request, me: (0, std::process::id()), next_seq: 0 };
        let local = m.call(cpg::LOCAL_GET, &[])?;
        let node = cpg::decode_u32(&local).map_err(|e| io::Error::other(e.to_string()))?;
        m.call(cpg::JOIN, &cpg::Request::Join { name: GROUP }.encode())?;
        m.me.0 = node;
        Ok((m, received))
    }

    fn call(&mut self, id: u32, body: &[u8]) -> io::Result<Vec<u8>> {
        match ask(&mut self.request, service::CPG, id, body)? {
            (error::OK, rest) => Ok(rest),
            (code, _) => Err(io::Error::other(format!("request {id}: SaAisErrorT {code}"))),
        }
    }

    /// Multicasts the next message and waits for the answer.
    pub fn send(&mut self) -> io::Result<Sent> {
        let seq = self.next_seq;
        let body = cpg::encode_mcast(AGREED, &[&seq.to_le_bytes()]);
        match ask(&mut self.request, service::CPG, cpg::MCAST, &body)? {
            (error::OK, _) => {
                self.next_seq += 1;
                Ok(Sent::Accepted(seq))
            }
            (error::TRY_AGAIN, _) => Ok(Sent::TryAgain),
            (code, _) => Err(io::Error::other(format!("mcast: SaAisErrorT {code}"))),
        }
    }

    /// How many of its messages the executive accepted.
    pub fn accepted(&self) -> u64 {
        self.next_seq
    }
}

/// Records deliveries and configuration changes until the channel ends.
fn record(mut dispatch: UnixStream, rx: Arc<Mutex<Received>>) {
    while let Ok((header, body)) = read_message(&mut dispatch) {
        let lock = || rx.lock().unwrap_or_else(|e| e.into_inner());
        match Callback::decode(header.id, &body) {
            Ok(Callback::Deliver { node, pid, data, .. }) if data.len() == 8 => {
                let seq = u64::from_le_bytes(data.try_into().unwrap_or([0; 8]));
                lock().msgs.push(((node, pid), seq));
            }
            Ok(Callback::Confchg { .. }) => lock().confchgs += 1,
            _ => {}
        }
    }
    rx.lock().unwrap_or_else(|e| e.into_inner()).ended = true;
}

/// One receiver's record, and how it lived.
pub struct Log<'a> {
    pub name: String,
    pub msgs: &'a [MsgId],
    /// Member from the start to the end of the traffic.
    pub throughout: bool,
    /// Ended with its executive killed (may lack the end, may hold
    /// messages nobody else got).
    pub crashed: bool,
}

/// What the senders did: how many messages each had accepted, and whether
/// it lived to the end (a killed sender's last accepted ones may be lost).
pub struct SenderEnd {
    pub accepted: u64,
    pub survived: bool,
}

/// Checks the records of one traffic run (virtual synchrony as the API
/// promises it); an empty list means all is well:
/// - every receiver got each sender's messages once, in sending order,
///   without a gap;
/// - one order: the messages two receivers share come in the same order
///   to both (checked against the longest record of a receiver that
///   lived throughout, which must hold every message a surviving receiver got);
/// - complete: a receiver that lived throughout got every accepted
///   message of every sender that survived; one that joined later got an
///   unbroken tail of them up to the last;
/// - a killed sender's messages reached the surviving receivers up to the
///   same point.
pub fn check(logs: &[Log<'_>], senders: &HashMap<Sender, SenderEnd>) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(reference) = logs.iter().filter(|l| l.throughout).max_by_key(|l| l.msgs.len()) else {
        return vec!["no receiver lived throughout".into()];
    };
    let position: HashMap<MsgId, usize> = reference.msgs.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    if position.len() != reference.msgs.len() {
        errors.push(format!("{}: a message delivered twice", reference.name));
    }
    let mut survivors_last: BTreeMap<Sender, Vec<(String, Option<u64>)>> = BTreeMap::new();
    for log in logs {
        let mut last: HashMap<Sender, u64> = HashMap::new();
        let mut first: HashMap<Sender, u64> = HashMap::new();
        let mut prev_pos: Option<usize> = None;
        for &(sender, seq) in log.msgs {
            match last.get(&sender) {
                Some(&l) if seq != l + 1 => {
                    errors.push(format!("{}: from {sender:?} {seq} after {l}", log.name));
                    break;
                }
                None => {
                    first.insert(sender, seq);
                }
                _ => {}
            }
            last.insert(sender, seq);
            match position.get(&(sender, seq)) {
                Some(&p) => {
                    if prev_pos.is_some_and(|q| p <= q) {
                        errors.push(format!(
                            "{}: ({sender:?}, {seq}) in another order than at {}",
                            log.name, reference.name
                        ));
                        break;
                    }
                    prev_pos = Some(p);
                }
                None if !log.crashed => {
                    errors.push(format!("{}: ({sender:?}, {seq}) not delivered at {}", log.name, reference.name));
                    break;
                }
                None => {}
            }
        }
        if log.crashed {
            continue;
        }
        for (sender, end) in senders {
            let got_first = first.get(sender).copied();
            let got_last = last.get(sender).copied();
            if !end.survived {
                if log.throughout {
                    survivors_last.entry(*sender).or_default().push((log.name.clone(), got_last));
                    if got_first.is_some_and(|f| f != 0) {
                        errors.push(format!("{}: from killed {sender:?} first {got_first:?}, not 0", log.name));
                    }
                }
                continue;
            }
            let want_last = end.accepted.checked_sub(1);
            if got_last != want_last {
                errors.push(format!("{}: from {sender:?} last {got_last:?}, accepted up to {want_last:?}", log.name));
            }
            if log.throughout && end.accepted > 0 && got_first != Some(0) {
                errors.push(format!("{}: from {sender:?} first {got_first:?}, not 0", log.name));
            }
        }
    }
    for (sender, ends) in survivors_last {
        let mut points: Vec<Option<u64>> = ends.iter().map(|(_, l)| *l).collect();
        points.sort();
        points.dedup();
        if points.len() > 1 {
            errors.push(format!("killed {sender:?}: surviving receivers got it up to different points: {ends:?}"));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Sender = (1, 10);
    const B: Sender = (2, 20);
    const K: Sender = (3, 30);

    fn msgs(list: &[(Sender, u64)]) -> Vec<MsgId> {
        list.to_vec()
    }

    fn ends(k_accepted: u64) -> HashMap<Sender, SenderEnd> {
        HashMap::from([
            (A, SenderEnd { accepted: 2, survived: true }),
            (B, SenderEnd { accepted: 2, survived: true }),
            (K, SenderEnd { accepted: k_accepted, survived: false }),
        ])
    }

    fn log<'a>(name: &str, msgs: &'a [MsgId], throughout: bool, crashed: bool) -> Log<'a> {
        Log { name: name.into(), msgs, throughout, crashed }
    }

    #[test]
    fn a_run_through_a_kill_and_a_rejoin_passes() {
        let full = msgs(&[(A, 0), (K, 0), (B, 0), (K, 1), (A, 1), (B, 1)]);
        // The killed node got its own last message (never sent on); the
        // rejoined one got a tail.
        let killed = msgs(&[(A, 0), (K, 0), (B, 0), (K, 1), (K, 2)]);
        let rejoined = msgs(&[(A, 1), (B, 1)]);
        let logs = [
            log("n1", &full, true, false),
            log("n2", &full, true, false),
            log("n3", &killed, false, true),
            log("n3'", &rejoined, false, false),
        ];
        assert_eq!(check(&logs, &ends(3)), Vec::<String>::new());
    }

    #[test]
    fn another_order_is_caught() {
        let one = msgs(&[(A, 0), (B, 0), (A, 1), (B, 1)]);
        let other = msgs(&[(B, 0), (A, 0), (A, 1), (B, 1)]);
        let logs = [log("n1", &one, true, false), log("n2", &other, true, false)];
        let mut e = ends(0);
        e.remove(&K);
        let errors = check(&logs, &e);
        assert!(errors.iter().any(|x| x.contains("another order")), "{errors:?}");
    }

    #[test]
    fn a_lost_message_is_caught() {
        let full = msgs(&[(A, 0), (B, 0), (A, 1), (B, 1)]);
        let gap = msgs(&[(A, 0), (B, 0), (B, 1)]);
        let short = msgs(&[(A, 0), (B, 0), (A, 1)]);
        let mut e = ends(0);
        e.remove(&K);
        let errors = check(&[log("n1", &full, true, false), log("n2", &short, true, false)], &e);
        assert!(errors.iter().any(|x| x.contains("last Some(0), accepted up to Some(1)")), "{errors:?}");
        // Missing in the middle of the longest record: a gap at n2 (and n2's
        // record is not a subsequence of a complete one).
        let errors = check(&[log("n1", &full, true, false), log("n2", &gap, true, false)], &e);
        assert!(errors.iter().any(|x| x.contains("last Some(0)")), "{errors:?}");
    }

    #[test]
    fn a_killed_sender_cut_at_different_points_is_caught() {
        let n1 = msgs(&[(A, 0), (K, 0), (K, 1), (B, 0), (A, 1), (B, 1)]);
        let n2 = msgs(&[(A, 0), (K, 0), (B, 0), (A, 1), (B, 1)]);
        let errors = check(&[log("n1", &n1, true, false), log("n2", &n2, true, false)], &ends(2));
        assert!(errors.iter().any(|x| x.contains("different points")), "{errors:?}");
    }

    #[test]
    fn a_duplicate_or_a_message_nobody_else_got_is_caught() {
        let full = msgs(&[(A, 0), (B, 0), (A, 1), (B, 1)]);
        let dup = msgs(&[(A, 0), (A, 0), (B, 0), (A, 1), (B, 1)]);
        let mut e = ends(0);
        e.remove(&K);
        let errors = check(&[log("n1", &full, true, false), log("n2", &dup, true, false)], &e);
        assert!(errors.iter().any(|x| x.contains("0 after 0")), "{errors:?}");
        let extra = msgs(&[(A, 0), (B, 0), (A, 1), (B, 1), (A, 2)]);
        let errors = check(&[log("n1", &full, true, false), log("n2", &extra, false, false)], &e);
        assert!(errors.iter().any(|x| x.contains("not delivered at n1")), "{errors:?}");
    }

    #[test]
    fn a_rejoined_receiver_must_reach_the_end() {
        let full = msgs(&[(A, 0), (B, 0), (A, 1), (B, 1)]);
        let early_stop = msgs(&[(A, 1)]);
        let mut e = ends(0);
        e.remove(&K);
        let errors = check(&[log("n1", &full, true, false), log("n3'", &early_stop, false, false)], &e);
        assert!(errors.iter().any(|x| x.contains("n3'") && x.contains("from (2, 20) last None")), "{errors:?}");
    }
}
