/*
 * A program in the style of the classic openais lock test programs,
 * written against the B.01.01 API only: "saAis.h" and "saLck.h" found with
 * -I.../include/corosync, linked with -lSaLck (and -lpthread). run.sh
 * builds it with no other flags and no edits.
 *
 * A dispatch thread runs saLckDispatch(SA_DISPATCH_BLOCKING). The main
 * thread takes a PR lock, then asks for EX on the same resource and
 * blocks: the waiter callback (on the dispatch thread) sees the PR lock
 * held and EX requested and unlocks it with saLckResourceUnlockAsync, so
 * the EX is granted. Then an async PR is blocked by that EX, whose waiter
 * callback unlocks the EX: the grant callback brings the PR. Unlocking the
 * EX again returns SA_AIS_ERR_NOT_EXIST (the classic library hung there).
 * Exit 0 when every step gave what it should.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "saAis.h"
#include "saLck.h"

static SaLckHandleT handle;
static volatile int waiters, unlocks, grants, bad;
static volatile SaLckLockStatusT granted_status;

static void open_cb(SaInvocationT invocation, SaLckResourceHandleT res, SaAisErrorT error)
{
	(void)invocation; (void)res; (void)error;
}

static void grant_cb(SaInvocationT invocation, SaLckLockStatusT status, SaAisErrorT error)
{
	if (invocation != 0x56 || error != SA_AIS_OK)
		bad++;
	granted_status = status;
	grants++;
}

static void waiter_cb(SaLckWaiterSignalT signal, SaLckLockIdT lock_id, SaLckLockModeT held, SaLckLockModeT requested)
{
	printf("waiter callback: signal %llu held %d requested %d\n", (unsigned long long)signal, held, requested);
	if (waiters == 0 && (signal != 55 || held != SA_LCK_PR_LOCK_MODE || requested != SA_LCK_EX_LOCK_MODE))
		bad++;
	if (waiters == 1 && (signal != 66 || held != SA_LCK_EX_LOCK_MODE || requested != SA_LCK_PR_LOCK_MODE))
		bad++;
	waiters++;
	if (saLckResourceUnlockAsync(25, lock_id) != SA_AIS_OK)
		bad++;
}

static void unlock_cb(SaInvocationT invocation, SaAisErrorT error)
{
	if (invocation != 25 || error != SA_AIS_OK)
		bad++;
	unlocks++;
}

static SaLckCallbacksT callbacks = {
	.saLckResourceOpenCallback = open_cb,
	.saLckLockGrantCallback = grant_cb,
	.saLckLockWaiterCallback = waiter_cb,
	.saLckResourceUnlockCallback = unlock_cb
};

static void *dispatcher(void *arg)
{
	(void)arg;
	saLckDispatch(handle, SA_DISPATCH_BLOCKING);
	return NULL;
}

#define STEP(what, call, want)                                              \
	do {                                                                \
		SaAisErrorT e_ = (call);                                    \
		printf("%s: %d (want %d)\n", what, e_, want);               \
		if (e_ != (want))                                           \
			exit(1);                                            \
	} while (0)

int main(void)
{
	SaVersionT version = { 'B', 1, 1 };
	SaLckResourceHandleT res;
	SaLckLockIdT pr_id, ex_id, pr2_id;
	SaLckLockStatusT status;
	SaNameT name;
	pthread_t thread;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sprintf((char *)name.value, "classic_locker-%d", (int)getpid());
	name.length = strlen((char *)name.value);

	STEP("saLckInitialize", saLckInitialize(&handle, &callbacks, &version), SA_AIS_OK);
	pthread_create(&thread, NULL, dispatcher, NULL);
	STEP("saLckResourceOpen", saLckResourceOpen(handle, &name, SA_LCK_RESOURCE_CREATE, SA_TIME_ONE_SECOND, &res),
	     SA_AIS_OK);
	STEP("saLckResourceLock PR",
	     saLckResourceLock(res, &pr_id, SA_LCK_PR_LOCK_MODE, SA_LCK_LOCK_ORPHAN, 55, SA_TIME_END, &status), SA_AIS_OK);
	if (status != SA_LCK_LOCK_GRANTED)
		return 1;
	/* Blocks until the waiter callback has unlocked the PR lock. */
	STEP("saLckResourceLock EX",
	     saLckResourceLock(res, &ex_id, SA_LCK_EX_LOCK_MODE, 0, 66, 10 * SA_TIME_ONE_SECOND, &status), SA_AIS_OK);
	if (status != SA_LCK_LOCK_GRANTED)
		return 1;
	STEP("saLckResourceLockAsync PR",
	     saLckResourceLockAsync(res, 0x56, &pr2_id, SA_LCK_PR_LOCK_MODE, 0, 77), SA_AIS_OK);
	for (i = 0; i < 500 && grants == 0; i++)
		usleep(10000);
	printf("grant callback: status %d\n", granted_status);
	if (grants != 1 || granted_status != SA_LCK_LOCK_GRANTED)
		return 1;
	for (i = 0; i < 500 && unlocks < 2; i++)
		usleep(10000);
	STEP("saLckResourceUnlock EX again", saLckResourceUnlock(ex_id, SA_TIME_END), SA_AIS_ERR_NOT_EXIST);
	STEP("saLckResourceUnlock PR", saLckResourceUnlock(pr2_id, SA_TIME_END), SA_AIS_OK);
	STEP("saLckResourceClose", saLckResourceClose(res), SA_AIS_OK);
	STEP("saLckFinalize", saLckFinalize(handle), SA_AIS_OK);
	pthread_join(thread, NULL);
	printf("waiters %d unlocks %d grants %d bad %d\n", waiters, unlocks, grants, bad);
	return waiters == 2 && unlocks == 2 && bad == 0 ? 0 : 1;
}
