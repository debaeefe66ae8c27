/*
 * ABI of <saLck.h> (AIS LCK B.01.01, as the classic openais header defined
 * it): every type's size and exact C type, every struct's layout, every
 * constant's value and type, every enum's values, and the exact signature
 * of each callback typedef (including the classic spelling
 * SaLckLockGrantcallbackT and the spec's SaLckLockGrantCallbackT). The
 * expected numbers are written here from the spec for x86_64 (LP64);
 * nothing is computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/saLck.h>
#include <stdint.h>

#include "abi_check.h"

/* Callbacks with the classic signatures: assigning them to the typedefs is
 * a compile error (-Werror) if a parameter type differs. */
static int grant_calls;
static int waiter_calls;
static void open_cb(SaInvocationT invocation, SaLckResourceHandleT lockResourceHandle,
                    SaAisErrorT error)
{
    (void)invocation;
    (void)lockResourceHandle;
    (void)error;
}
static void grant_cb(SaInvocationT invocation, SaLckLockStatusT lockStatus, SaAisErrorT error)
{
    grant_calls += (invocation == 4 && lockStatus == SA_LCK_LOCK_NOT_QUEUED && error == SA_AIS_OK);
}
static void waiter_cb(SaLckWaiterSignalT waiterSignal, SaLckLockIdT lockId,
                      SaLckLockModeT modeHeld, SaLckLockModeT modeRequested)
{
    waiter_calls += (waiterSignal == 0x8000000000000001ULL && lockId == 12 &&
                     modeHeld == SA_LCK_EX_LOCK_MODE && modeRequested == SA_LCK_PR_LOCK_MODE);
}
static void unlock_cb(SaInvocationT invocation, SaAisErrorT error)
{
    (void)invocation;
    (void)error;
}

static void types(void)
{
    ABI_SAME_TYPE(SaLckHandleT, uint64_t);
    ABI_SAME_TYPE(SaLckLockIdT, uint64_t);
    ABI_SAME_TYPE(SaLckResourceHandleT, uint64_t);
    ABI_SAME_TYPE(SaLckLockFlagsT, uint32_t);
    ABI_SAME_TYPE(SaLckResourceOpenFlagsT, uint32_t);
    ABI_SAME_TYPE(SaLckOptionsT, uint32_t);
    ABI_SAME_TYPE(SaLckWaiterSignalT, uint64_t);
    ABI_SIZE(SaLckHandleT, 8);
    ABI_SIZE(SaLckLockIdT, 8);
    ABI_SIZE(SaLckResourceHandleT, 8);
    ABI_SIZE(SaLckLockFlagsT, 4);
    ABI_SIZE(SaLckResourceOpenFlagsT, 4);
    ABI_SIZE(SaLckOptionsT, 4);
    ABI_SIZE(SaLckWaiterSignalT, 8);
    ABI_SIZE(SaLckLockStatusT, 4);
    ABI_IS_ENUM(SaLckLockStatusT);
    ABI_SIZE(SaLckLockModeT, 4);
    ABI_IS_ENUM(SaLckLockModeT);
    ABI_SIZE(SaLckResourceOpenCallbackT, 8);
    ABI_SIZE(SaLckLockGrantcallbackT, 8);
    ABI_SIZE(SaLckLockWaiterCallbackT, 8);
    ABI_SIZE(SaLckResourceUnlockCallbackT, 8);
    /* Both spellings name the same type. */
    ABI_SAME_TYPE(SaLckLockGrantCallbackT, SaLckLockGrantcallbackT);
}

