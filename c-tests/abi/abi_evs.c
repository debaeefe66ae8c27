/*
 * ABI of <evs.h> (the openais 0.80 EVS API, libevs.so.2): every type's size
 * and exact C type, the layout of struct evs_group and evs_callbacks_t,
 * every constant's and enumerator's value, and the exact signature of each
 * callback typedef. The expected numbers are written here from the classic
 * header for x86_64 (LP64); nothing is computed from the header.
 *
 * The enums are checked to be enums when run-abi.sh builds this as C++11.
 */
#include <corosync/evs.h>
#include <stdint.h>
#include <string.h>

#include "abi_check.h"

/* Callbacks with the classic signatures: assigning them to the typedefs is
 * a compile error (-Werror) if a parameter type differs. */
static unsigned int delivered_from;
static void deliver_cb(unsigned int nodeid, void *msg, int msg_len)
{
    delivered_from = nodeid;
    (void)msg;
    (void)msg_len;
}
static void confchg_cb(unsigned int *member_list, int member_list_entries,
                       unsigned int *left_list, int left_list_entries,
                       unsigned int *joined_list, int joined_list_entries)
{
    (void)member_list;
    (void)member_list_entries;
    (void)left_list;
    (void)left_list_entries;
    (void)joined_list;
    (void)joined_list_entries;
}

/* As programs write it: a tagged struct, initialized from a string. */
static struct evs_group groups[3] = { { "key1" }, { "key2" }, { "key3" } };

static void types(void)
{
    ABI_SAME_TYPE(evs_handle_t, uint64_t);
    ABI_SIZE(evs_handle_t, 8);
    ABI_SIZE(evs_dispatch_t, 4);
    ABI_IS_ENUM(evs_dispatch_t);
    ABI_SIZE(evs_guarantee_t, 4);
    ABI_IS_ENUM(evs_guarantee_t);
    ABI_SIZE(evs_error_t, 4);
    ABI_IS_ENUM(evs_error_t);
    ABI_SIZE(evs_deliver_fn_t, 8);
    ABI_SIZE(evs_confchg_fn_t, 8);
}

static void structs(void)
{
    ABI_SIZE(struct evs_group, 32);
    ABI_ALIGN(struct evs_group, 1);
    ABI_FIELD(struct evs_group, key, 0, 32);
    {
        char *key = groups[1].key;
        ABI_EQ(strcmp(key, "key2"), 0);
        ABI_EQ(groups[2].key[31], 0);
    }

    ABI_EQ(TOTEMIP_ADDRLEN, 16);
    ABI_SIZE(struct evs_address, 24);
    ABI_ALIGN(struct evs_address, 4);
    ABI_FIELD(struct evs_address, nodeid, 0, 4);
    ABI_FIELD(struct evs_address, family, 4, 2);
    ABI_FIELD(struct evs_address, addr, 6, 16);

    ABI_SIZE(evs_callbacks_t, 16);
    ABI_ALIGN(evs_callbacks_t, 8);
    ABI_FIELD(evs_callbacks_t, evs_deliver_fn, 0, 8);
    ABI_FIELD(evs_callbacks_t, evs_confchg_fn, 8, 8);
    {
        evs_callbacks_t callbacks = { deliver_cb, confchg_cb };
        evs_deliver_fn_t deliver = deliver_cb;
        evs_confchg_fn_t confchg = confchg_cb;
        char msg[4] = "abc";
        callbacks.evs_deliver_fn(0x0a000001U, msg, 4);
        ABI_EQ(delivered_from, 0x0a000001U);
        ABI_TRUE(deliver == deliver_cb && callbacks.evs_confchg_fn == confchg);
    }
}

static void constants(void)
{
    ABI_EQ(TOTEMIP_ADDRLEN, 16);

    ABI_EQ(EVS_DISPATCH_ONE, 0);
    ABI_EQ(EVS_DISPATCH_ALL, 1);
    ABI_EQ(EVS_DISPATCH_BLOCKING, 2);

    ABI_EQ(EVS_TYPE_UNORDERED, 0);
    ABI_EQ(EVS_TYPE_FIFO, 1);
    ABI_EQ(EVS_TYPE_AGREED, 2);
    ABI_EQ(EVS_TYPE_SAFE, 3);

    ABI_EQ(EVS_OK, 1);
    ABI_EQ(EVS_ERR_LIBRARY, 2);
    ABI_EQ(EVS_ERR_TIMEOUT, 5);
    ABI_EQ(EVS_ERR_TRY_AGAIN, 6);
    ABI_EQ(EVS_ERR_INVALID_PARAM, 7);
    ABI_EQ(EVS_ERR_NO_MEMORY, 8);
    ABI_EQ(EVS_ERR_BAD_HANDLE, 9);
    ABI_EQ(EVS_ERR_ACCESS, 11);
    ABI_EQ(EVS_ERR_NOT_EXIST, 12);
    ABI_EQ(EVS_ERR_EXIST, 14);
    ABI_EQ(EVS_ERR_NOT_SUPPORTED, 20);
    ABI_EQ(EVS_ERR_SECURITY, 29);
    ABI_EQ(EVS_ERR_TOO_MANY_GROUPS, 30);
    {
        /* Every enumerator is there and distinct. */
        evs_error_t e = EVS_ERR_TOO_MANY_GROUPS;
        evs_dispatch_t d = EVS_DISPATCH_BLOCKING;
        evs_guarantee_t g = EVS_TYPE_AGREED;
        int n = 0;
        switch (e) {
        case EVS_OK: case EVS_ERR_LIBRARY: case EVS_ERR_TIMEOUT: case EVS_ERR_TRY_AGAIN:
        case EVS_ERR_INVALID_PARAM: case EVS_ERR_NO_MEMORY: case EVS_ERR_BAD_HANDLE:
        case EVS_ERR_ACCESS: case EVS_ERR_NOT_EXIST: case EVS_ERR_EXIST:
        case EVS_ERR_NOT_SUPPORTED: case EVS_ERR_SECURITY: case EVS_ERR_TOO_MANY_GROUPS:
            n++;
            break;
        }
        switch (d) {
        case EVS_DISPATCH_ONE: case EVS_DISPATCH_ALL: case EVS_DISPATCH_BLOCKING:
            n++;
            break;
        }
        switch (g) {
        case EVS_TYPE_UNORDERED: case EVS_TYPE_FIFO: case EVS_TYPE_AGREED: case EVS_TYPE_SAFE:
            n++;
            break;
        }
        ABI_EQ(n, 3);
    }
}

int main(void)
{
    types();
    structs();
    constants();
    return ABI_DONE("abi_evs");
}
