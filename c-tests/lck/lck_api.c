/* The LCK B.01.01 API against a live executive, through <corosync/saLck.h>
 * and -lSaLck: open (sync, async, without CREATE), PR sharing and EX
 * exclusion between two handles (two "processes"), waiter callbacks with
 * the holder's signal and modes, async lock and unlock with callbacks,
 * NO_QUEUE, DUPLICATE_EX, lock timeouts, unlock twice, orphan locks and
 * purge, close and finalize releasing locks, option check, and every error
 * path (NULL pointers, bad modes and flags, bad handles, versions, dispatch
 * flags, async calls without their callback).
 *
 * Ends with "lck_api: N passed, N failed"; exits non-zero on any failure.
 * Resource names carry the pid, so runs against a shared cluster do not meet. */
#include <corosync/saLck.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

/* What the callbacks saw. */
static int opens_seen, grants_seen, waiters_seen, unlocks_seen;
static SaInvocationT open_inv, grant_inv, unlock_inv;
static SaLckResourceHandleT open_res;
static SaAisErrorT open_err, grant_err, unlock_err;
static SaLckLockStatusT grant_status;
static SaLckWaiterSignalT waiter_signal;
static SaLckLockIdT waiter_lock;
static SaLckLockModeT waiter_held, waiter_requested;

static void on_open(SaInvocationT inv, SaLckResourceHandleT res, SaAisErrorT err)
{
    open_inv = inv;
    open_res = res;
    open_err = err;
    opens_seen++;
}

static void on_grant(SaInvocationT inv, SaLckLockStatusT status, SaAisErrorT err)
{
    grant_inv = inv;
    grant_status = status;
    grant_err = err;
    grants_seen++;
}

static void on_waiter(SaLckWaiterSignalT signal, SaLckLockIdT lock, SaLckLockModeT held, SaLckLockModeT requested)
{
    waiter_signal = signal;
    waiter_lock = lock;
    waiter_held = held;
    waiter_requested = requested;
    waiters_seen++;
}

static void on_unlock(SaInvocationT inv, SaAisErrorT err)
{
    unlock_inv = inv;
    unlock_err = err;
    unlocks_seen++;
}

static const SaLckCallbacksT all_callbacks = { on_open, on_grant, on_waiter, on_unlock };

static SaNameT name_of(const char *s)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)snprintf((char *)n.value, sizeof n.value, "%s-%d", s, (int)getpid());
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Dispatches `h` until *counter reaches `want` (5 s at most). */
static int dispatch_until(SaLckHandleT h, int *counter, int want)
{
    SaSelectionObjectT so;
    long long end = now_ms() + 5000;
    if (saLckSelectionObjectGet(h, &so) != SA_AIS_OK)
        return 0;
    while (*counter < want && now_ms() < end) {
        struct pollfd p = { (int)so, POLLIN, 0 };
        if (poll(&p, 1, 100) > 0)
            saLckDispatch(h, SA_DISPATCH_ALL);
    }
    return *counter >= want;
}

static SaLckHandleT init(const SaLckCallbacksT *cb)
{
    SaVersionT v = { 'B', 1, 1 };
    SaLckHandleT h = 0;
    EXPECT(saLckInitialize(&h, cb, &v), SA_AIS_OK);
    return h;
}

static SaLckResourceHandleT open_res_of(SaLckHandleT h, const char *name, SaLckResourceOpenFlagsT flags)
{
    SaNameT n = name_of(name);
    SaLckResourceHandleT r = 0;
    EXPECT(saLckResourceOpen(h, &n, flags, SA_TIME_END, &r), SA_AIS_OK);
    return r;
}

static SaLckLockStatusT lock(SaLckResourceHandleT r, SaLckLockIdT *id, SaLckLockModeT mode, SaLckLockFlagsT flags,
                             SaLckWaiterSignalT signal)
{
    SaLckLockStatusT st = 0;
    EXPECT(saLckResourceLock(r, id, mode, flags, signal, SA_TIME_END, &st), SA_AIS_OK);
    return st;
}

