/* Classic conformance, MSG: the calls of the openais 0.80 test program
 * testmsg, in its order and with its arguments, checked against the
 * results it prints as expected; plus what such a program meets next.
 * Written as a classic program is: "saAis.h" and "saMsg.h" found with
 * -I.../include/corosync, -lSaMsg, nothing else.
 *
 *  - Creation attributes as testmsg writes them ({128000, 128000, 128000}:
 *    the lowest priority area has size 0, so a message of that priority
 *    does not fit: SA_AIS_ERR_QUEUE_FULL), persistent, SA_TIME_END.
 *  - A queue group created twice: SA_AIS_ERR_EXIST (14).
 *  - A timeout of 0 in saMsgQueueOpen and saMsgMessageSend is no limit,
 *    as with every other openais 0.80 call.
 *  - The selection object polls readable only when a callback is pending.
 *
 * Prints one line per failed check, then "msg_classic: N passed, N failed";
 * exits non-zero on any failure. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saAis.h"
#include "saMsg.h"

#include "../lib/check.h"

static int received;
static void on_received(SaMsgQueueHandleT queueHandle)
{
    (void)queueHandle;
    received++;
}

static SaMsgCallbacksT callbacks = {0, 0, 0, on_received};
static SaVersionT version = {'B', 1, 1};
static SaMsgQueueCreationAttributesT creation_attributes = {
    SA_MSG_QUEUE_PERSISTENT,
    {128000, 128000, 128000},
    SA_TIME_END
};

static void setSaNameT(SaNameT *name, const char *str)
{
    name->length = (SaUint16T)strlen(str);
    memcpy(name->value, str, name->length);
}

static int readable(SaSelectionObjectT fd)
{
    struct pollfd p;
    p.fd = (int)fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 2000) > 0;
}

int main(void)
{
    SaMsgHandleT handle;
    SaMsgQueueHandleT queue_handle;
    SaSelectionObjectT select_fd;
    SaNameT queue_name, queue_group_name;
    SaMsgMessageT message;
    char text[] = "classic";

    CHECK_RC(saMsgInitialize(&handle, &callbacks, &version), SA_AIS_OK);
    CHECK_RC(saMsgSelectionObjectGet(handle, &select_fd), SA_AIS_OK);
    setSaNameT(&queue_name, "queue");
    CHECK_RC(saMsgQueueOpen(handle, &queue_name, &creation_attributes,
                            SA_MSG_QUEUE_CREATE | SA_MSG_QUEUE_RECEIVE_CALLBACK, SA_TIME_END,
                            &queue_handle), SA_AIS_OK);
    setSaNameT(&queue_group_name, "queue_group");
    CHECK_RC(saMsgQueueGroupCreate(handle, &queue_group_name, SA_MSG_QUEUE_GROUP_ROUND_ROBIN), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupCreate(handle, &queue_group_name, SA_MSG_QUEUE_GROUP_ROUND_ROBIN),
             SA_AIS_ERR_EXIST);
    CHECK_RC(saMsgQueueGroupInsert(handle, &queue_group_name, &queue_name), SA_AIS_OK);

    memset(&message, 0, sizeof message);
    message.data = text;
    message.size = sizeof text;
    message.priority = SA_MSG_MESSAGE_LOWEST_PRIORITY;
    CHECK_RC(saMsgMessageSend(handle, &queue_group_name, &message, 0), SA_AIS_ERR_QUEUE_FULL);
    message.priority = SA_MSG_MESSAGE_HIGHEST_PRIORITY;
    CHECK_RC(saMsgMessageSend(handle, &queue_group_name, &message, 0), SA_AIS_OK);
    /* The arrival makes the selection object readable; dispatch calls back. */
    CHECK_RC(readable(select_fd) ? SA_AIS_OK : SA_AIS_ERR_TIMEOUT, SA_AIS_OK);
    CHECK_RC(saMsgDispatch(handle, SA_DISPATCH_ALL), SA_AIS_OK);
    CHECK_RC(received == 1 ? SA_AIS_OK : SA_AIS_ERR_LIBRARY, SA_AIS_OK);

    CHECK_RC(saMsgQueueGroupRemove(handle, &queue_group_name, &queue_name), SA_AIS_OK);
    CHECK_RC(saMsgQueueGroupDelete(handle, &queue_group_name), SA_AIS_OK);
    CHECK_RC(saMsgQueueClose(queue_handle), SA_AIS_OK);
    CHECK_RC(saMsgQueueUnlink(handle, &queue_name), SA_AIS_OK);
    CHECK_RC(saMsgFinalize(handle), SA_AIS_OK);
    return check_summary("msg_classic");
}
