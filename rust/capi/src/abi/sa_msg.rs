//! Message queues: `saMsg.h` (AIS MSG B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saMsg.h` as the classic openais header
//! defined them (not the later B.03.01 additions: capacity thresholds,
//! limits, `saMsgMessageDataFree`). cbindgen turns this file, and only this
//! file, into `include/corosync/saMsg.h` (config
//! `rust/capi/cbindgen/saMsg.toml`).
//!
//! The per-priority arrays are `SA_MSG_MESSAGE_LOWEST_PRIORITY + 1` long in
//! the classic header; cbindgen prints an array length only as a name or a
//! number, so the header says `[4]` (same type, same layout); a
//! compile-time check ties the 4 to the constant ([`PRIORITY_AREAS`]).
//!
//! The 22 `saMsg*` functions follow the types: each reads its arguments
//! into Rust values (`abi::convert`), calls `crate::msg` (which sees no C type), and writes
//! the results back. The header's quirks are kept where they are ABI: the
//! first parameter of `saMsgQueueClose` is a queue handle named
//! `msgHandle`; `saMsgQueueStatusGet` and `saMsgQueueUnlink` take the
//! message-service handle although it is typed `SaMsgQueueHandleT` (both
//! are `SaUint64T`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

// The exported functions are called from C; their pointer rules are the
// spec's, checked at the boundary, and documented in the header.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_uint, c_void};

use super::sa_ais::*;

pub type SaMsgHandleT = SaUint64T;

pub type SaMsgQueueHandleT = SaUint64T;

pub type SaMsgSenderIdT = SaUint64T;

// Ack flags: bits of `SaMsgAckFlagsT`.
pub const SA_MSG_MESSAGE_DELIVERED_ACK: i32 = 0x1;

pub type SaMsgAckFlagsT = SaUint32T;

// Queue creation flags: bits of `SaMsgQueueCreationFlagsT`.
pub const SA_MSG_QUEUE_PERSISTENT: i32 = 0x1;

pub type SaMsgQueueCreationFlagsT = SaUint32T;

// Message priorities: 0 is the highest, 3 the lowest; a queue has one
// area per priority.
pub const SA_MSG_MESSAGE_HIGHEST_PRIORITY: i32 = 0;
pub const SA_MSG_MESSAGE_LOWEST_PRIORITY: i32 = 3;

/// The number of priority areas of a queue, one more than
/// `SA_MSG_MESSAGE_LOWEST_PRIORITY`: the length of the per-priority arrays.
/// Not in the C header.
/// cbindgen:ignore
pub const PRIORITY_AREAS: usize = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaMsgQueueCreationAttributesT {
    pub creationFlags: SaMsgQueueCreationFlagsT,
    /// The size of each priority area, highest priority first
    /// (`SA_MSG_MESSAGE_LOWEST_PRIORITY + 1` entries).
    pub size: [SaSizeT; 4],
    pub retentionTime: SaTimeT,
}

/// `SaMsgQueueGroupPolicyT`: an integer; see [`enums::SaMsgQueueGroupPolicyT`].
/// cbindgen:ignore
pub type SaMsgQueueGroupPolicyT = c_uint;

// Queue open flags: bits of `SaMsgQueueOpenFlagsT`.
pub const SA_MSG_QUEUE_CREATE: i32 = 0x1;
pub const SA_MSG_QUEUE_RECEIVE_CALLBACK: i32 = 0x2;
pub const SA_MSG_QUEUE_EMPTY: i32 = 0x4;

pub type SaMsgQueueOpenFlagsT = SaUint32T;

/// The use of one priority area of a queue.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaMsgQueueUsageT {
    pub queueSize: SaSizeT,
    pub queueUsed: SaSizeT,
    pub numberOfMessages: SaUint32T,
}

/// What `saMsgQueueStatusGet` reports.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaMsgQueueStatusT {
    pub creationFlags: SaMsgQueueCreationFlagsT,
    pub retentionTime: SaTimeT,
    pub closeTime: SaTimeT,
    /// One entry per priority area, highest priority first
    /// (`SA_MSG_MESSAGE_LOWEST_PRIORITY + 1` entries).
    pub saMsgQueueUsage: [SaMsgQueueUsageT; 4],
}

