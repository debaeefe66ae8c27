/*
 * The failover demo's process: an active that counts and checkpoints its
 * state, or a standby that watches the checkpoint and takes over when the
 * active stops updating it. Uses only <corosync/saCkpt.h> and -lSaCkpt.
 *
 *   ckpt_demo active              count from the checkpointed value on,
 *                                 one step every 100 ms
 *   ckpt_demo standby SILENCE_MS  read the state every 50 ms; once it has
 *                                 not changed for SILENCE_MS, take over:
 *                                 print the value and the time (ms since
 *                                 the epoch), then count on as the active
 *   ckpt_demo show                print the checkpointed value
 *
 * Every process stops after 60 s at most.
 */
#define _POSIX_C_SOURCE 200809L
#include <corosync/saCkpt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)

static SaCkptHandleT lib;
static SaCkptCheckpointHandleT ckpt;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static long long epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static SaAisErrorT retry_open(void)
{
    SaNameT n;
    SaCkptCheckpointCreationAttributesT a;
    SaAisErrorT rc;
    int tries;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)strlen("demo-state");
    memcpy(n.value, "demo-state", n.length);
    a.creationFlags = SA_CKPT_WR_ALL_REPLICAS;
    a.checkpointSize = 64;
    a.retentionDuration = 3600 * SECOND;
    a.maxSections = 1;
    a.maxSectionSize = 64;
    a.maxSectionIdSize = 0;
    for (tries = 0; tries < 200; tries++) {
        rc = saCkptCheckpointOpen(lib, &n, &a,
                                  SA_CKPT_CHECKPOINT_CREATE | SA_CKPT_CHECKPOINT_READ |
                                      SA_CKPT_CHECKPOINT_WRITE,
                                  5 * SECOND, &ckpt);
        if (rc != SA_AIS_ERR_TRY_AGAIN)
            return rc;
        sleep_ms(50);
    }
    return rc;
}

/* The checkpointed counter; -1 while it cannot be read (e.g. TRY_AGAIN). */
static long read_state(void)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    char buf[32];
    memset(&e, 0, sizeof e);
    memset(buf, 0, sizeof buf);
    e.dataBuffer = buf;
    e.dataSize = sizeof buf - 1;
    if (saCkptCheckpointRead(ckpt, &e, 1, &bad) != SA_AIS_OK)
        return -1;
    return e.readSize ? atol(buf) : 0;
}

static SaAisErrorT write_state(long value)
{
    SaCkptIOVectorElementT e;
    SaUint32T bad;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld", value);
    memset(&e, 0, sizeof e);
    e.dataBuffer = buf;
    e.dataSize = (SaSizeT)len + 1;
    return saCkptCheckpointWrite(ckpt, &e, 1, &bad);
}

static int count_from(long value, const char *who, long long until)
{
    while (epoch_ms() < until) {
        SaAisErrorT rc;
        value++;
        while ((rc = write_state(value)) == SA_AIS_ERR_TRY_AGAIN)
            sleep_ms(20);
        if (rc != SA_AIS_OK) {
            printf("%s: write failed (%d): stopping\n", who, (int)rc);
            return 1;
        }
        printf("%s: counted %ld (checkpointed)\n", who, value);
        fflush(stdout);
        sleep_ms(100);
    }
    return 0;
}

int main(int argc, char **argv)
{
    SaVersionT v = { 'B', 1, 1 };
    const char *mode = argc > 1 ? argv[1] : "";
    long long until = epoch_ms() + 60000;
    SaAisErrorT rc;
    int tries;

    for (tries = 0; (rc = saCkptInitialize(&lib, NULL, &v)) == SA_AIS_ERR_TRY_AGAIN && tries < 200;
         tries++)
        sleep_ms(50);
    if (rc != SA_AIS_OK || (rc = retry_open()) != SA_AIS_OK) {
        fprintf(stderr, "ckpt_demo: cannot open the checkpoint: %d\n", (int)rc);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "active") == 0) {
        long start = read_state();
        return count_from(start < 0 ? 0 : start, "active", until);
    }
    if (strcmp(mode, "show") == 0) {
        printf("%ld\n", read_state());
        return 0;
    }
    if (strcmp(mode, "standby") == 0 && argc == 3) {
        long silence = atol(argv[2]), last = read_state();
        long long changed = epoch_ms();
        printf("standby: watching, state is %ld\n", last);
        while (epoch_ms() < until) {
            long now_value = read_state();
            if (now_value >= 0 && now_value != last) {
                last = now_value;
                changed = epoch_ms();
            } else if (epoch_ms() - changed > silence) {
                long long t;
                /* Re-read: the last value every surviving node agrees on. */
                while ((now_value = read_state()) < 0 && epoch_ms() < until)
                    sleep_ms(20);
                t = epoch_ms();
                printf("standby: active silent for %ld ms; taking over from %ld at %lld\n", silence,
                       now_value, t);
                return count_from(now_value, "standby (now active)", t + 2000);
            }
            sleep_ms(50);
        }
        printf("standby: the active never stopped\n");
        return 1;
    }
    fprintf(stderr, "usage: ckpt_demo active | standby SILENCE_MS | show\n");
    return 2;
}