static void structs(void)
{
    ABI_SIZE(SaLckCallbacksT, 32);
    ABI_ALIGN(SaLckCallbacksT, 8);
    ABI_FIELD(SaLckCallbacksT, saLckResourceOpenCallback, 0, 8);
    ABI_FIELD(SaLckCallbacksT, saLckLockGrantCallback, 8, 8);
    ABI_FIELD(SaLckCallbacksT, saLckLockWaiterCallback, 16, 8);
    ABI_FIELD(SaLckCallbacksT, saLckResourceUnlockCallback, 24, 8);
    {
        /* Programs initialize it positionally, in this order. */
        SaLckCallbacksT callbacks = { open_cb, grant_cb, waiter_cb, unlock_cb };
        SaLckResourceOpenCallbackT open = open_cb;
        SaLckLockGrantcallbackT grant = grant_cb;
        SaLckLockGrantCallbackT grant_spec = grant_cb;
        SaLckLockWaiterCallbackT waiter = waiter_cb;
        SaLckResourceUnlockCallbackT unlock = unlock_cb;
        SaLckResourceOpenCallbackT *open_field = &callbacks.saLckResourceOpenCallback;
        SaLckLockGrantcallbackT *grant_field = &callbacks.saLckLockGrantCallback;
        SaLckLockWaiterCallbackT *waiter_field = &callbacks.saLckLockWaiterCallback;
        SaLckResourceUnlockCallbackT *unlock_field = &callbacks.saLckResourceUnlockCallback;
        callbacks.saLckLockGrantCallback(4, SA_LCK_LOCK_NOT_QUEUED, SA_AIS_OK);
        callbacks.saLckLockWaiterCallback(0x8000000000000001ULL, 12, SA_LCK_EX_LOCK_MODE,
                                          SA_LCK_PR_LOCK_MODE);
        ABI_EQ(grant_calls, 1);
        ABI_EQ(waiter_calls, 1);
        ABI_TRUE(*open_field == open && *grant_field == grant && grant_spec == grant &&
                 *waiter_field == waiter && *unlock_field == unlock);
    }
}

static void constants(void)
{
    ABI_EQ(SA_LCK_LOCK_NO_QUEUE, 0x1);
    ABI_EQ(SA_LCK_LOCK_ORPHAN, 0x2);
    ABI_EXPR_TYPE(SA_LCK_LOCK_NO_QUEUE, int);
    ABI_EXPR_TYPE(SA_LCK_LOCK_ORPHAN, int);
#if SA_LCK_LOCK_NO_QUEUE != 1 || SA_LCK_LOCK_ORPHAN != 2
#error SA_LCK_LOCK_{NO_QUEUE,ORPHAN} must be usable in #if
#endif

    ABI_EQ(SA_LCK_RESOURCE_CREATE, 0x1);
    ABI_EXPR_TYPE(SA_LCK_RESOURCE_CREATE, int);
#if SA_LCK_RESOURCE_CREATE != 1
#error SA_LCK_RESOURCE_CREATE must be usable in #if
#endif

    ABI_EQ(SA_LCK_OPT_ORPHAN_LOCKS, 0x1);
    ABI_EQ(SA_LCK_OPT_DEADLOCK_DETECTION, 0x2);
    ABI_EXPR_TYPE(SA_LCK_OPT_DEADLOCK_DETECTION, int);
#if SA_LCK_OPT_ORPHAN_LOCKS != 1 || SA_LCK_OPT_DEADLOCK_DETECTION != 2
#error SA_LCK_OPT_* must be usable in #if
#endif

    ABI_EQ(SA_LCK_LOCK_GRANTED, 1);
    ABI_EQ(SA_LCK_LOCK_DEADLOCK, 2);
    ABI_EQ(SA_LCK_LOCK_NOT_QUEUED, 3);
    ABI_EQ(SA_LCK_LOCK_ORPHANED, 4);
    ABI_EQ(SA_LCK_LOCK_NO_MORE, 5);
    ABI_EQ(SA_LCK_LOCK_DUPLICATE_EX, 6);

    ABI_EQ(SA_LCK_PR_LOCK_MODE, 1);
    ABI_EQ(SA_LCK_EX_LOCK_MODE, 2);
    {
        /* Every enumerator is there and distinct. */
        SaLckLockStatusT s = SA_LCK_LOCK_ORPHANED;
        SaLckLockModeT m = SA_LCK_EX_LOCK_MODE;
        int n = 0;
        switch (s) {
        case SA_LCK_LOCK_GRANTED: case SA_LCK_LOCK_DEADLOCK: case SA_LCK_LOCK_NOT_QUEUED:
        case SA_LCK_LOCK_ORPHANED: case SA_LCK_LOCK_NO_MORE: case SA_LCK_LOCK_DUPLICATE_EX:
            n++;
            break;
        }
        switch (m) {
        case SA_LCK_PR_LOCK_MODE: case SA_LCK_EX_LOCK_MODE:
            n++;
            break;
        }
        ABI_EQ(n, 2);
    }
}

int main(void)
{
    types();
    structs();
    constants();
    return ABI_DONE("abi_saLck");
}
