/*
 * libSaMsg against a live executive: every function of MSG B.01.01 and
 * its error paths. Uses only <corosync/saMsg.h> and -lSaMsg (and -lpthread).
 *
 *   msg_api            (run by c-tests/msg/run.sh through with-exec.sh,
 *                       and against node 2 of three by cluster.sh)
 *
 * Names carry the pid, so runs against the same cluster do not meet.
 * Prints "msg_api: N passed, N failed"; exits 1 on any failure.
 */
#define _DEFAULT_SOURCE
#include <corosync/saMsg.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/check.h"

#define SECOND ((SaTimeT)SA_TIME_ONE_SECOND)
#define MILLISECOND ((SaTimeT)SA_TIME_ONE_MILLISECOND)

static SaVersionT b0101(void)
{
    SaVersionT v = {'B', 1, 1};
    return v;
}

static SaNameT name(const char *what)
{
    SaNameT n;
    memset(&n, 0, sizeof n);
    n.length = (SaUint16T)snprintf((char *)n.value, sizeof n.value, "%s-%ld", what, (long)getpid());
    return n;
}

static SaMsgQueueCreationAttributesT attrs(SaMsgQueueCreationFlagsT flags, SaSizeT size, SaTimeT retention)
{
    SaMsgQueueCreationAttributesT a;
    int p;
    a.creationFlags = flags;
    for (p = 0; p <= SA_MSG_MESSAGE_LOWEST_PRIORITY; p++)
        a.size[p] = size;
    a.retentionTime = retention;
    return a;
}

static SaMsgMessageT message(SaUint8T priority, const char *text)
{
    SaMsgMessageT m;
    memset(&m, 0, sizeof m);
    m.type = 7;
    m.version = 2;
    m.priority = priority;
    m.size = strlen(text);
    m.data = (void *)text;
    return m;
}

/* Gets one message into a 64-byte buffer; its text (static) or "" on error. */
static char got_text[65];
static SaAisErrorT get_text(SaMsgQueueHandleT q, SaTimeT timeout, SaMsgSenderIdT *sender)
{
    SaMsgMessageT m;
    SaTimeT sent = 0;
    SaAisErrorT rc;
    memset(&m, 0, sizeof m);
    memset(got_text, 0, sizeof got_text);
    m.data = got_text;
    m.size = 64;
    rc = saMsgMessageGet(q, &m, &sent, sender, timeout);
    if (rc == SA_AIS_OK)
        got_text[m.size] = 0;
    return rc;
}

/* Callback records. */
static int opened_count, delivered_count, received_count, track_count;
static SaMsgQueueHandleT opened_handle, received_handle;
static SaInvocationT last_invocation;
static SaAisErrorT last_error;
static SaUint32T track_members, track_items;
static SaMsgQueueGroupChangesT track_change;

static void on_open(SaInvocationT invocation, SaMsgQueueHandleT handle, SaAisErrorT error)
{
    opened_count++;
    last_invocation = invocation;
    opened_handle = handle;
    last_error = error;
}

static void on_track(const SaNameT *group, const SaMsgQueueGroupNotificationBufferT *buffer,
                     SaUint32T members, SaAisErrorT error)
{
    (void)group;
    track_count++;
    track_members = members;
    track_items = buffer->numberOfItems;
    track_change = buffer->numberOfItems ? buffer->notification[buffer->numberOfItems - 1].change : 0;
    last_error = error;
}

static void on_delivered(SaInvocationT invocation, SaAisErrorT error)
{
    delivered_count++;
    last_invocation = invocation;
    last_error = error;
}

static void on_received(SaMsgQueueHandleT handle)
{
    received_count++;
    received_handle = handle;
}

/* Dispatches until *counter reaches want (5 s at most). */
static int wait_for(SaMsgHandleT h, int *counter, int want)
{
    SaSelectionObjectT fd;
    int i;
    if (saMsgSelectionObjectGet(h, &fd) != SA_AIS_OK)
        return 0;
    for (i = 0; i < 500 && *counter < want; i++) {
        struct pollfd p = {(int)fd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0)
            saMsgDispatch(h, SA_DISPATCH_ALL);
    }
    return *counter >= want;
}