// The `[_; 4]` arrays above have `PRIORITY_AREAS` entries, which is
// `SA_MSG_MESSAGE_LOWEST_PRIORITY + 1`.
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(PRIORITY_AREAS == SA_MSG_MESSAGE_LOWEST_PRIORITY as usize + 1);
    assert!(
        offset_of!(SaMsgQueueCreationAttributesT, retentionTime) - offset_of!(SaMsgQueueCreationAttributesT, size)
            == size_of::<[SaSizeT; PRIORITY_AREAS]>()
    );
    assert!(
        size_of::<SaMsgQueueStatusT>() - offset_of!(SaMsgQueueStatusT, saMsgQueueUsage)
            == size_of::<[SaMsgQueueUsageT; PRIORITY_AREAS]>()
    );
};

/// `SaMsgQueueGroupChangesT`: an integer; see [`enums::SaMsgQueueGroupChangesT`].
/// cbindgen:ignore
pub type SaMsgQueueGroupChangesT = c_uint;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaMsgQueueGroupMemberT {
    pub queueName: SaNameT,
}

/// A member of a queue group and what happened to it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaMsgQueueGroupNotificationT {
    pub member: SaMsgQueueGroupMemberT,
    pub change: SaMsgQueueGroupChangesT,
}

/// `numberOfItems` entries at `notification`, and the group's policy.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaMsgQueueGroupNotificationBufferT {
    pub numberOfItems: SaUint32T,
    pub notification: *mut SaMsgQueueGroupNotificationT,
    pub queueGroupPolicy: SaMsgQueueGroupPolicyT,
}

/// A message: `size` bytes at `data`, of the sender's `type` and `version`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaMsgMessageT {
    pub r#type: SaUint32T,
    pub version: SaUint32T,
    pub size: SaSizeT,
    pub senderName: *mut SaNameT,
    pub data: *mut c_void,
    pub priority: SaUint8T,
}

pub type SaMsgQueueOpenCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, queueHandle: SaMsgQueueHandleT, error: SaAisErrorT)>;

pub type SaMsgQueueGroupTrackCallbackT = Option<
    unsafe extern "C" fn(
        queueGroupName: *const SaNameT,
        notificationBuffer: *const SaMsgQueueGroupNotificationBufferT,
        numberOfMembers: SaUint32T,
        error: SaAisErrorT,
    ),
>;

pub type SaMsgMessageDeliveredCallbackT = Option<unsafe extern "C" fn(invocation: SaInvocationT, error: SaAisErrorT)>;

pub type SaMsgMessageReceivedCallbackT = Option<unsafe extern "C" fn(queueHandle: SaMsgQueueHandleT)>;

/// The callbacks an application hands to `saMsgInitialize`; any may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaMsgCallbacksT {
    pub saMsgQueueOpenCallback: SaMsgQueueOpenCallbackT,
    pub saMsgQueueGroupTrackCallback: SaMsgQueueGroupTrackCallbackT,
    pub saMsgMessageDeliveredCallback: SaMsgMessageDeliveredCallbackT,
    pub saMsgMessageReceivedCallback: SaMsgMessageReceivedCallbackT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaMsgQueueGroupPolicyT {
        SA_MSG_QUEUE_GROUP_ROUND_ROBIN = 1,
        SA_MSG_QUEUE_GROUP_LOCAL_ROUND_ROBIN = 2,
        SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE = 3,
        SA_MSG_QUEUE_GROUP_BROADCAST = 4,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaMsgQueueGroupChangesT {
        SA_MSG_QUEUE_GROUP_NO_CHANGE = 1,
        SA_MSG_QUEUE_GROUP_ADDED = 2,
        SA_MSG_QUEUE_GROUP_REMOVED = 3,
        SA_MSG_QUEUE_GROUP_STATE_CHANGED = 4,
    }
}

crate::c_enum!(SaMsgQueueGroupPolicyT {
    SA_MSG_QUEUE_GROUP_ROUND_ROBIN,
    SA_MSG_QUEUE_GROUP_LOCAL_ROUND_ROBIN,
    SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE,
    SA_MSG_QUEUE_GROUP_BROADCAST,
});
crate::c_enum!(SaMsgQueueGroupChangesT {
    SA_MSG_QUEUE_GROUP_NO_CHANGE,
    SA_MSG_QUEUE_GROUP_ADDED,
    SA_MSG_QUEUE_GROUP_REMOVED,
    SA_MSG_QUEUE_GROUP_STATE_CHANGED,
});

// ---------------------------------------------------------------------------
// The functions: arguments read into Rust values, the work done by
// `crate::msg`, its results written back.

use ais_ipc::msg::{Attrs, Got, Members, Message};

use super::convert::{
    CAlloc, Out, callback_code, dispatch_flags, name_bytes, name_from_bytes, opt_mut, opt_out, opt_ref, out, out_slice,
    try_mut, try_ref, try_slice, with_version, write_slice,
};
use crate::error::{AisError, AisResult};
use crate::msg::{self, Callbacks, MembersInto};

