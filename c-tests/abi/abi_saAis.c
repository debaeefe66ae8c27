/*
 * ABI of <saAis.h> (AIS B.01.01, as the classic openais header defined it):
 * every type's size and exact C type, every struct's layout, every
 * constant's value and type, every enum's values. The expected numbers are
 * written here from the spec; nothing is computed from the header.
 *
 * Not checked by the C build: that SaBoolT, SaDispatchFlagsT and SaAisErrorT
 * are enums rather than integer typedefs (C cannot tell); run-abi.sh also
 * builds this file as C++11, where ABI_IS_ENUM checks it.
 */
#include <corosync/saAis.h>
#include <stdint.h>

#include "abi_check.h"

static void types(void)
{
    ABI_SIZE(SaBoolT, 4);
    ABI_IS_ENUM(SaBoolT);

    ABI_SAME_TYPE(SaInt8T, int8_t);
    ABI_SAME_TYPE(SaInt16T, int16_t);
    ABI_SAME_TYPE(SaInt32T, int32_t);
    ABI_SAME_TYPE(SaInt64T, int64_t);
    ABI_SAME_TYPE(SaUint8T, uint8_t);
    ABI_SAME_TYPE(SaUint16T, uint16_t);
    ABI_SAME_TYPE(SaUint32T, uint32_t);
    ABI_SAME_TYPE(SaUint64T, uint64_t);
    ABI_SIZE(SaInt8T, 1);
    ABI_SIZE(SaInt16T, 2);
    ABI_SIZE(SaInt32T, 4);
    ABI_SIZE(SaInt64T, 8);
    ABI_SIZE(SaUint8T, 1);
    ABI_SIZE(SaUint16T, 2);
    ABI_SIZE(SaUint32T, 4);
    ABI_SIZE(SaUint64T, 8);
    ABI_SIGNED(SaInt8T);
    ABI_SIGNED(SaInt16T);
    ABI_SIGNED(SaInt32T);
    ABI_SIGNED(SaInt64T);
    ABI_UNSIGNED(SaUint8T);
    ABI_UNSIGNED(SaUint16T);
    ABI_UNSIGNED(SaUint32T);
    ABI_UNSIGNED(SaUint64T);

    ABI_SAME_TYPE(SaFloatT, float);
    ABI_SAME_TYPE(SaDoubleT, double);
    ABI_SAME_TYPE(SaStringT, char *);
    ABI_SAME_TYPE(SaTimeT, int64_t);
    ABI_SIZE(SaTimeT, 8);
    ABI_SIGNED(SaTimeT);

    ABI_SAME_TYPE(SaNtfIdentifierT, uint64_t);
    ABI_SAME_TYPE(SaSelectionObjectT, uint64_t);
    ABI_SAME_TYPE(SaInvocationT, uint64_t);
    ABI_SAME_TYPE(SaSizeT, uint64_t);
    ABI_SIZE(SaNtfIdentifierT, 8);
    ABI_SIZE(SaSelectionObjectT, 8);
    ABI_SIZE(SaInvocationT, 8);
    ABI_SIZE(SaSizeT, 8);

    ABI_SIZE(SaDispatchFlagsT, 4);
    ABI_IS_ENUM(SaDispatchFlagsT);
    ABI_SIZE(SaAisErrorT, 4);
    ABI_IS_ENUM(SaAisErrorT);
}

static void structs(void)
{
    SaVersionT version;

    ABI_SIZE(SaNameT, 258);
    ABI_ALIGN(SaNameT, 2);
    ABI_FIELD(SaNameT, length, 0, 2);
    ABI_FIELD(SaNameT, value, 2, 256);
    ABI_SAME_TYPE(SaUint16T, uint16_t); /* length */

    ABI_SIZE(SaVersionT, 3);
    ABI_ALIGN(SaVersionT, 1);
    ABI_FIELD(SaVersionT, releaseCode, 0, 1);
    ABI_FIELD(SaVersionT, majorVersion, 1, 1);
    ABI_FIELD(SaVersionT, minorVersion, 2, 1);
    {
        /* The classic field types: char, unsigned char, unsigned char. */
        char *release = &version.releaseCode;
        unsigned char *major = &version.majorVersion;
        unsigned char *minor = &version.minorVersion;
        version.releaseCode = 'B';
        version.majorVersion = 1;
        version.minorVersion = 1;
        ABI_EQ(*release + *major + *minor, 'B' + 2);
    }
    {
        /* Programs initialize it positionally. */
        SaVersionT v = { 'B', 1, 1 };
        SaNameT n = { 5, "node1" };
        ABI_EQ(v.releaseCode, 'B');
        ABI_EQ(v.minorVersion, 1);
        ABI_EQ(n.value[4], '1');
        ABI_EQ(n.value[5], 0);
    }
}