static const SaMsgCallbacksT all_callbacks = {on_open, on_track, on_delivered, on_received};

static void test_handles(void)
{
    SaMsgHandleT h;
    SaVersionT v = b0101();
    SaVersionT bad = {'C', 1, 1};
    SaSelectionObjectT fd;

    CHECK_RC(saMsgInitialize(NULL, &all_callbacks, &v), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgInitialize(&h, &all_callbacks, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgInitialize(&h, &all_callbacks, &bad), SA_AIS_ERR_VERSION);
    CHECK_RC(saMsgInitialize(&h, NULL, &v), SA_AIS_OK);
    CHECK_RC(saMsgSelectionObjectGet(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgSelectionObjectGet(h, &fd), SA_AIS_OK);
    CHECK_RC(saMsgDispatch(h, 99), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgDispatch(h, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(h), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(h), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgDispatch(h, SA_DISPATCH_ALL), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgSelectionObjectGet(h, &fd), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgQueueClose(12345), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgMessageCancel(12345), SA_AIS_ERR_BAD_HANDLE);
}

static void test_queues(SaMsgHandleT h)
{
    SaNameT qn = name("queue"), missing = name("missing");
    SaMsgQueueCreationAttributesT a = attrs(0, 100, 10 * SECOND), other = attrs(0, 50, 0);
    SaMsgQueueHandleT q, q2;
    SaMsgQueueStatusT st;
    SaNameT longname;

    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE | 0x80, 0, &q), SA_AIS_ERR_BAD_FLAGS);
    CHECK_RC(saMsgQueueOpen(h, &qn, NULL, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, 0, 0, &q), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueOpen(h, NULL, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueOpen(h + 1, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgQueueOpen(h, &missing, NULL, 0, 0, &q), SA_AIS_ERR_NOT_EXIST);
    a.creationFlags = 0x10;
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_ERR_BAD_FLAGS);
    a.creationFlags = 0;
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, SA_TIME_END, &q), SA_AIS_OK);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q2), SA_AIS_ERR_BUSY);
    CHECK_RC(saMsgQueueOpen(h, &qn, NULL, 0, 0, &q2), SA_AIS_ERR_BUSY);

    memset(&st, 0xff, sizeof st);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_OK);
    CHECK(st.creationFlags == 0 && st.retentionTime == 10 * SECOND && st.closeTime == 0);
    CHECK(st.saMsgQueueUsage[0].queueSize == 100 && st.saMsgQueueUsage[3].queueUsed == 0);
    CHECK(st.saMsgQueueUsage[2].numberOfMessages == 0);
    CHECK_RC(saMsgQueueStatusGet(h, &missing, &st), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueStatusGet(h + 1, &qn, &st), SA_AIS_ERR_BAD_HANDLE);
    memset(&longname, 0, sizeof longname);
    longname.length = SA_MAX_NAME_LENGTH + 1;
    CHECK_RC(saMsgQueueStatusGet(h, &longname, &st), SA_AIS_ERR_INVALID_PARAM);

    /* Sends fill the priority areas; gets take the highest first. */
    {
        SaMsgMessageT m = message(3, "low");
        SaMsgMessageT big = message(1, "");
        char data[101];
        SaMsgSenderIdT sender = 99;
        memset(data, 'x', sizeof data);
        big.data = data;
        big.size = 101;
        CHECK_RC(saMsgMessageSend(h, &qn, &m, SA_TIME_END), SA_AIS_OK);
        m = message(0, "high");
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
        m = message(0, "second");
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
        CHECK_RC(saMsgMessageSend(h, &qn, &big, 0), SA_AIS_ERR_QUEUE_FULL);
        big.size = 100;
        CHECK_RC(saMsgMessageSend(h, &qn, &big, 0), SA_AIS_OK);
        big.size = 1;
        CHECK_RC(saMsgMessageSend(h, &qn, &big, 0), SA_AIS_ERR_QUEUE_FULL);
        m.priority = 4;
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(saMsgMessageSend(h, &qn, NULL, 0), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(saMsgMessageSend(h, NULL, &m, 0), SA_AIS_ERR_INVALID_PARAM);
        m = message(0, "x");
        CHECK_RC(saMsgMessageSend(h, &missing, &m, 0), SA_AIS_ERR_NOT_EXIST);
        CHECK_RC(saMsgMessageSend(h + 1, &qn, &m, 0), SA_AIS_ERR_BAD_HANDLE);

        CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_OK);
        CHECK(st.saMsgQueueUsage[0].numberOfMessages == 2 && st.saMsgQueueUsage[0].queueUsed == 10);
        CHECK(st.saMsgQueueUsage[1].queueUsed == 100 && st.saMsgQueueUsage[3].numberOfMessages == 1);

        CHECK_RC(get_text(q, 0, &sender), SA_AIS_OK);
        CHECK(strcmp(got_text, "high") == 0 && sender == 0);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
        CHECK(strcmp(got_text, "second") == 0);
        /* 100 bytes do not fit 64: NO_SPACE with the size, still queued. */
        {
            SaMsgMessageT r;
            char small[64];
            SaTimeT when = 0;
            memset(&r, 0, sizeof r);
            r.data = small;
            r.size = sizeof small;
            CHECK_RC(saMsgMessageGet(q, &r, &when, NULL, 0), SA_AIS_ERR_NO_SPACE);
            CHECK(r.size == 100);
            /* data NULL: the library allocates. */
            SaNameT sender_name;
            memset(&r, 0, sizeof r);
            r.senderName = &sender_name;
            CHECK_RC(saMsgMessageGet(q, &r, &when, NULL, 0), SA_AIS_OK);
            CHECK(r.size == 100 && r.data != NULL && ((char *)r.data)[99] == 'x');
            CHECK(r.priority == 1 && r.type == 7 && r.version == 2 && sender_name.length == 0);
            CHECK(when > 0);
            free(r.data);
        }
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
        CHECK(strcmp(got_text, "low") == 0);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_ERR_TIMEOUT);
        CHECK_RC(saMsgMessageGet(q, NULL, NULL, NULL, 0), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(get_text(q, -1, NULL), SA_AIS_ERR_INVALID_PARAM);
        CHECK_RC(get_text(q + 1, 0, NULL), SA_AIS_ERR_BAD_HANDLE);
    }

    /* A get with a timeout waits that long, then TIMEOUT. */
    {
        struct timespec t0, t1;
        long ms;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_RC(get_text(q, 300 * MILLISECOND, NULL), SA_AIS_ERR_TIMEOUT);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        CHECK(ms >= 290 && ms < 3000);
    }

    /* The sender's name travels with the message. */
    {
        SaMsgMessageT m = message(2, "named");
        SaNameT me = name("sender"), got;
        SaMsgMessageT r;
        char buf[16];
        m.senderName = &me;
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
        memset(&r, 0, sizeof r);
        memset(&got, 0, sizeof got);
        r.data = buf;
        r.size = sizeof buf;
        r.senderName = &got;
        CHECK_RC(saMsgMessageGet(q, &r, NULL, NULL, SA_TIME_END), SA_AIS_OK);
        CHECK(got.length == me.length && memcmp(got.value, me.value, me.length) == 0);
    }

    /* Close: the queue stays (retention) with its messages; reopened. */
    {
        SaMsgMessageT m = message(1, "kept");
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
        CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
        CHECK_RC(saMsgQueueClose(q), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_ERR_BAD_HANDLE);
        CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_OK);
        CHECK(st.closeTime > 0 && st.saMsgQueueUsage[1].numberOfMessages == 1);
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK); /* a closed queue takes messages */
        CHECK_RC(saMsgQueueOpen(h, &qn, &other, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_ERR_EXIST);
        CHECK_RC(saMsgQueueOpen(h, &qn, NULL, 0, 0, &q), SA_AIS_OK);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
        CHECK(strcmp(got_text, "kept") == 0);
        CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
        /* SA_MSG_QUEUE_EMPTY discards what is queued. */
        CHECK_RC(saMsgQueueOpen(h, &qn, NULL, SA_MSG_QUEUE_EMPTY, 0, &q), SA_AIS_OK);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_ERR_TIMEOUT);
        CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    }

    /* Unlink: gone at once when closed; an open one lives until its close. */
    CHECK_RC(saMsgQueueUnlink(h, &qn), SA_AIS_OK);
    CHECK_RC(saMsgQueueUnlink(h, &qn), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueUnlink(h, NULL), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueUnlink(h + 1, &qn), SA_AIS_ERR_BAD_HANDLE);
    a = attrs(SA_MSG_QUEUE_PERSISTENT, 100, 0);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_OK);
    {
        SaMsgMessageT m = message(0, "unlinked");
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
        CHECK_RC(saMsgQueueUnlink(h, &qn), SA_AIS_OK);
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_ERR_NOT_EXIST);
        CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
        CHECK(strcmp(got_text, "unlinked") == 0);
        CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    }
    /* A persistent queue outlives its close without retention. */
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_OK);
    CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    usleep(100000);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_OK);
    CHECK(st.creationFlags == SA_MSG_QUEUE_PERSISTENT);
    CHECK_RC(saMsgQueueUnlink(h, &qn), SA_AIS_OK);
    /* A non-persistent queue without retention goes at its close. */
    a = attrs(0, 100, 0);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_OK);
    CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_ERR_NOT_EXIST);
    /* ... and one with a short retention once it has passed. */
    a = attrs(0, 100, 200 * MILLISECOND);
    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_OK);
    CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_OK);
    usleep(600000);
    CHECK_RC(saMsgQueueStatusGet(h, &qn, &st), SA_AIS_ERR_NOT_EXIST);
}

