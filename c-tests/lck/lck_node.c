/*
 * A lock client for the multi-node tests and the benchmark; one command per
 * run, against the executive named by COROSYNC_RUN_DIR.
 *
 *   lck_node count <res> <file> <n>   n times: EX lock, read the number in
 *                                     <file>, write it plus one, unlock
 *   lck_node hold <res> [orphan]      EX lock, print "held", then sleep (to
 *                                     be killed), or with "orphan" take it
 *                                     with SA_LCK_LOCK_ORPHAN and exit at once
 *   lck_node wait <res> <ms>          EX lock with a timeout: prints
 *                                     "granted <ms waited>" (exit 0) or
 *                                     "timeout" (exit 3)
 *   lck_node try <res> [orphan]       EX lock with NO_QUEUE (and ORPHAN):
 *                                     prints the lock status's name
 *   lck_node purge <res>              saLckLockPurge
 *   lck_node bench <res> <seconds>    EX lock/unlock pairs for that long:
 *                                     prints "pairs <n> per_s <n>"
 *
 * Exit status: 0 ok, 1 an API call failed (printed), 2 usage, 3 timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/saLck.h>

static SaLckHandleT handle;
static SaLckResourceHandleT res;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check(const char *what, SaAisErrorT e)
{
	if (e != SA_AIS_OK) {
		printf("%s: error %d\n", what, e);
		exit(1);
	}
}

/* Retries TRY_AGAIN (a sync in progress) for up to 20 s. */
#define RETRY(what, call)                                                    \
	do {                                                                 \
		SaAisErrorT e_;                                              \
		long long t0_ = now_ms();                                    \
		while ((e_ = (call)) == SA_AIS_ERR_TRY_AGAIN &&              \
		       now_ms() - t0_ < 20000)                               \
			usleep(20000);                                       \
		check(what, e_);                                             \
	} while (0)

static void open_resource(const char *name)
{
	SaVersionT v = { 'B', 1, 1 };
	SaNameT n;
	memset(&n, 0, sizeof n);
	n.length = (SaUint16T)strlen(name);
	memcpy(n.value, name, n.length);
	RETRY("saLckInitialize", saLckInitialize(&handle, NULL, &v));
	RETRY("saLckResourceOpen", saLckResourceOpen(handle, &n, SA_LCK_RESOURCE_CREATE, SA_TIME_END, &res));
}

static SaLckLockStatusT ex_lock(SaLckLockIdT *id, SaLckLockFlagsT flags, SaTimeT timeout, SaAisErrorT *err)
{
	SaLckLockStatusT status = 0;
	long long t0 = now_ms();
	do {
		*err = saLckResourceLock(res, id, SA_LCK_EX_LOCK_MODE, flags, 0, timeout, &status);
		if (*err == SA_AIS_ERR_TRY_AGAIN)
			usleep(20000);
	} while (*err == SA_AIS_ERR_TRY_AGAIN && now_ms() - t0 < 20000);
	return status;
}

static const char *status_name(SaLckLockStatusT s)
{
	switch (s) {
	case SA_LCK_LOCK_GRANTED: return "granted";
	case SA_LCK_LOCK_DEADLOCK: return "deadlock";
	case SA_LCK_LOCK_NOT_QUEUED: return "not_queued";
	case SA_LCK_LOCK_ORPHANED: return "orphaned";
	case SA_LCK_LOCK_NO_MORE: return "no_more";
	case SA_LCK_LOCK_DUPLICATE_EX: return "duplicate_ex";
	}
	return "?";
}

static void lock_granted(SaLckLockIdT *id, SaLckLockFlagsT flags)
{
	SaAisErrorT e;
	SaLckLockStatusT s = ex_lock(id, flags, SA_TIME_END, &e);
	check("saLckResourceLock", e);
	if (s != SA_LCK_LOCK_GRANTED) {
		printf("lock status %s\n", status_name(s));
		exit(1);
	}
}

static void unlock(SaLckLockIdT id)
{
	RETRY("saLckResourceUnlock", saLckResourceUnlock(id, SA_TIME_END));
}

static int count(const char *file, int n)
{
	for (int i = 0; i < n; i++) {
		SaLckLockIdT id;
		long v = 0;
		lock_granted(&id, 0);
		FILE *f = fopen(file, "r");
		if (f) {
			if (fscanf(f, "%ld", &v) != 1)
				v = 0;
			fclose(f);
		}
		/* Widen the window a lost update would need. */
		usleep(200);
		f = fopen(file, "w");
		if (!f) {
			perror(file);
			return 1;
		}
		fprintf(f, "%ld\n", v + 1);
		fclose(f);
		unlock(id);
	}
	printf("done %d\n", n);
	return 0;
}

static int bench(int seconds)
{
	long long t0 = now_ms(), end = t0 + seconds * 1000LL, pairs = 0;
	while (now_ms() < end) {
		SaLckLockIdT id;
		lock_granted(&id, 0);
		unlock(id);
		pairs++;
	}
	long long ms = now_ms() - t0;
	printf("pairs %lld per_s %lld\n", pairs, ms > 0 ? pairs * 1000 / ms : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *cmd = argv[1];
	int orphan = argc > 3 && strcmp(argv[3], "orphan") == 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	open_resource(argv[2]);
	if (strcmp(cmd, "count") == 0 && argc == 5)
		return count(argv[3], atoi(argv[4]));
	if (strcmp(cmd, "bench") == 0 && argc == 4)
		return bench(atoi(argv[3]));
	if (strcmp(cmd, "hold") == 0) {
		SaLckLockIdT id;
		lock_granted(&id, orphan ? SA_LCK_LOCK_ORPHAN : 0);
		printf("held\n");
		if (orphan)
			return 0;
		for (;;)
			pause();
	}
	if (strcmp(cmd, "wait") == 0 && argc == 4) {
		SaLckLockIdT id;
		SaAisErrorT e;
		long long t0 = now_ms();
		SaLckLockStatusT s = ex_lock(&id, 0, atoll(argv[3]) * 1000000LL, &e);
		if (e == SA_AIS_ERR_TIMEOUT) {
			printf("timeout\n");
			return 3;
		}
		check("saLckResourceLock", e);
		printf("%s %lld\n", status_name(s), now_ms() - t0);
		return s == SA_LCK_LOCK_GRANTED ? 0 : 1;
	}
	if (strcmp(cmd, "try") == 0) {
		SaLckLockIdT id;
		SaAisErrorT e;
		SaLckLockStatusT s = ex_lock(&id, SA_LCK_LOCK_NO_QUEUE | (orphan ? SA_LCK_LOCK_ORPHAN : 0), SA_TIME_END, &e);
		check("saLckResourceLock", e);
		printf("%s\n", status_name(s));
		return 0;
	}
	if (strcmp(cmd, "purge") == 0) {
		RETRY("saLckLockPurge", saLckLockPurge(res));
		printf("purged\n");
		return 0;
	}
	return 2;
}
