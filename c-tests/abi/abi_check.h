/*
 * A tiny harness for the ABI tests: each abi_<header>.c is a program that
 * includes one public header (and this file), checks sizes, offsets, types
 * and values against numbers written from the spec, and ends with
 * ABI_DONE(), which prints "<name>: N passed, N failed" and returns the
 * exit status. Never compute an expected value from the header under test.
 */
#ifndef ABI_CHECK_H
#define ABI_CHECK_H

#include <stddef.h>
#include <stdio.h>

static int abi_passed;
static int abi_failed;

static void abi_check(int ok, const char *what, unsigned long long got,
                      unsigned long long want, const char *file, int line)
{
    if (ok) {
        abi_passed++;
        return;
    }
    abi_failed++;
    fprintf(stderr, "%s:%d: %s is %llu (0x%llx), expected %llu (0x%llx)\n",
            file, line, what, got, got, want, want);
}

/* `expr` equals `want`, compared as unsigned 64-bit values. */
#define ABI_EQ(expr, want) \
    abi_check((unsigned long long)(expr) == (unsigned long long)(want), #expr, \
              (unsigned long long)(expr), (unsigned long long)(want), __FILE__, __LINE__)

/* A condition that must hold (signedness, type class, ...). */
#define ABI_TRUE(cond) \
    abi_check((cond) ? 1 : 0, #cond, (unsigned long long)((cond) ? 1 : 0), 1ULL, __FILE__, __LINE__)

/* sizeof and alignment (as a struct member) of a type. */
#define ABI_SIZE(type, size) ABI_EQ(sizeof(type), size)
#ifdef __cplusplus
#define ABI_ALIGN(type, align) ABI_EQ(__alignof__(type), align)
#else
#define ABI_ALIGN(type, align) \
    ABI_EQ(offsetof(struct { char c; type t; }, t), align)
#endif
/* offsetof and sizeof of a struct member. */
#define ABI_FIELD(type, field, offset, size) \
    do { \
        ABI_EQ(offsetof(type, field), offset); \
        ABI_EQ(sizeof(((type *)0)->field), size); \
    } while (0)

#define ABI_SIGNED(type) ABI_TRUE((type)-1 < (type)0)
#define ABI_UNSIGNED(type) ABI_TRUE((type)-1 > (type)0)

/*
 * `type` is exactly `exact` (not merely the same size): assigning a pointer
 * to one to a pointer to the other is a compile error under -Werror if they
 * differ (e.g. long vs long long, char vs unsigned char). This is what keeps
 * printf formats and C++ overloads of existing programs working.
 */
#define ABI_SAME_TYPE(type, exact) \
    do { \
        type *abi_p_ = NULL; \
        exact *abi_q_ = abi_p_; \
        abi_passed += (abi_q_ == NULL); \
    } while (0)

/*
 * ABI_IS_ENUM: the type is a C enum (typedef enum {...} T;), not an integer
 * typedef. C cannot tell the two apart (gcc promotes an enum argument of
 * __builtin_classify_type to int), so this is checked when the test is also
 * compiled as C++, where an enum is its own type.
 * ABI_EXPR_TYPE: the exact type of an expression (e.g. a macro's suffix).
 */
#if defined(__cplusplus)
template <typename A, typename B> struct abi_same { enum { value = 0 }; };
template <typename A> struct abi_same<A, A> { enum { value = 1 }; };
#define ABI_IS_ENUM(type) ABI_TRUE(__is_enum(type))
#define ABI_EXPR_TYPE(expr, exact) ABI_TRUE((abi_same<__typeof__(expr), exact>::value))
#elif defined(__GNUC__)
#define ABI_IS_ENUM(type) ((void)0)
#define ABI_EXPR_TYPE(expr, exact) \
    ABI_TRUE(__builtin_types_compatible_p(__typeof__(expr), exact))
#else
#define ABI_IS_ENUM(type) ((void)0)
#define ABI_EXPR_TYPE(expr, exact) ((void)0)
#endif

#define ABI_DONE(name) \
    (printf("%s: %d passed, %d failed\n", name, abi_passed, abi_failed), abi_failed != 0)

#endif /* ABI_CHECK_H */