struct blocked {
    SaMsgQueueHandleT q;
    SaAisErrorT rc;
};

static void *blocked_get(void *arg)
{
    struct blocked *b = arg;
    SaMsgMessageT m;
    char buf[64];
    memset(&m, 0, sizeof m);
    m.data = buf;
    m.size = sizeof buf;
    b->rc = saMsgMessageGet(b->q, &m, NULL, NULL, SA_TIME_END);
    return NULL;
}

static void test_blocking(SaMsgHandleT h)
{
    SaNameT qn = name("blocking");
    SaMsgQueueCreationAttributesT a = attrs(0, 1000, 0);
    SaMsgQueueHandleT q;
    pthread_t t1, t2;
    struct blocked b1, b2;

    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &q), SA_AIS_OK);
    /* A blocked get is answered by a send from another thread. */
    b1.q = q;
    b1.rc = 0;
    pthread_create(&t1, NULL, blocked_get, &b1);
    usleep(200000);
    {
        SaMsgMessageT m = message(0, "wake");
        CHECK_RC(saMsgMessageSend(h, &qn, &m, 0), SA_AIS_OK);
    }
    pthread_join(t1, NULL);
    CHECK_RC(b1.rc, SA_AIS_OK);
    /* Cancel wakes every blocked get on the queue handle. */
    b1.rc = b2.rc = 0;
    b2.q = q;
    pthread_create(&t1, NULL, blocked_get, &b1);
    pthread_create(&t2, NULL, blocked_get, &b2);
    usleep(300000);
    CHECK_RC(saMsgMessageCancel(q), SA_AIS_OK);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_RC(b1.rc, SA_AIS_ERR_INTERRUPT);
    CHECK_RC(b2.rc, SA_AIS_ERR_INTERRUPT);
    /* Close ends a blocked get with BAD_HANDLE. */
    b1.rc = 0;
    pthread_create(&t1, NULL, blocked_get, &b1);
    usleep(200000);
    CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    pthread_join(t1, NULL);
    CHECK_RC(b1.rc, SA_AIS_ERR_BAD_HANDLE);
}