/// The application's C callbacks as the Rust ones `crate::msg` calls.
fn callbacks(c: &SaMsgCallbacksT) -> Callbacks {
    Callbacks {
        open: c.saMsgQueueOpenCallback.map(|f| -> msg::OpenFn {
            Box::new(move |invocation, r: AisResult<u64>| {
                let handle = *r.as_ref().unwrap_or(&0);
                // SAFETY: the application's callback of the spec's type.
                unsafe { f(invocation, handle, callback_code(&r)) }
            })
        }),
        track: c.saMsgQueueGroupTrackCallback.map(|f| -> msg::TrackFn {
            Box::new(move |group, members, r| {
                let Ok(name) = name_from_bytes(group) else { return };
                let mut items = notifications(members);
                let buffer = SaMsgQueueGroupNotificationBufferT {
                    numberOfItems: items.len() as u32,
                    notification: items.as_mut_ptr(),
                    queueGroupPolicy: members.policy,
                };
                // SAFETY: the application's callback of the spec's type;
                // both pointers are valid for the call.
                unsafe { f(&name, &buffer, members.members, callback_code(&r)) }
            })
        }),
        delivered: c.saMsgMessageDeliveredCallback.map(|f| -> msg::DeliveredFn {
            // SAFETY: the application's callback of the spec's type.
            Box::new(move |invocation, r| unsafe { f(invocation, callback_code(&r)) })
        }),
        received: c.saMsgMessageReceivedCallback.map(|f| -> msg::ReceivedFn {
            // SAFETY: the application's callback of the spec's type.
            Box::new(move |queue| unsafe { f(queue) })
        }),
    }
}

/// The members as the C notification array.
fn notifications(m: &Members) -> Vec<SaMsgQueueGroupNotificationT> {
    m.items
        .iter()
        .filter_map(|(name, change)| {
            let queueName = name_from_bytes(name).ok()?;
            Some(SaMsgQueueGroupNotificationT { member: SaMsgQueueGroupMemberT { queueName }, change: *change })
        })
        .collect()
}

/// The creation attributes, if given.
fn attrs(a: Option<&SaMsgQueueCreationAttributesT>) -> Option<Attrs> {
    a.map(|a| Attrs { creation_flags: a.creationFlags, size: a.size, retention: a.retentionTime })
}