static void constants(void)
{
    ABI_EQ(SA_FALSE, 0);
    ABI_EQ(SA_TRUE, 1);

    ABI_EQ(SA_TIME_END, 0x7fffffffffffffffULL);
    ABI_EQ(sizeof SA_TIME_END, 8); /* a parenthesized macro */
    ABI_TRUE(SA_TIME_END > 0);
    ABI_EXPR_TYPE(SA_TIME_END, SaTimeT);
    ABI_EQ(SA_TIME_BEGIN, 0);
    ABI_EXPR_TYPE(SA_TIME_BEGIN, unsigned long long);
    ABI_EQ(SA_TIME_UNKNOWN, 0x8000000000000000ULL);
    ABI_EXPR_TYPE(SA_TIME_UNKNOWN, unsigned long long);
    ABI_EQ(SA_TIME_ONE_MICROSECOND, 1000ULL);
    ABI_EQ(SA_TIME_ONE_MILLISECOND, 1000000ULL);
    ABI_EQ(SA_TIME_ONE_SECOND, 1000000000ULL);
    ABI_EQ(SA_TIME_ONE_MINUTE, 60000000000ULL);
    ABI_EQ(SA_TIME_ONE_HOUR, 3600000000000ULL);
    ABI_EQ(SA_TIME_ONE_DAY, 86400000000000ULL);
    ABI_EXPR_TYPE(SA_TIME_ONE_MICROSECOND, unsigned long long);
    ABI_EXPR_TYPE(SA_TIME_ONE_MILLISECOND, unsigned long long);
    ABI_EXPR_TYPE(SA_TIME_ONE_SECOND, unsigned long long);
    ABI_EXPR_TYPE(SA_TIME_ONE_MINUTE, unsigned long long);
    ABI_EXPR_TYPE(SA_TIME_ONE_HOUR, unsigned long long);
    ABI_EXPR_TYPE(SA_TIME_ONE_DAY, unsigned long long);
    ABI_EQ(SA_TIME_MAX, 0x7fffffffffffffffULL);
    ABI_EXPR_TYPE(SA_TIME_MAX, SaTimeT);

    ABI_EQ(SA_MAX_NAME_LENGTH, 256);
#if SA_MAX_NAME_LENGTH != 256
#error SA_MAX_NAME_LENGTH must be usable in #if and be 256
#endif

    ABI_EQ(SA_TRACK_CURRENT, 0x01);
    ABI_EQ(SA_TRACK_CHANGES, 0x02);
    ABI_EQ(SA_TRACK_CHANGES_ONLY, 0x04);
    ABI_EXPR_TYPE(SA_TRACK_CURRENT, int);
#if SA_TRACK_CURRENT != 1 || SA_TRACK_CHANGES != 2 || SA_TRACK_CHANGES_ONLY != 4
#error SA_TRACK_* must be usable in #if
#endif

    ABI_EQ(SA_HANDLE_INVALID, 0);
    ABI_EXPR_TYPE(SA_HANDLE_INVALID, unsigned long long);

    ABI_EQ(SA_DISPATCH_ONE, 1);
    ABI_EQ(SA_DISPATCH_ALL, 2);
    ABI_EQ(SA_DISPATCH_BLOCKING, 3);
}