struct server {
    SaMsgHandleT h;
    SaMsgQueueHandleT q;
    int async;
};

/* Answers one request with "re:<text>". */
static void *serve_one(void *arg)
{
    struct server *s = arg;
    SaMsgSenderIdT sender = 0;
    char reply[80];
    SaMsgMessageT m;
    if (get_text(s->q, 5 * SECOND, &sender) != SA_AIS_OK)
        return NULL;
    snprintf(reply, sizeof reply, "re:%s", got_text);
    m = message(0, reply);
    if (s->async)
        saMsgMessageReplyAsync(s->h, 42, &m, &sender, 0);
    else
        saMsgMessageReply(s->h, &m, &sender, SA_TIME_END);
    return NULL;
}

static void test_send_receive(SaMsgHandleT h)
{
    SaNameT qn = name("server"), missing = name("nobody");
    SaMsgQueueCreationAttributesT a = attrs(0, 1000, 0);
    struct server s;
    pthread_t t;
    SaMsgMessageT out = message(0, "ping"), in;
    char buf[64];
    SaTimeT when = 0;
    SaMsgSenderIdT none = 12345;

    CHECK_RC(saMsgQueueOpen(h, &qn, &a, SA_MSG_QUEUE_CREATE, 0, &s.q), SA_AIS_OK);
    s.h = h;
    for (s.async = 0; s.async < 2; s.async++) {
        pthread_create(&t, NULL, serve_one, &s);
        memset(&in, 0, sizeof in);
        in.data = buf;
        in.size = sizeof buf;
        CHECK_RC(saMsgMessageSendReceive(h, &qn, &out, &in, &when, 5 * SECOND), SA_AIS_OK);
        CHECK(in.size == 7 && memcmp(buf, "re:ping", 7) == 0 && when > 0);
        pthread_join(t, NULL);
    }
    /* Nobody answers: TIMEOUT; the late reply finds nobody. */
    {
        SaMsgSenderIdT sender = 0;
        SaMsgMessageT r = message(0, "late");
        CHECK_RC(saMsgMessageSendReceive(h, &qn, &out, &in, NULL, 200 * MILLISECOND), SA_AIS_ERR_TIMEOUT);
        CHECK_RC(get_text(s.q, 0, &sender), SA_AIS_OK);
        CHECK(sender != 0);
        CHECK_RC(saMsgMessageReply(h, &r, &sender, 0), SA_AIS_ERR_NOT_EXIST);
    }
    CHECK_RC(saMsgMessageSendReceive(h, &missing, &out, &in, NULL, SECOND), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgMessageSendReceive(h, &qn, &out, NULL, NULL, SECOND), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgMessageReply(h, &out, &none, 0), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgMessageReply(h, &out, NULL, 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgMessageReply(h + 1, &out, &none, 0), SA_AIS_ERR_BAD_HANDLE);
    CHECK_RC(saMsgQueueClose(s.q), SA_AIS_OK);
}

static void test_async(void)
{
    SaMsgHandleT h, plain;
    SaVersionT v = b0101();
    SaNameT qn = name("async");
    SaMsgQueueCreationAttributesT a = attrs(0, 10, 0);
    SaMsgMessageT m = message(0, "12345");
    SaMsgQueueHandleT q;
    int i;

    CHECK_RC(saMsgInitialize(&h, &all_callbacks, &v), SA_AIS_OK);
    CHECK_RC(saMsgInitialize(&plain, NULL, &v), SA_AIS_OK);
    CHECK_RC(saMsgQueueOpenAsync(plain, 1, &qn, &a, SA_MSG_QUEUE_CREATE), SA_AIS_ERR_INIT);
    CHECK_RC(saMsgQueueOpenAsync(h, 77, &qn, &a, SA_MSG_QUEUE_CREATE | SA_MSG_QUEUE_RECEIVE_CALLBACK),
             SA_AIS_OK);
    CHECK(wait_for(h, &opened_count, 1));
    CHECK(last_invocation == 77 && last_error == SA_AIS_OK);
    q = opened_handle;
    CHECK_RC(saMsgQueueOpenAsync(h, 78, &qn, &a, SA_MSG_QUEUE_CREATE), SA_AIS_OK);
    CHECK(wait_for(h, &opened_count, 2));
    CHECK(last_invocation == 78 && last_error == SA_AIS_ERR_BUSY);

    /* Delivered acks: OK, then QUEUE_FULL (10 bytes take two of 5). */
    CHECK_RC(saMsgMessageSendAsync(plain, 5, &qn, &m, SA_MSG_MESSAGE_DELIVERED_ACK), SA_AIS_ERR_INIT);
    CHECK_RC(saMsgMessageSendAsync(h, 5, &qn, &m, 0x4), SA_AIS_ERR_BAD_FLAGS);
    for (i = 0; i < 3; i++)
        CHECK_RC(saMsgMessageSendAsync(h, 100 + i, &qn, &m, SA_MSG_MESSAGE_DELIVERED_ACK), SA_AIS_OK);
    CHECK(wait_for(h, &delivered_count, 3));
    CHECK(last_invocation == 102 && last_error == SA_AIS_ERR_QUEUE_FULL);
    /* Each arrival called the received callback with the queue handle. */
    CHECK(wait_for(h, &received_count, 2));
    CHECK(received_handle == q);
    CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
    /* Without ack: nothing comes back. */
    CHECK_RC(saMsgMessageSendAsync(plain, 6, &qn, &m, 0), SA_AIS_OK);
    CHECK_RC(get_text(q, 0, NULL), SA_AIS_OK);
    CHECK_RC(get_text(q, SECOND, NULL), SA_AIS_OK);
    CHECK(strcmp(got_text, "12345") == 0);
    CHECK_RC(saMsgQueueClose(q), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(plain), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(h), SA_AIS_OK);
}

static void test_groups(void)
{
    SaMsgHandleT h;
    SaVersionT v = b0101();
    SaNameT g = name("group"), qa = name("qa"), qb = name("qb"), missing = name("nogroup");
    SaMsgQueueCreationAttributesT a = attrs(0, 1000, 0);
    SaMsgQueueHandleT ha, hb;
    SaMsgMessageT m = message(0, "rr");
    SaMsgQueueGroupNotificationBufferT buf;
    SaMsgQueueGroupNotificationT items[4];
    int i, on_a = 0, on_b = 0;

    CHECK_RC(saMsgInitialize(&h, &all_callbacks, &v), SA_AIS_OK);
    CHECK_RC(saMsgQueueOpen(h, &qa, &a, SA_MSG_QUEUE_CREATE, 0, &ha), SA_AIS_OK);
    CHECK_RC(saMsgQueueOpen(h, &qb, &a, SA_MSG_QUEUE_CREATE, 0, &hb), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupCreate(h, &g, 0), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueGroupCreate(h, &g, 5), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueGroupCreate(h, NULL, SA_MSG_QUEUE_GROUP_ROUND_ROBIN), SA_AIS_ERR_INVALID_PARAM);
    CHECK_RC(saMsgQueueGroupCreate(h, &g, SA_MSG_QUEUE_GROUP_ROUND_ROBIN), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupCreate(h, &g, SA_MSG_QUEUE_GROUP_ROUND_ROBIN), SA_AIS_ERR_EXIST);
    CHECK_RC(saMsgMessageSend(h, &g, &m, 0), SA_AIS_ERR_QUEUE_NOT_AVAILABLE);
    CHECK_RC(saMsgQueueGroupInsert(h, &missing, &qa), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &missing), SA_AIS_ERR_NOT_EXIST);

    /* Track: current in the caller's buffer (too small first), then changes. */
    CHECK_RC(saMsgQueueGroupTrack(h, &g, 0x40, NULL), SA_AIS_ERR_BAD_FLAGS);
    CHECK_RC(saMsgQueueGroupTrack(h, &missing, SA_TRACK_CHANGES, NULL), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueGroupTrack(h, &g, SA_TRACK_CHANGES_ONLY, NULL), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qa), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qa), SA_AIS_ERR_EXIST);
    CHECK(wait_for(h, &track_count, 1));
    CHECK(track_members == 1 && track_items == 1 && track_change == SA_MSG_QUEUE_GROUP_ADDED);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qb), SA_AIS_OK);
    CHECK(wait_for(h, &track_count, 2));
    CHECK(track_members == 2 && track_items == 1);
    buf.numberOfItems = 1;
    buf.notification = items;
    CHECK_RC(saMsgQueueGroupTrack(h, &g, SA_TRACK_CURRENT, &buf), SA_AIS_ERR_NO_SPACE);
    CHECK(buf.numberOfItems == 2);
    buf.numberOfItems = 4;
    CHECK_RC(saMsgQueueGroupTrack(h, &g, SA_TRACK_CURRENT, &buf), SA_AIS_OK);
    CHECK(buf.numberOfItems == 2 && buf.queueGroupPolicy == SA_MSG_QUEUE_GROUP_ROUND_ROBIN);
    CHECK(items[1].member.queueName.length == qb.length && items[0].change == SA_MSG_QUEUE_GROUP_NO_CHANGE);
    buf.notification = NULL;
    CHECK_RC(saMsgQueueGroupTrack(h, &g, SA_TRACK_CURRENT, &buf), SA_AIS_OK);
    CHECK(buf.numberOfItems == 2 && buf.notification != NULL);
    free(buf.notification);
    CHECK_RC(saMsgQueueGroupTrack(h, &g, SA_TRACK_CURRENT, NULL), SA_AIS_OK);
    CHECK(wait_for(h, &track_count, 3));
    CHECK(track_members == 2 && track_items == 2);

    /* Round robin alternates between the two members. */
    for (i = 0; i < 6; i++)
        CHECK_RC(saMsgMessageSend(h, &g, &m, 0), SA_AIS_OK);
    while (get_text(ha, 0, NULL) == SA_AIS_OK)
        on_a++;
    while (get_text(hb, 0, NULL) == SA_AIS_OK)
        on_b++;
    CHECK(on_a == 3 && on_b == 3);

    CHECK_RC(saMsgQueueGroupRemove(h, &g, &qa), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupRemove(h, &g, &qa), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueGroupRemove(h, &missing, &qa), SA_AIS_ERR_NOT_EXIST);
    CHECK(wait_for(h, &track_count, 4));
    CHECK(track_members == 1 && track_change == SA_MSG_QUEUE_GROUP_REMOVED);
    CHECK_RC(saMsgQueueGroupTrackStop(h, &g), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupTrackStop(h, &g), SA_AIS_ERR_NOT_EXIST);
    CHECK_RC(saMsgQueueGroupDelete(h, &g), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupDelete(h, &g), SA_AIS_ERR_NOT_EXIST);

    /* Broadcast reaches every member. */
    CHECK_RC(saMsgQueueGroupCreate(h, &g, SA_MSG_QUEUE_GROUP_BROADCAST), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qa), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qb), SA_AIS_OK);
    CHECK_RC(saMsgMessageSend(h, &g, &m, 0), SA_AIS_OK);
    CHECK_RC(get_text(ha, 0, NULL), SA_AIS_OK);
    CHECK_RC(get_text(hb, 0, NULL), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupDelete(h, &g), SA_AIS_OK);
    /* Local best queue: the member with the most room. */
    CHECK_RC(saMsgQueueGroupCreate(h, &g, SA_MSG_QUEUE_GROUP_LOCAL_BEST_QUEUE), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qa), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupInsert(h, &g, &qb), SA_AIS_OK);
    CHECK_RC(saMsgMessageSend(h, &qa, &m, 0), SA_AIS_OK);
    CHECK_RC(saMsgMessageSend(h, &g, &m, 0), SA_AIS_OK);
    CHECK_RC(get_text(hb, 0, NULL), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupDelete(h, &g), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(h), SA_AIS_OK);
    /* Finalize closed the queues: a send to the group's old members still works. */
}

int main(void)
{
    SaMsgHandleT h;
    SaVersionT v = b0101();

    test_handles();
    if (saMsgInitialize(&h, NULL, &v) != SA_AIS_OK) {
        fprintf(stderr, "msg_api: saMsgInitialize failed\n");
        return 1;
    }
    test_queues(h);
    test_blocking(h);
    test_send_receive(h);
    test_async();
    test_groups();
    CHECK_RC(saMsgFinalize(h), SA_AIS_OK);
    return check_summary("msg_api");
}