/// A message to send. NULL, a priority past the lowest or NULL data with
/// a size → `INVALID_PARAM`; more than one message may carry → `TOO_BIG`.
fn message_in(m: &SaMsgMessageT) -> AisResult<Message> {
    if i32::from(m.priority) > SA_MSG_MESSAGE_LOWEST_PRIORITY {
        return Err(AisError::INVALID_PARAM);
    }
    let size = usize::try_from(m.size).map_err(|_| AisError::TOO_BIG)?;
    if size > ais_ipc::msg::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    let data = try_slice!(m.data.cast_const().cast::<u8>(), size)?.to_vec();
    let sender_name = match m.senderName.is_null() {
        true => None,
        false => Some(name_bytes!(m.senderName.cast_const())?.to_vec()),
    };
    Ok(Message { kind: m.r#type, version: m.version, priority: m.priority, sender_name, data })
}

/// The room a receive buffer gives: its `size`, or any (`data` NULL: the
/// library allocates).
fn room(m: &SaMsgMessageT) -> u64 {
    if m.data.is_null() { u64::MAX } else { m.size }
}

/// Writes a received message into `m` (data into the caller's buffer, or
/// a new one from `malloc` that the application frees with `free`). Too
/// small a buffer: `size` says what is needed, `NO_SPACE`.
fn message_out(m: &mut SaMsgMessageT, got: Got) -> AisResult<(i64, u64)> {
    let (msg, send_time, sender_id) = match got {
        Got::NoSpace(needed) => {
            m.size = needed;
            return Err(AisError::NO_SPACE);
        }
        Got::Message { msg, send_time, sender_id } => (msg, send_time, sender_id),
    };
    let len = msg.data.len();
    if !m.data.is_null() && len as u64 > m.size {
        return Err(AisError::LIBRARY); // the executive checked the room
    }
    let sender = match m.senderName.is_null() {
        true => None,
        false => Some((out!(m.senderName)?, name_from_bytes(msg.sender_name.as_deref().unwrap_or_default())?)),
    };
    if m.data.is_null() {
        m.data = CAlloc::from_slice(&msg.data)?.into_raw().cast();
    } else {
        write_slice(out_slice!(m.data.cast::<u8>(), len)?, &msg.data);
    }
    m.size = len as u64;
    m.r#type = msg.kind;
    m.version = msg.version;
    m.priority = msg.priority;
    if let Some((o, name)) = sender {
        o.write(name);
    }
    Ok((send_time, sender_id))
}

/// Opens a handle; `msgCallbacks` may be NULL (no callbacks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgInitialize(
    msgHandle: *mut SaMsgHandleT,
    msgCallbacks: *const SaMsgCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let handle = out!(msgHandle)?;
        let version = try_mut!(version)?;
        let cbs = opt_ref!(msgCallbacks)?.map(callbacks).unwrap_or_default();
        handle.write(with_version(version, |v| msg::initialize(v, cbs))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgSelectionObjectGet(
    msgHandle: SaMsgHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let so = out!(selectionObject)?;
        so.write(msg::selection_object(msgHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgDispatch(msgHandle: SaMsgHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ msg::dispatch(msgHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgFinalize(msgHandle: SaMsgHandleT) -> SaAisErrorT {
    crate::boundary!({ msg::finalize(msgHandle) })
}

/// `creationAttributes` exactly when `openFlags` has `SA_MSG_QUEUE_CREATE`.
/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueOpen(
    msgHandle: SaMsgHandleT,
    queueName: *const SaNameT,
    creationAttributes: *const SaMsgQueueCreationAttributesT,
    openFlags: SaMsgQueueOpenFlagsT,
    timeout: SaTimeT,
    queueHandle: *mut SaMsgQueueHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(queueName)?;
        let attrs = attrs(opt_ref!(creationAttributes)?);
        let handle = out!(queueHandle)?;
        handle.write(msg::queue_open(msgHandle, name, attrs, openFlags, timeout)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueOpenAsync(
    msgHandle: SaMsgHandleT,
    invocation: SaInvocationT,
    queueName: *const SaNameT,
    creationAttributes: *const SaMsgQueueCreationAttributesT,
    openFlags: SaMsgQueueOpenFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(queueName)?;
        let attrs = attrs(opt_ref!(creationAttributes)?);
        msg::queue_open_async(msgHandle, invocation, name, attrs, openFlags)
    })
}

/// Closes a queue: `msgHandle` is a queue handle (the classic name).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueClose(msgHandle: SaMsgQueueHandleT) -> SaAisErrorT {
    crate::boundary!({ msg::queue_close(msgHandle) })
}

/// `msgHandle` is the message-service handle (typed as in the classic
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueStatusGet(
    msgHandle: SaMsgQueueHandleT,
    queueName: *const SaNameT,
    queueStatus: *mut SaMsgQueueStatusT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(queueName)?;
        let status = out!(queueStatus)?;
        let s = msg::queue_status_get(msgHandle, name)?;
        let usage = s.usage.map(|(used, n)| SaMsgQueueUsageT { queueSize: 0, queueUsed: used, numberOfMessages: n });
        let mut usage = usage;
        for (u, size) in usage.iter_mut().zip(s.attrs.size) {
            u.queueSize = size;
        }
        status.write(SaMsgQueueStatusT {
            creationFlags: s.attrs.creation_flags,
            retentionTime: s.attrs.retention,
            closeTime: s.close_time,
            saMsgQueueUsage: usage,
        });
        Ok(())
    })
}

/// `msgHandle` is the message-service handle (as for status).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueUnlink(msgHandle: SaMsgQueueHandleT, queueName: *const SaNameT) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(queueName)?;
        msg::queue_unlink(msgHandle, name)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupCreate(
    msgHandle: SaMsgHandleT,
    queueGroupName: *const SaNameT,
    queueGroupPolicy: SaMsgQueueGroupPolicyT,
) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        msg::group_create(msgHandle, group, queueGroupPolicy)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupInsert(
    msgHandle: SaMsgHandleT,
    queueGroupName: *const SaNameT,
    queueName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        let queue = name_bytes!(queueName)?;
        msg::group_insert(msgHandle, group, queue)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupRemove(
    msgHandle: SaMsgHandleT,
    queueGroupName: *const SaNameT,
    queueName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        let queue = name_bytes!(queueName)?;
        msg::group_remove(msgHandle, group, queue)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupDelete(msgHandle: SaMsgHandleT, queueGroupName: *const SaNameT) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        msg::group_delete(msgHandle, group)
    })
}

/// `notificationBuffer` may be NULL; with `SA_TRACK_CURRENT` and a NULL
/// `notification` array, the array is allocated with `malloc` for the
/// caller to `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupTrack(
    msgHandle: SaMsgHandleT,
    queueGroupName: *const SaNameT,
    trackFlags: SaUint8T,
    notificationBuffer: *mut SaMsgQueueGroupNotificationBufferT,
) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        let buffer = opt_mut!(notificationBuffer)?;
        let into = buffer.as_deref().map(|b| match b.notification.is_null() {
            true => MembersInto::Allocated,
            false => MembersInto::Array(b.numberOfItems),
        });
        let (Some(members), Some(b)) = (msg::group_track(msgHandle, group, trackFlags, into)?, buffer) else {
            return Ok(());
        };
        let items = notifications(&members);
        if b.notification.is_null() {
            b.notification = CAlloc::from_slice(&items)?.into_raw();
        } else if items.len() > b.numberOfItems as usize {
            b.numberOfItems = items.len() as u32;
            return Err(AisError::NO_SPACE);
        } else {
            write_slice(out_slice!(b.notification, items.len())?, &items);
        }
        b.numberOfItems = items.len() as u32;
        b.queueGroupPolicy = members.policy;
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgQueueGroupTrackStop(
    msgHandle: SaMsgHandleT,
    queueGroupName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let group = name_bytes!(queueGroupName)?;
        msg::group_track_stop(msgHandle, group)
    })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageSend(
    msgHandle: SaMsgHandleT,
    destination: *const SaNameT,
    message: *const SaMsgMessageT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let to = name_bytes!(destination)?;
        let m = message_in(try_ref!(message)?)?;
        msg::send(msgHandle, to, m, timeout)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageSendAsync(
    msgHandle: SaMsgHandleT,
    invocation: SaInvocationT,
    destination: *const SaNameT,
    message: *const SaMsgMessageT,
    ackFlags: SaMsgAckFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let to = name_bytes!(destination)?;
        let m = message_in(try_ref!(message)?)?;
        msg::send_async(msgHandle, invocation, to, m, ackFlags)
    })
}

/// Writes `v` to an optional output.
fn put<T>(o: Option<Out<'_, T>>, v: T) {
    if let Some(o) = o {
        o.write(v);
    }
}

/// `message->data` NULL: the library allocates the data with `malloc`
/// (the application frees it with `free`); else `message->size` is its
/// room. `sendTime` and `senderId` may be NULL. `timeout` 0: no wait.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageGet(
    queueHandle: SaMsgQueueHandleT,
    message: *mut SaMsgMessageT,
    sendTime: *mut SaTimeT,
    senderId: *mut SaMsgSenderIdT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let m = try_mut!(message)?;
        let send_time = opt_out!(sendTime)?;
        let sender_id = opt_out!(senderId)?;
        let got = msg::get(queueHandle, room(m), timeout)?;
        let (t, id) = message_out(m, got)?;
        put(send_time, t);
        put(sender_id, id);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageCancel(queueHandle: SaMsgQueueHandleT) -> SaAisErrorT {
    crate::boundary!({ msg::cancel(queueHandle) })
}

/// The reply goes into `receiveMessage` as a get's message does.
/// `timeout`: 0 or `SA_TIME_END` is no limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageSendReceive(
    msgHandle: SaMsgHandleT,
    destination: *const SaNameT,
    sendMessage: *const SaMsgMessageT,
    receiveMessage: *mut SaMsgMessageT,
    replySendTime: *mut SaTimeT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let to = name_bytes!(destination)?;
        let m = message_in(try_ref!(sendMessage)?)?;
        let r = try_mut!(receiveMessage)?;
        let send_time = opt_out!(replySendTime)?;
        let got = msg::send_receive(msgHandle, to, m, room(r), timeout)?;
        let (t, _) = message_out(r, got)?;
        put(send_time, t);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageReply(
    msgHandle: SaMsgHandleT,
    replyMessage: *const SaMsgMessageT,
    senderId: *const SaMsgSenderIdT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let m = message_in(try_ref!(replyMessage)?)?;
        let id = *try_ref!(senderId)?;
        msg::reply(msgHandle, id, m, timeout)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saMsgMessageReplyAsync(
    msgHandle: SaMsgHandleT,
    invocation: SaInvocationT,
    replyMessage: *const SaMsgMessageT,
    senderId: *const SaMsgSenderIdT,
    ackFlags: SaMsgAckFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let m = message_in(try_ref!(replyMessage)?)?;
        let id = *try_ref!(senderId)?;
        msg::reply_async(msgHandle, invocation, id, m, ackFlags)
    })
}
