/*
 * cpgbench: multicast to a CPG group as fast as flow control allows, for
 * a number of seconds per message size, and print what was delivered
 * back (this process is a member, so it counts its own messages in
 * total order).
 *
 *   cpgbench [-t seconds] [-g safe|agreed] [size...]
 *
 * Default: 3 seconds per size, agreed, sizes 64 256 1024 4096 16384
 * 65536 262144 1000000.
 */
#include <corosync/cpg.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static unsigned long long delivered, delivered_bytes;

static void deliver(cpg_handle_t h, struct cpg_name *g, uint32_t node, uint32_t pid, void *msg, int len)
{
    (void)h; (void)g; (void)node; (void)pid; (void)msg;
    delivered++;
    delivered_bytes += (unsigned)len;
}

static void confchg(cpg_handle_t h, struct cpg_name *g, struct cpg_address *m, int nm,
                    struct cpg_address *l, int nl, struct cpg_address *j, int nj)
{
    (void)h; (void)g; (void)m; (void)nm; (void)l; (void)nl; (void)j; (void)nj;
}

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static int dispatch_ready(cpg_handle_t h, int fd, int wait_ms)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, wait_ms) > 0 && cpg_dispatch(h, CPG_DISPATCH_ALL) != CPG_OK)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const int default_sizes[] = { 64, 256, 1024, 4096, 16384, 65536, 262144, 1000000 };
    cpg_callbacks_t callbacks = { deliver, confchg };
    cpg_guarantee_t guarantee = CPG_TYPE_AGREED;
    struct cpg_name group;
    cpg_handle_t h;
    double seconds = 3;
    int opt, fd, s, nsizes;
    int sizes[64];
    char *buf;

    while ((opt = getopt(argc, argv, "t:g:")) != -1) {
        switch (opt) {
        case 't': seconds = atof(optarg); break;
        case 'g': guarantee = strcmp(optarg, "safe") == 0 ? CPG_TYPE_SAFE : CPG_TYPE_AGREED; break;
        default:
            fprintf(stderr, "usage: %s [-t seconds] [-g safe|agreed] [size...]\n", argv[0]);
            return 2;
        }
    }
    nsizes = 0;
    for (; optind < argc && nsizes < 64; optind++)
        sizes[nsizes++] = atoi(argv[optind]);
    if (nsizes == 0)
        for (; nsizes < (int)(sizeof(default_sizes) / sizeof(default_sizes[0])); nsizes++)
            sizes[nsizes] = default_sizes[nsizes];

    if (cpg_initialize(&h, &callbacks) != CPG_OK || cpg_fd_get(h, &fd) != CPG_OK) {
        fprintf(stderr, "cpgbench: cannot connect to the executive\n");
        return 1;
    }
    memset(&group, 0, sizeof(group));
    strcpy(group.value, "cpgbench");
    group.length = strlen(group.value);
    if (cpg_join(h, &group) != CPG_OK) {
        fprintf(stderr, "cpgbench: cannot join\n");
        return 1;
    }
    printf("%10s %12s %12s %12s %10s  (%s, %.1f s per size)\n", "size", "sent", "delivered", "msgs/s",
           "MB/s", guarantee == CPG_TYPE_SAFE ? "safe" : "agreed", seconds);
    for (s = 0; s < nsizes; s++) {
        unsigned long long sent = 0, retries = 0;
        double start, end, elapsed;
        struct iovec iov;
        int size = sizes[s];

        if (size <= 0)
            continue;
        buf = calloc(1, size);
        if (!buf)
            return 1;
        iov.iov_base = buf;
        iov.iov_len = size;
        delivered = delivered_bytes = 0;
        start = now_s();
        end = start + seconds;
        while (now_s() < end) {
            cpg_error_t e = cpg_mcast_joined(h, guarantee, &iov, 1);
            if (e == CPG_OK) {
                sent++;
                if (dispatch_ready(h, fd, 0) < 0)
                    return 1;
            } else if (e == CPG_ERR_TRY_AGAIN) {
                retries++;
                if (dispatch_ready(h, fd, 10) < 0)
                    return 1;
            } else {
                fprintf(stderr, "cpgbench: cpg_mcast_joined: error %d\n", e);
                return 1;
            }
        }
        while (delivered < sent && now_s() < end + 10)
            if (dispatch_ready(h, fd, 100) < 0)
                return 1;
        elapsed = now_s() - start;
        printf("%10d %12llu %12llu %12.0f %10.2f  (%llu TRY_AGAIN)\n", size, sent, delivered,
               delivered / elapsed, delivered_bytes / elapsed / 1e6, retries);
        fflush(stdout);
        free(buf);
    }
    cpg_finalize(h);
    return 0;
}
