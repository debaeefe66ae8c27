/*
 * ABI of <cpg.h> (the openais 0.80 CPG API, libcpg.so.2): every type's size
 * and exact C type, the layout of struct cpg_address, struct cpg_name and
 * cpg_callbacks_t, every constant's and enumerator's value, and the exact
 * signature of each callback typedef. The expected numbers are written here
 * from the classic header for x86_64 (LP64); nothing is computed from the
 * header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/cpg.h>
#include <stdint.h>
#include <string.h>

#include "abi_check.h"

/* Callbacks with the classic signatures: assigning them to the typedefs is
 * a compile error (-Werror) if a parameter type differs. */
static uint32_t delivered_pid;
static void deliver_cb(cpg_handle_t handle, struct cpg_name *group_name, uint32_t nodeid,
                       uint32_t pid, void *msg, int msg_len)
{
    (void)handle;
    (void)group_name;
    (void)nodeid;
    delivered_pid = pid;
    (void)msg;
    (void)msg_len;
}
static void confchg_cb(cpg_handle_t handle, struct cpg_name *group_name,
                       struct cpg_address *member_list, int member_list_entries,
                       struct cpg_address *left_list, int left_list_entries,
                       struct cpg_address *joined_list, int joined_list_entries)
{
    (void)handle;
    (void)group_name;
    (void)member_list;
    (void)member_list_entries;
    (void)left_list;
    (void)left_list_entries;
    (void)joined_list;
    (void)joined_list_entries;
}

static void types(void)
{
    ABI_SAME_TYPE(cpg_handle_t, uint64_t);
    ABI_SIZE(cpg_handle_t, 8);
    ABI_SIZE(cpg_dispatch_t, 4);
    ABI_IS_ENUM(cpg_dispatch_t);
    ABI_SIZE(cpg_guarantee_t, 4);
    ABI_IS_ENUM(cpg_guarantee_t);
    ABI_SIZE(cpg_flow_control_state_t, 4);
    ABI_IS_ENUM(cpg_flow_control_state_t);
    ABI_SIZE(cpg_error_t, 4);
    ABI_IS_ENUM(cpg_error_t);
    ABI_SIZE(cpg_reason_t, 4);
    ABI_IS_ENUM(cpg_reason_t);
    ABI_SIZE(cpg_deliver_fn_t, 8);
    ABI_SIZE(cpg_confchg_fn_t, 8);
}

static void structs(void)
{
    struct cpg_address address;
    struct cpg_name name;

    ABI_SIZE(struct cpg_address, 12);
    ABI_ALIGN(struct cpg_address, 4);
    ABI_FIELD(struct cpg_address, nodeid, 0, 4);
    ABI_FIELD(struct cpg_address, pid, 4, 4);
    ABI_FIELD(struct cpg_address, reason, 8, 4);
    {
        uint32_t *nodeid = &address.nodeid;
        uint32_t *pid = &address.pid;
        uint32_t *reason = &address.reason;
        ABI_TRUE(nodeid && pid && reason);
    }

    ABI_SIZE(struct cpg_name, 132);
    ABI_ALIGN(struct cpg_name, 4);
    ABI_FIELD(struct cpg_name, length, 0, 4);
    ABI_FIELD(struct cpg_name, value, 4, 128);
    {
        uint32_t *length = &name.length;
        char *value = name.value;
        strcpy(value, "group");
        name.length = 5;
        ABI_TRUE(length != NULL);
        ABI_EQ(name.value[4], 'p');
    }

    ABI_SIZE(cpg_callbacks_t, 16);
    ABI_ALIGN(cpg_callbacks_t, 8);
    ABI_FIELD(cpg_callbacks_t, cpg_deliver_fn, 0, 8);
    ABI_FIELD(cpg_callbacks_t, cpg_confchg_fn, 8, 8);
    {
        cpg_callbacks_t callbacks = { deliver_cb, confchg_cb };
        cpg_deliver_fn_t deliver = deliver_cb;
        cpg_confchg_fn_t confchg = confchg_cb;
        callbacks.cpg_deliver_fn(1, &name, 2, 4242, name.value, 5);
        ABI_EQ(delivered_pid, 4242);
        ABI_TRUE(deliver == deliver_cb && callbacks.cpg_confchg_fn == confchg);
    }
}

