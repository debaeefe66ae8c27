/* Pass/fail counting for the C test programs, shared so each one asserts
 * and reports the same way. Safe from several threads.
 *
 *   CHECK(cond)                    counts cond; a failure prints file:line and cond
 *   CHECK(cond, "fmt", args...)    the same, the message added to the failure
 *   CHECK_RC(call, want)           an SaAisErrorT call returned want
 *   EXPECT(call, want)             the same as CHECK_RC
 *   check_summary("name")          prints "name: N passed, N failed"; the exit status
 *
 * Include it after <saAis.h> (or <corosync/saAis.h>): CHECK_RC compares
 * SaAisErrorT values. */
#ifndef AIS_CTEST_CHECK_H
#define AIS_CTEST_CHECK_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static int passed, failed;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 5, 6), unused)) static void
check_at(int ok, const char *file, int line, const char *what, const char *fmt, ...)
{
    pthread_mutex_lock(&check_lock);
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: FAIL: %s", file, line, what);
        if (fmt[1] != '\0') { /* fmt is " " followed by the caller's format */
            va_list args;
            va_start(args, fmt);
            fputc(':', stderr);
            vfprintf(stderr, fmt, args);
            va_end(args);
        }
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&check_lock);
}

/* " " joins the optional format, so the format is never empty (which
 * -Wformat warns about): CHECK(c) passes " ", CHECK(c, "x %d", 1) " x %d". */
#define CHECK(cond, ...) check_at((cond) ? 1 : 0, __FILE__, __LINE__, #cond, " " __VA_ARGS__)

#define CHECK_RC(call, want)                                                            \
    do {                                                                                \
        SaAisErrorT got_ = (call);                                                      \
        check_at(got_ == (want), __FILE__, __LINE__, #call, " returned %d, expected %d", \
                 (int)got_, (int)(want));                                               \
    } while (0)
#define EXPECT(call, want) CHECK_RC(call, want)

__attribute__((unused)) static int check_summary(const char *name)
{
    pthread_mutex_lock(&check_lock);
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    int status = failed != 0;
    pthread_mutex_unlock(&check_lock);
    return status;
}

#endif