static void bad_input(void)
{
    SaVersionT v = { 'B', 1, 1 }, old = { 'A', 1, 1 };
    SaLckHandleT h;
    SaLckResourceHandleT r;
    SaLckLockIdT id;
    SaLckLockStatusT st;
    SaLckOptionsT opts;
    SaNameT n = name_of("bad"), empty;
    memset(&empty, 0, sizeof empty);

    EXPECT(saLckInitialize(NULL, NULL, &v), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckInitialize(&h, NULL, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckInitialize(&h, NULL, &old), SA_AIS_ERR_VERSION);
    CHECK(old.releaseCode == 'B' && old.majorVersion == 1, "supported version written back: %c.%d",
          old.releaseCode, old.majorVersion);

    h = init(NULL);
    EXPECT(saLckOptionCheck(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckOptionCheck(h, &opts), SA_AIS_OK);
    CHECK(opts == SA_LCK_OPT_ORPHAN_LOCKS, "options %u: orphan locks, no deadlock detection", (unsigned)opts);
    EXPECT(saLckOptionCheck(h + 1, &opts), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckSelectionObjectGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckDispatch(h, 0), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckDispatch(h, 4), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);

    /* Open. */
    EXPECT(saLckResourceOpen(h, NULL, SA_LCK_RESOURCE_CREATE, 0, &r), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceOpen(h, &n, SA_LCK_RESOURCE_CREATE, 0, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceOpen(h, &empty, SA_LCK_RESOURCE_CREATE, 0, &r), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceOpen(h, &n, 0x2, 0, &r), SA_AIS_ERR_BAD_FLAGS);
    EXPECT(saLckResourceOpen(h, &n, 0, 0, &r), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saLckResourceOpen(h + 1, &n, SA_LCK_RESOURCE_CREATE, 0, &r), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceOpen(h, &n, SA_LCK_RESOURCE_CREATE, -1, &r), SA_AIS_ERR_INVALID_PARAM);
    /* No callbacks given: every async call is INIT. */
    EXPECT(saLckResourceOpenAsync(h, 1, &n, SA_LCK_RESOURCE_CREATE), SA_AIS_ERR_INIT);
    r = open_res_of(h, "bad", SA_LCK_RESOURCE_CREATE);
    EXPECT(saLckResourceLockAsync(r, 1, &id, SA_LCK_PR_LOCK_MODE, 0, 0), SA_AIS_ERR_INIT);

    /* Lock. */
    EXPECT(saLckResourceLock(r, NULL, SA_LCK_PR_LOCK_MODE, 0, 0, 0, &st), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLock(r, &id, SA_LCK_PR_LOCK_MODE, 0, 0, 0, NULL), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLock(r, &id, 0, 0, 0, 0, &st), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLock(r, &id, 3, 0, 0, 0, &st), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLock(r, &id, SA_LCK_PR_LOCK_MODE, 0x4, 0, 0, &st), SA_AIS_ERR_BAD_FLAGS);
    EXPECT(saLckResourceLock(r, &id, SA_LCK_PR_LOCK_MODE, 0, 0, -5, &st), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLock(r + 1, &id, SA_LCK_PR_LOCK_MODE, 0, 0, 0, &st), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceLockAsync(r, 1, NULL, SA_LCK_PR_LOCK_MODE, 0, 0), SA_AIS_ERR_INVALID_PARAM);
    EXPECT(saLckResourceLockAsync(r, 1, &id, 9, 0, 0), SA_AIS_ERR_INVALID_PARAM);

    /* Unlock and purge. */
    EXPECT(saLckResourceUnlock(0, 0), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceUnlock(12345, 0), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceUnlockAsync(1, 12345), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckLockPurge(r + 1), SA_AIS_ERR_BAD_HANDLE);

    /* Close and finalize: handles are gone, a lock after finalize too. */
    EXPECT(saLckResourceClose(r), SA_AIS_OK);
    EXPECT(saLckResourceClose(r), SA_AIS_ERR_BAD_HANDLE);
    r = open_res_of(h, "bad", SA_LCK_RESOURCE_CREATE);
    EXPECT(saLckFinalize(h), SA_AIS_OK);
    EXPECT(saLckFinalize(h), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceLock(r, &id, SA_LCK_EX_LOCK_MODE, 0, 0, 0, &st), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckResourceClose(r), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckDispatch(h, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
    EXPECT(saLckSelectionObjectGet(h, (SaSelectionObjectT *)&opts), SA_AIS_ERR_BAD_HANDLE);
}

static void modes_and_callbacks(void)
{
    SaLckHandleT a = init(&all_callbacks), b = init(&all_callbacks);
    SaLckResourceHandleT ra = open_res_of(a, "modes", SA_LCK_RESOURCE_CREATE);
    SaLckResourceHandleT rb = open_res_of(b, "modes", 0);
    SaLckLockIdT pa, pb, ex, ex2;
    SaLckLockStatusT st;

    /* PR is shared; EX is not (NO_QUEUE says so at once). */
    CHECK(lock(ra, &pa, SA_LCK_PR_LOCK_MODE, 0, 11) == SA_LCK_LOCK_GRANTED, "PR on a");
    CHECK(lock(rb, &pb, SA_LCK_PR_LOCK_MODE, 0, 22) == SA_LCK_LOCK_GRANTED, "PR on b with a's PR");
    st = lock(rb, &ex, SA_LCK_EX_LOCK_MODE, SA_LCK_LOCK_NO_QUEUE, 0);
    CHECK(st == SA_LCK_LOCK_NOT_QUEUED, "EX NO_QUEUE while PR held: %d", st);

    /* An async EX from b waits; both PR holders hear of it. */
    EXPECT(saLckResourceLockAsync(rb, 700, &ex, SA_LCK_EX_LOCK_MODE, 0, 33), SA_AIS_OK);
    CHECK(dispatch_until(a, &waiters_seen, 1), "a's waiter callback");
    CHECK(waiter_signal == 11 && waiter_lock == pa && waiter_held == SA_LCK_PR_LOCK_MODE &&
              waiter_requested == SA_LCK_EX_LOCK_MODE,
          "a's waiter callback: signal %llu lock ok %d held %d requested %d", (unsigned long long)waiter_signal,
          waiter_lock == pa, waiter_held, waiter_requested);
    CHECK(dispatch_until(b, &waiters_seen, 2), "b's waiter callback");
    CHECK(waiter_signal == 22 && waiter_lock == pb, "b's waiter callback: signal %llu",
          (unsigned long long)waiter_signal);
    CHECK(grants_seen == 0, "not granted while PR locks are held");

    /* Unlocks (one async) let the EX through: the grant callback. */
    EXPECT(saLckResourceUnlock(pa, SA_TIME_END), SA_AIS_OK);
    EXPECT(saLckResourceUnlock(pa, SA_TIME_END), SA_AIS_ERR_NOT_EXIST);
    EXPECT(saLckResourceUnlockAsync(800, pb), SA_AIS_OK);
    CHECK(dispatch_until(b, &unlocks_seen, 1) && unlock_inv == 800 && unlock_err == SA_AIS_OK, "unlock callback");
    CHECK(dispatch_until(b, &grants_seen, 1), "grant callback");
    CHECK(grant_inv == 700 && grant_status == SA_LCK_LOCK_GRANTED && grant_err == SA_AIS_OK,
          "grant: inv %llu status %d err %d", (unsigned long long)grant_inv, grant_status, grant_err);

    /* EX held by b: a's PR NO_QUEUE is refused, b's second EX is DUPLICATE_EX. */
    st = lock(ra, &pa, SA_LCK_PR_LOCK_MODE, SA_LCK_LOCK_NO_QUEUE, 0);
    CHECK(st == SA_LCK_LOCK_NOT_QUEUED, "PR NO_QUEUE while EX held: %d", st);
    st = lock(rb, &ex2, SA_LCK_EX_LOCK_MODE, 0, 0);
    CHECK(st == SA_LCK_LOCK_DUPLICATE_EX, "a second EX on the same open: %d", st);

    /* A timeout: TIMEOUT after about that long, and never granted later. */
    long long t0 = now_ms();
    EXPECT(saLckResourceLock(ra, &pa, SA_LCK_EX_LOCK_MODE, 0, 0, 300 * SA_TIME_ONE_MILLISECOND, &st),
           SA_AIS_ERR_TIMEOUT);
    long long waited = now_ms() - t0;
    CHECK(waited >= 250 && waited < 3000, "timed out after %lld ms", waited);
    EXPECT(saLckResourceUnlock(ex, SA_TIME_END), SA_AIS_OK);
    st = lock(ra, &pa, SA_LCK_EX_LOCK_MODE, SA_LCK_LOCK_NO_QUEUE, 0);
    CHECK(st == SA_LCK_LOCK_GRANTED, "free after the timed-out request and the unlock: %d", st);

    /* Finalize of a releases its lock: b gets it. */
    EXPECT(saLckFinalize(a), SA_AIS_OK);
    st = lock(rb, &ex, SA_LCK_EX_LOCK_MODE, 0, 0);
    CHECK(st == SA_LCK_LOCK_GRANTED, "after a's finalize: %d", st);
    /* Close of b's resource releases b's lock, and the id is gone. */
    EXPECT(saLckResourceClose(rb), SA_AIS_OK);
    EXPECT(saLckResourceUnlock(ex, SA_TIME_END), SA_AIS_ERR_NOT_EXIST);

    /* Async open. */
    SaNameT n = name_of("async");
    EXPECT(saLckResourceOpenAsync(b, 55, &n, 0x4), SA_AIS_ERR_BAD_FLAGS);
    EXPECT(saLckResourceOpenAsync(b, 55, &n, 0), SA_AIS_OK);
    CHECK(dispatch_until(b, &opens_seen, 1) && open_inv == 55 && open_err == SA_AIS_ERR_NOT_EXIST,
          "async open of a missing resource: err %d", open_err);
    EXPECT(saLckResourceOpenAsync(b, 56, &n, SA_LCK_RESOURCE_CREATE), SA_AIS_OK);
    CHECK(dispatch_until(b, &opens_seen, 2) && open_inv == 56 && open_err == SA_AIS_OK, "async open: err %d",
          open_err);
    st = lock(open_res, &ex, SA_LCK_EX_LOCK_MODE, 0, 0);
    CHECK(st == SA_LCK_LOCK_GRANTED, "lock through the async-opened handle: %d", st);
    EXPECT(saLckFinalize(b), SA_AIS_OK);
}

static void orphans(void)
{
    SaLckHandleT a = init(NULL), b = init(NULL);
    SaLckResourceHandleT ra = open_res_of(a, "orphan", SA_LCK_RESOURCE_CREATE);
    SaLckResourceHandleT rb = open_res_of(b, "orphan", 0);
    SaLckLockIdT id;
    SaLckLockStatusT st;

    CHECK(lock(ra, &id, SA_LCK_EX_LOCK_MODE, SA_LCK_LOCK_ORPHAN, 0) == SA_LCK_LOCK_GRANTED, "orphan EX");
    EXPECT(saLckFinalize(a), SA_AIS_OK);
    st = lock(rb, &id, SA_LCK_PR_LOCK_MODE, SA_LCK_LOCK_ORPHAN, 0);
    CHECK(st == SA_LCK_LOCK_ORPHANED, "ORPHAN request against an orphan lock: %d", st);
    st = lock(rb, &id, SA_LCK_PR_LOCK_MODE, SA_LCK_LOCK_NO_QUEUE, 0);
    CHECK(st == SA_LCK_LOCK_NOT_QUEUED, "other request against an orphan lock: %d", st);
    EXPECT(saLckLockPurge(rb), SA_AIS_OK);
    st = lock(rb, &id, SA_LCK_PR_LOCK_MODE, SA_LCK_LOCK_NO_QUEUE, 0);
    CHECK(st == SA_LCK_LOCK_GRANTED, "after purge: %d", st);
    EXPECT(saLckFinalize(b), SA_AIS_OK);
}

/* After fork(), the child's inherited handles answer BAD_HANDLE and its
 * finalize closes only its own copies: the parent's library handle and
 * its lock connection keep working (issue 25). */
static void after_fork(void)
{
    SaLckHandleT h = init(&all_callbacks);
    SaLckResourceHandleT r = open_res_of(h, "fork-res", SA_LCK_RESOURCE_CREATE);
    SaLckLockIdT id = 0;
    SaLckLockStatusT st = 0;
    int status = -1;
    pid_t child;

    CHECK(lock(r, &id, SA_LCK_EX_LOCK_MODE, 0, 0) == SA_LCK_LOCK_GRANTED, "granted");
    EXPECT(saLckResourceUnlock(id, SA_TIME_END), SA_AIS_OK);
    child = fork();
    if (child == 0) {
        int before = failed;
        EXPECT(saLckResourceLock(r, &id, SA_LCK_EX_LOCK_MODE, 0, 0, SA_TIME_END, &st), SA_AIS_ERR_BAD_HANDLE);
        EXPECT(saLckResourceClose(r), SA_AIS_ERR_BAD_HANDLE);
        EXPECT(saLckFinalize(h), SA_AIS_OK);
        EXPECT(saLckFinalize(h), SA_AIS_ERR_BAD_HANDLE);
        _exit(failed == before ? 0 : 1);
    }
    CHECK(child > 0 && waitpid(child, &status, 0) == child, "child waited for");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw BAD_HANDLE and finalized: %d", status);
    CHECK(lock(r, &id, SA_LCK_EX_LOCK_MODE, 0, 0) == SA_LCK_LOCK_GRANTED, "the parent still locks");
    EXPECT(saLckResourceUnlock(id, SA_TIME_END), SA_AIS_OK);
    EXPECT(saLckResourceClose(r), SA_AIS_OK);
    EXPECT(saLckFinalize(h), SA_AIS_OK);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    bad_input();
    modes_and_callbacks();
    orphans();
    after_fork();
    return check_summary("lck_api");
}