static void errors(void)
{
    ABI_EQ(SA_AIS_OK, 1);
    ABI_EQ(SA_AIS_ERR_LIBRARY, 2);
    ABI_EQ(SA_AIS_ERR_VERSION, 3);
    ABI_EQ(SA_AIS_ERR_INIT, 4);
    ABI_EQ(SA_AIS_ERR_TIMEOUT, 5);
    ABI_EQ(SA_AIS_ERR_TRY_AGAIN, 6);
    ABI_EQ(SA_AIS_ERR_INVALID_PARAM, 7);
    ABI_EQ(SA_AIS_ERR_NO_MEMORY, 8);
    ABI_EQ(SA_AIS_ERR_BAD_HANDLE, 9);
    ABI_EQ(SA_AIS_ERR_BUSY, 10);
    ABI_EQ(SA_AIS_ERR_ACCESS, 11);
    ABI_EQ(SA_AIS_ERR_NOT_EXIST, 12);
    ABI_EQ(SA_AIS_ERR_NAME_TOO_LONG, 13);
    ABI_EQ(SA_AIS_ERR_EXIST, 14);
    ABI_EQ(SA_AIS_ERR_NO_SPACE, 15);
    ABI_EQ(SA_AIS_ERR_INTERRUPT, 16);
    ABI_EQ(SA_AIS_ERR_NAME_NOT_FOUND, 17);
    ABI_EQ(SA_AIS_ERR_NO_RESOURCES, 18);
    ABI_EQ(SA_AIS_ERR_NOT_SUPPORTED, 19);
    ABI_EQ(SA_AIS_ERR_BAD_OPERATION, 20);
    ABI_EQ(SA_AIS_ERR_FAILED_OPERATION, 21);
    ABI_EQ(SA_AIS_ERR_MESSAGE_ERROR, 22);
    ABI_EQ(SA_AIS_ERR_QUEUE_FULL, 23);
    ABI_EQ(SA_AIS_ERR_QUEUE_NOT_AVAILABLE, 24);
    ABI_EQ(SA_AIS_ERR_BAD_FLAGS, 25);
    ABI_EQ(SA_AIS_ERR_TOO_BIG, 26);
    ABI_EQ(SA_AIS_ERR_NO_SECTIONS, 27);
    ABI_EQ(SA_AIS_ERR_SECURITY, 29);
    {
        /* The enum's values are all there and distinct: a switch over
         * every name compiles (duplicate case values would not). */
        SaAisErrorT e = SA_AIS_ERR_NO_SECTIONS;
        int n = 0;
        switch (e) {
        case SA_AIS_OK: case SA_AIS_ERR_LIBRARY: case SA_AIS_ERR_VERSION:
        case SA_AIS_ERR_INIT: case SA_AIS_ERR_TIMEOUT: case SA_AIS_ERR_TRY_AGAIN:
        case SA_AIS_ERR_INVALID_PARAM: case SA_AIS_ERR_NO_MEMORY:
        case SA_AIS_ERR_BAD_HANDLE: case SA_AIS_ERR_BUSY: case SA_AIS_ERR_ACCESS:
        case SA_AIS_ERR_NOT_EXIST: case SA_AIS_ERR_NAME_TOO_LONG: case SA_AIS_ERR_EXIST:
        case SA_AIS_ERR_NO_SPACE: case SA_AIS_ERR_INTERRUPT:
        case SA_AIS_ERR_NAME_NOT_FOUND: case SA_AIS_ERR_NO_RESOURCES:
        case SA_AIS_ERR_NOT_SUPPORTED: case SA_AIS_ERR_BAD_OPERATION:
        case SA_AIS_ERR_FAILED_OPERATION: case SA_AIS_ERR_MESSAGE_ERROR:
        case SA_AIS_ERR_QUEUE_FULL: case SA_AIS_ERR_QUEUE_NOT_AVAILABLE:
        case SA_AIS_ERR_BAD_FLAGS: case SA_AIS_ERR_TOO_BIG:
        case SA_AIS_ERR_NO_SECTIONS: case SA_AIS_ERR_SECURITY:
            n = 1;
            break;
        }
        ABI_EQ(n, 1);
    }
}

int main(void)
{
    types();
    structs();
    constants();
    errors();
    return ABI_DONE("abi_saAis");
}
