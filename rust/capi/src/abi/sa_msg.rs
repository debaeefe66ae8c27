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
//! The `saMsg*` functions are not here yet: each prototype is added with
//! its implementation (an unimplemented function is neither declared nor
//! exported; see `rust/capi/README.md`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

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
