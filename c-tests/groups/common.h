/* Small helpers shared by the group messaging C tests. */
#ifndef GROUPS_COMMON_H
#define GROUPS_COMMON_H

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int failures;
static int checks;

#define CHECK(cond)                                                         \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                   \
    } while (0)

#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        checks++;                                                           \
        if (a_ != b_) {                                                     \
            failures++;                                                     \
            fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld != %lld)\n",     \
                    __FILE__, __LINE__, #a, #b, a_, b_);                    \
        }                                                                   \
    } while (0)

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Waits up to `ms` for `fd` to become readable; 1 if it did. */
static int wait_readable(int fd, int ms)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) > 0;
}

static int finish(const char *name)
{
    if (failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, failures, checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, checks);
    return 0;
}

#endif