static void constants(void)
{
    ABI_EQ(CPG_MAX_NAME_LENGTH, 128);
    ABI_EQ(CPG_MEMBERS_MAX, 128);
#if CPG_MAX_NAME_LENGTH != 128 || CPG_MEMBERS_MAX != 128
#error CPG_MAX_NAME_LENGTH and CPG_MEMBERS_MAX must be usable in #if and be 128
#endif

    ABI_EQ(CPG_DISPATCH_ONE, 0);
    ABI_EQ(CPG_DISPATCH_ALL, 1);
    ABI_EQ(CPG_DISPATCH_BLOCKING, 2);

    ABI_EQ(CPG_TYPE_UNORDERED, 0);
    ABI_EQ(CPG_TYPE_FIFO, 1);
    ABI_EQ(CPG_TYPE_AGREED, 2);
    ABI_EQ(CPG_TYPE_SAFE, 3);

    ABI_EQ(CPG_FLOW_CONTROL_DISABLED, 0);
    ABI_EQ(CPG_FLOW_CONTROL_ENABLED, 1);

    ABI_EQ(CPG_OK, 1);
    ABI_EQ(CPG_ERR_LIBRARY, 2);
    ABI_EQ(CPG_ERR_TIMEOUT, 5);
    ABI_EQ(CPG_ERR_TRY_AGAIN, 6);
    ABI_EQ(CPG_ERR_INVALID_PARAM, 7);
    ABI_EQ(CPG_ERR_NO_MEMORY, 8);
    ABI_EQ(CPG_ERR_BAD_HANDLE, 9);
    ABI_EQ(CPG_ERR_BUSY, 10);
    ABI_EQ(CPG_ERR_ACCESS, 11);
    ABI_EQ(CPG_ERR_NOT_EXIST, 12);
    ABI_EQ(CPG_ERR_EXIST, 14);
    ABI_EQ(CPG_ERR_NOT_SUPPORTED, 20);
    ABI_EQ(CPG_ERR_SECURITY, 29);
    ABI_EQ(CPG_ERR_TOO_MANY_GROUPS, 30);

    ABI_EQ(CPG_REASON_JOIN, 1);
    ABI_EQ(CPG_REASON_LEAVE, 2);
    ABI_EQ(CPG_REASON_NODEDOWN, 3);
    ABI_EQ(CPG_REASON_NODEUP, 4);
    ABI_EQ(CPG_REASON_PROCDOWN, 5);
    {
        /* Every enumerator is there and distinct. */
        cpg_error_t e = CPG_ERR_SECURITY;
        cpg_reason_t r = CPG_REASON_PROCDOWN;
        cpg_dispatch_t d = CPG_DISPATCH_ALL;
        cpg_guarantee_t g = CPG_TYPE_SAFE;
        cpg_flow_control_state_t f = CPG_FLOW_CONTROL_ENABLED;
        int n = 0;
        switch (e) {
        case CPG_OK: case CPG_ERR_LIBRARY: case CPG_ERR_TIMEOUT: case CPG_ERR_TRY_AGAIN:
        case CPG_ERR_INVALID_PARAM: case CPG_ERR_NO_MEMORY: case CPG_ERR_BAD_HANDLE:
        case CPG_ERR_BUSY: case CPG_ERR_ACCESS: case CPG_ERR_NOT_EXIST: case CPG_ERR_EXIST:
        case CPG_ERR_NOT_SUPPORTED: case CPG_ERR_SECURITY: case CPG_ERR_TOO_MANY_GROUPS:
            n++;
            break;
        }
        switch (r) {
        case CPG_REASON_JOIN: case CPG_REASON_LEAVE: case CPG_REASON_NODEDOWN:
        case CPG_REASON_NODEUP: case CPG_REASON_PROCDOWN:
            n++;
            break;
        }
        switch (d) {
        case CPG_DISPATCH_ONE: case CPG_DISPATCH_ALL: case CPG_DISPATCH_BLOCKING:
            n++;
            break;
        }
        switch (g) {
        case CPG_TYPE_UNORDERED: case CPG_TYPE_FIFO: case CPG_TYPE_AGREED: case CPG_TYPE_SAFE:
            n++;
            break;
        }
        switch (f) {
        case CPG_FLOW_CONTROL_DISABLED: case CPG_FLOW_CONTROL_ENABLED:
            n++;
            break;
        }
        ABI_EQ(n, 5);
    }
}

int main(void)
{
    types();
    structs();
    constants();
    return ABI_DONE("abi_cpg");
}
