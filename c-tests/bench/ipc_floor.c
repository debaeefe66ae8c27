/*
 * What one request/answer pair between two local processes costs on this
 * machine, by the mechanism that carries it: the floor under any local
 * call (saClmClusterNodeGet answers from memory, so its loop is little
 * more than this). No executive, no library: a client process calls a
 * server process in a loop, one call at a time, and the program prints
 * the pairs a second.
 *
 * The server runs as the executive sleeps under other work: SCHED_RR (if
 * the process may take it), woken from epoll or a semaphore. Mechanisms:
 *   socket       Unix stream socket; server epoll_wait + recv + send,
 *                client send + blocking recv (our IPC, client asleep)
 *   socket-poll  the same, the client polling up to 50 us before it
 *                sleeps (our library's answer reader)
 *   sysv-sem     SysV semaphores around shared memory, both sides
 *                blocking in semop (the classic openais 0.80 library)
 *   eventfd      the client writes an eventfd the server's epoll
 *                watches; the answer is a futex word in shared memory
 *
 * usage: ipc_floor [--seconds S] [--rounds R] [--busy N]
 * --busy N runs N busy loops (nice 0) beside it, as the loop benchmarks'
 * "under load" rows do; they are killed before it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { SOCKET, SOCKET_POLL, SYSV_SEM, EVENTFD, MODES };
static const char *const names[MODES] = { "socket", "socket-poll", "sysv-sem", "eventfd" };

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The child ends with its parent, whatever happens to the parent. */
static pid_t child(void)
{
	pid_t parent = getpid();
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
	}
	return p;
}

static void server_realtime(void)
{
	struct sched_param sp = { .sched_priority = 1 };
	/* Without the right the server stays a normal process. */
	(void)sched_setscheduler(0, SCHED_RR, &sp);
}

/* An epoll set watching `fd` for input (the server's wait, as the
 * executive's); the server process exits if it cannot have one. */
static int epoll_on(int fd)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		_exit(1);
	return ep;
}

static void stop(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static int futex(volatile uint32_t *word, int op, uint32_t val)
{
	return (int)syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static long run_socket(double seconds, int poll_us)
{
	int sv[2];
	char buf[64];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	pid_t p = child();
	if (p == 0) {
		close(sv[0]);
		server_realtime();
		int ep = epoll_on(sv[1]);
		for (;;) {
			struct epoll_event got[4];
			if (epoll_wait(ep, got, 4, -1) <= 0)
				continue;
			ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
			if (n == 0)
				_exit(0);
			if (n > 0 && send(sv[1], buf, (size_t)n, 0) < 0)
				_exit(1);
		}
	}
	close(sv[1]);
	memset(buf, 0, sizeof buf);
	long calls = 0;
	double end = now() + seconds;
	while (now() < end) {
		if (send(sv[0], buf, 16, 0) != 16)
			die("send");
		ssize_t n = -1;
		if (poll_us > 0) {
			double until = now() + poll_us * 1e-6;
			while ((n = recv(sv[0], buf, 16, MSG_DONTWAIT)) < 0 && errno == EAGAIN && now() < until)
				;
		}
		if (n < 0)
			n = recv(sv[0], buf, 16, MSG_WAITALL);
		if (n != 16)
			die("recv");
		calls++;
	}
	close(sv[0]);
	stop(p);
	return calls;
}

static long run_sysv_sem(double seconds)
{
	int sem = semget(IPC_PRIVATE, 2, 0600 | IPC_CREAT);
	if (sem < 0)
		die("semget");
	pid_t p = child();
	if (p == 0) {
		server_realtime();
		for (;;) {
			struct sembuf take = { 0, -1, 0 }, give = { 1, 1, 0 };
			if (semop(sem, &take, 1) == 0)
				semop(sem, &give, 1);
		}
	}
	long calls = 0;
	double end = now() + seconds;
	while (now() < end) {
		struct sembuf give = { 0, 1, 0 }, take = { 1, -1, 0 };
		if (semop(sem, &give, 1) < 0)
			die("semop");
		while (semop(sem, &take, 1) < 0)
			if (errno != EINTR)
				die("semop");
		calls++;
	}
	stop(p);
	semctl(sem, 0, IPC_RMID);
	return calls;
}

static long run_eventfd(double seconds)
{
	int req = eventfd(0, EFD_NONBLOCK);
	volatile uint32_t *answered = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (req < 0 || answered == MAP_FAILED)
		die("eventfd/mmap");
	pid_t p = child();
	if (p == 0) {
		server_realtime();
		int ep = epoll_on(req);
		for (;;) {
			struct epoll_event got[4];
			uint64_t v;
			if (epoll_wait(ep, got, 4, -1) <= 0 || read(req, &v, 8) != 8)
				continue;
			__atomic_store_n(answered, 1, __ATOMIC_RELEASE);
			futex(answered, FUTEX_WAKE, 1);
		}
	}
	long calls = 0;
	double end = now() + seconds;
	while (now() < end) {
		uint64_t one = 1;
		__atomic_store_n(answered, 0, __ATOMIC_RELAXED);
		if (write(req, &one, 8) != 8)
			die("write");
		while (__atomic_load_n(answered, __ATOMIC_ACQUIRE) == 0)
			futex(answered, FUTEX_WAIT, 0);
		calls++;
	}
	stop(p);
	return calls;
}

static long run(enum mode m, double seconds)
{
	switch (m) {
	case SOCKET:
		return run_socket(seconds, 0);
	case SOCKET_POLL:
		return run_socket(seconds, 50);
	case SYSV_SEM:
		return run_sysv_sem(seconds);
	default:
		return run_eventfd(seconds);
	}
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int rounds = 3, busy = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--busy") == 0)
			busy = atoi(argv[i + 1]);
		else
			break;
	}
	if (seconds <= 0 || seconds > 60 || rounds < 1 || rounds > 20 || busy < 0 || busy > 16) {
		fprintf(stderr, "usage: ipc_floor [--seconds 0-60] [--rounds 1-20] [--busy 0-16]\n");
		return 2;
	}
	pid_t loops[16];
	for (int i = 0; i < busy; i++) {
		loops[i] = child();
		if (loops[i] == 0)
			for (;;)
				__asm__ volatile("" ::: "memory");
	}
	printf("request/answer pairs a second, server SCHED_RR, %d busy loop(s), %d round(s) of %.0f s\n", busy,
	       rounds, seconds);
	long best[MODES] = { 0 }, worst[MODES] = { 0 };
	for (int r = 0; r < rounds; r++)
		for (int m = 0; m < MODES; m++) {
			long rate = (long)(run((enum mode)m, seconds) / seconds);
			printf("  round %d %-12s %8ld\n", r + 1, names[m], rate);
			fflush(stdout);
			if (r == 0 || rate > best[m])
				best[m] = rate;
			if (r == 0 || rate < worst[m])
				worst[m] = rate;
		}
	for (int m = 0; m < MODES; m++)
		printf("%-12s %ld-%ld\n", names[m], worst[m], best[m]);
	for (int i = 0; i < busy; i++)
		stop(loops[i]);
	return 0;
}
