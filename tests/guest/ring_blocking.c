// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: a full ring, the Notify semantics. A blocking producer
 * sleeps until the consumer frees space; one release wakes every waiter
 * and only a release that freed space wakes anyone; a woken producer
 * retries on the CPU it runs on then; O_NONBLOCK, the EAGAIN and DROP
 * policies, signals and timeouts each end a wait as documented.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define SPAN_LEN 200

FIXTURE(full) {
	int fd;			/* non-blocking producer fd, used to fill */
	struct kspan_consumer c;
	int filled;		/* spans that fit into ring 0 */
};

/* Fills ring 0 until it refuses; returns how many spans went in. */
static int fill_ring0(int fd)
{
	uint8_t rec[SPAN_LEN];
	int n = 0;

	make_span(rec, sizeof(rec), 0, SPAN_LEN);
	while (submit(fd, rec) == 0)
		n++;
	return errno == EAGAIN || n ? n : -1;
}

FIXTURE_SETUP(full)
{
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	ASSERT_EQ(0, pin_to_cpu(0));
	self->fd = kspan_open(O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	self->filled = fill_ring0(self->fd);
	ASSERT_LT(60, self->filled);
}

FIXTURE_TEARDOWN(full)
{
	/* Every offer reached one outcome, on every ring and in total. */
	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
	kspan_consumer_close(&self->c);
	close(self->fd);
	/* Children are gone: the harness waits for them in each test. */
	EXPECT_EQ(0, module_unload("kspan"));
}

/* Waits until ring @ring counts @n sleeps; returns whether it did. */
static int wait_blocked(int fd, unsigned int ring, uint64_t n)
{
	struct kspan_stats st;
	int tries;

	for (tries = 0; tries < 400; tries++) {
		if (get_stats(fd, ring, &st) == 0 && st.blocked >= n)
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * Forks a producer pinned to @cpu that submits one span with a blocking
 * fd (timeout_ns 0: no limit) and reports the ioctl's -errno (0: done)
 * through a pipe. Returns the pid; *rfd is the pipe's read end.
 */
static pid_t blocked_producer(int cpu, uint64_t timeout_ns, uint64_t seq, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		uint8_t rec[SPAN_LEN];
		int fd, ret;

		close(p[0]);
		/* A failed test must not leave it holding the module. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin_to_cpu(cpu);
		fd = kspan_open(O_RDWR);
		if (fd < 0 || set_policy(fd, KSPAN_FULL_BLOCK, timeout_ns))
			_exit(2);
		make_span(rec, sizeof(rec), seq, SPAN_LEN);
		ret = submit(fd, rec);
		if (write(p[1], &ret, sizeof(ret)) != sizeof(ret))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Waits up to @ms for the producer's report; returns 1 and *ret, or 0. */
static int producer_done(int rfd, int ms, int *ret)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return read(rfd, ret, sizeof(*ret)) == sizeof(*ret);
}

static void drain_and_release(struct kspan_consumer *c, int n)
{
	while (n-- && kspan_consumer_next(c, 0))
		;
	kspan_consumer_release_all(c);
}

TEST_F(full, producer_blocks_until_space_is_released)
{
	struct kspan_stats st;
	int rfd, ret;
	pid_t pid = blocked_producer(0, 0, 1000, &rfd);

	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	EXPECT_EQ(0, producer_done(rfd, 300, &ret));
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.blocked);
	EXPECT_EQ((uint64_t)self->filled, st.committed);

	drain_and_release(&self->c, 1);
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(0, ret);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ((uint64_t)self->filled + 1, st.committed);
	EXPECT_EQ(1u, st.wakeups);
}

TEST_F(full, one_release_wakes_every_waiter)
{
	enum { N = 4 };
	struct kspan_stats st;
	int rfd[N], ret, i, tries;
	pid_t pid[N];

	for (i = 0; i < N; i++)
		ASSERT_LT(0, pid[i] = blocked_producer(0, 0, 2000 + i, &rfd[i]));
	/* Wait until all of them sleep. */
	for (tries = 0; tries < 200; tries++) {
		ASSERT_EQ(0, get_stats(self->fd, 0, &st));
		if (st.blocked == N)
			break;
		usleep(50000);
	}
	ASSERT_EQ((uint64_t)N, st.blocked);
	usleep(200000);

	/* One release that frees room for all of them. */
	drain_and_release(&self->c, self->filled);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(1, producer_done(rfd[i], 20000, &ret)) {
			TH_LOG("producer %d never finished", i);
		}
		EXPECT_EQ(0, ret);
		waitpid(pid[i], NULL, 0);
	}
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.wakeups);
	EXPECT_EQ((uint64_t)self->filled + N, st.committed);
}

TEST_F(full, release_that_frees_nothing_wakes_nobody)
{
	struct kspan_stats st;
	int rfd, ret;
	pid_t pid = blocked_producer(0, 0, 3000, &rfd);

	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	/* Nothing read: the consumer position did not move. */
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	ASSERT_EQ(0, ioctl(self->c.fd, KSPAN_IOC_RELEASE, 0UL));
	EXPECT_EQ(0, producer_done(rfd, 500, &ret));
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(0u, st.wakeups);

	drain_and_release(&self->c, 1);
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(0, ret);
	waitpid(pid, NULL, 0);
}

TEST_F(full, woken_producer_retries_on_its_new_cpu)
{
	const struct kspan_record_header *got;
	struct kspan_stats st;
	cpu_set_t set;
	int rfd, ret;
	pid_t pid;

	if (nr_cpus() < 2)
		SKIP(return, "needs two CPUs");
	pid = blocked_producer(0, 0, 4000, &rfd);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	/* While it sleeps on ring 0, move it to CPU 1. */
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	ASSERT_EQ(0, sched_setaffinity(pid, sizeof(set), &set));

	drain_and_release(&self->c, 1);
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(0, ret);
	waitpid(pid, NULL, 0);
	got = kspan_consumer_next(&self->c, 1);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(4000, span_seq(got));
	EXPECT_EQ(1u, ((const struct kspan_span *)(got + 1))->id.cpu);
	/* Offered while on CPU 0, written to ring 1: counted on ring 1. */
	ASSERT_EQ(0, get_stats(self->fd, 1, &st));
	EXPECT_EQ(1u, st.submitted);
	EXPECT_EQ(1u, st.committed);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(st.submitted, st.committed + st.full_eagain);
}

TEST_F(full, nonblocking_producers_get_eagain)
{
	uint8_t rec[SPAN_LEN];
	struct kspan_stats st;
	int fd = kspan_open(O_RDWR);

	make_span(rec, sizeof(rec), 1, SPAN_LEN);
	EXPECT_EQ(-EAGAIN, submit(self->fd, rec));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_policy(fd, KSPAN_FULL_EAGAIN, 0));
	EXPECT_EQ(-EAGAIN, submit(fd, rec));
	close(fd);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	/* One EAGAIN while filling, two here. */
	EXPECT_EQ(3u, st.full_eagain);
	EXPECT_EQ((uint64_t)self->filled, st.committed);
}

/*
 * A non-blocking batch into a ring with room for three of its records
 * takes those three, says so, and counts one refusal: the record that met
 * the full ring, not the ones after it.
 */
TEST_F(full, nonblocking_batch_takes_what_fits)
{
	static uint8_t buf[10 * SPAN_LEN];
	struct kspan_submit_batch batch;
	struct kspan_stats st0, st;
	int i;

	for (i = 0; i < 10; i++)
		ASSERT_EQ(SPAN_LEN, make_span(buf + i * SPAN_LEN, SPAN_LEN,
					      100 + i, SPAN_LEN));
	drain_and_release(&self->c, 3);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st0));

	memset(&batch, 0, sizeof(batch));
	batch.records = (uintptr_t)buf;
	batch.len = sizeof(buf);
	batch.count = 10;
	EXPECT_EQ(3, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ(3u, batch.accepted);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(st0.committed + 3, st.committed);
	EXPECT_EQ(st0.submitted + 4, st.submitted);
	EXPECT_EQ(st0.full_eagain + 1, st.full_eagain);
	EXPECT_EQ(0u, st.blocked);
}

static void on_usr1(int sig)
{
	(void)sig;
}

TEST_F(full, signal_interrupts_the_wait_with_nothing_written)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct kspan_stats st;
	int rfd, ret;
	pid_t pid;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	pid = blocked_producer(0, 0, 5000, &rfd);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(-EINTR, ret);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.interrupted);
	EXPECT_EQ((uint64_t)self->filled, st.committed);
	drain_and_release(&self->c, self->filled);
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
}

TEST_F(full, timeout_ends_the_wait)
{
	struct kspan_stats st;
	uint64_t t0 = mono_ns();
	int rfd, ret;
	pid_t pid = blocked_producer(0, 300000000ull, 6000, &rfd);

	ASSERT_LT(0, pid);
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_LE(300000000ull, mono_ns() - t0);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.full_timeout);
	EXPECT_EQ(1u, st.blocked);
	EXPECT_EQ((uint64_t)self->filled, st.committed);
}

/*
 * A timeout shorter than a tick, and one of a few ticks, measured from
 * just before the call on the kernel's clock (CLOCK_MONOTONIC): each waits its whole time, never less (a
 * deadline counted in jiffies ends up to a tick early, or at once).
 */
TEST_F(full, a_timed_wait_never_ends_before_its_deadline)
{
	static const uint64_t timeouts_ns[] = { 1500000, 10000000 };
	enum { ROUNDS = 10 };
	uint8_t rec[SPAN_LEN];
	struct kspan_stats st;
	uint64_t t0, took;
	unsigned int i, r;
	int fd = kspan_open(O_RDWR);

	ASSERT_LE(0, fd);
	make_span(rec, sizeof(rec), 6100, SPAN_LEN);
	for (i = 0; i < ARRAY_SIZE(timeouts_ns); i++) {
		ASSERT_EQ(0, set_policy(fd, KSPAN_FULL_BLOCK, timeouts_ns[i]));
		for (r = 0; r < ROUNDS; r++) {
			t0 = mono_ns();
			EXPECT_EQ(-ETIMEDOUT, submit(fd, rec));
			took = mono_ns() - t0;
			EXPECT_LE(timeouts_ns[i], took)
				TH_LOG("timeout %llu ns ended after %llu ns",
				       (unsigned long long)timeouts_ns[i],
				       (unsigned long long)took);
			/* Loose: catches a unit mix-up, not a slow guest. */
			EXPECT_GT(timeouts_ns[i] + 1000000000ull, took);
		}
	}
	close(fd);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(2u * ROUNDS, st.full_timeout);
	EXPECT_EQ(2u * ROUNDS, st.blocked);
	EXPECT_EQ((uint64_t)self->filled, st.committed);
}

TEST_F(full, drop_policy_counts_and_marks_the_loss)
{
	const struct kspan_record_header *got;
	const struct kspan_lost *lost;
	uint8_t rec[SPAN_LEN];
	struct kspan_stats st;
	uint64_t t0 = now_ns();
	int fd = kspan_open(O_RDWR), i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_policy(fd, KSPAN_FULL_DROP, 0));
	make_span(rec, sizeof(rec), 7000, SPAN_LEN);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, submit(fd, rec));
	ASSERT_EQ(0, get_stats(fd, 0, &st));
	EXPECT_EQ(5u, st.dropped_policy);
	EXPECT_EQ(5u, self->c.rings[0].prod->lost);

	/* Make room; the next span is preceded by the loss marker. */
	drain_and_release(&self->c, self->filled);
	make_span(rec, sizeof(rec), 7001, SPAN_LEN);
	ASSERT_EQ(0, submit(fd, rec));
	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(KSPAN_RECORD_LOST, got->type);
	lost = (const void *)(got + 1);
	EXPECT_EQ(5u, lost->count);
	EXPECT_EQ(0u, lost->cpu);
	EXPECT_LE(t0, lost->first_ns);
	EXPECT_LE(lost->first_ns, lost->last_ns);
	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(7001, span_seq(got));
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	ASSERT_EQ(0, get_stats(fd, 0, &st));
	EXPECT_EQ(1u, st.lost_records);
	/* Byte counters count span records only, as sent. */
	EXPECT_EQ((uint64_t)(self->filled + 1) * SPAN_LEN, st.bytes_committed);
	EXPECT_EQ(st.bytes_committed, st.bytes_consumed);
	EXPECT_EQ((uint64_t)self->filled + 1, st.consumed);
	close(fd);
}

/*
 * A timed producer woken before its deadline that finds no room when it
 * gets to run again, after the deadline, gets -ETIMEDOUT (not a restart
 * code no signal asked for). It is kept from running by a real-time
 * thread that holds its new CPU, whose ring is full too.
 */
#define FAIR_SERVER_CPU1 "/sys/kernel/debug/sched/fair_server/cpu1/runtime"

static void *hog_cpu1(void *arg)
{
	struct sched_param sp = { .sched_priority = 50 };
	atomic_int *running = arg;
	uint64_t t0;

	pin_to_cpu(1);
	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		atomic_store(running, -1);
		return NULL;
	}
	atomic_store(running, 1);
	for (t0 = mono_ns(); mono_ns() - t0 < 700000000ull;)
		;
	return NULL;
}

TEST_F_TIMEOUT(full, deadline_passed_when_retrying_is_a_timeout, 120)
{
	atomic_int running = 0;
	struct kspan_stats st;
	uint8_t rec[SPAN_LEN];
	pthread_t hog;
	int rfd, ret, fd1;
	cpu_set_t set;
	pid_t pid;

	/* Ring 1 full as well. */
	fd1 = kspan_open(O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd1);
	ASSERT_EQ(0, pin_to_cpu(1));
	make_span(rec, sizeof(rec), 1, SPAN_LEN);
	while (submit(fd1, rec) == 0)
		;
	ASSERT_EQ(0, pin_to_cpu(0));

	pid = blocked_producer(0, 300000000ull, 8000, &rfd);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	ASSERT_EQ(0, sched_setaffinity(pid, sizeof(set), &set));
	/*
	 * Nothing but the hog runs on CPU 1: no RT throttling, and on 6.12
	 * no fair server (which would give the producer CPU time anyway).
	 */
	ASSERT_EQ(0, write_file("/proc/sys/kernel/sched_rt_runtime_us", "-1"));
	write_file(FAIR_SERVER_CPU1, "0");
	ASSERT_EQ(0, pthread_create(&hog, NULL, hog_cpu1, &running));
	while (!atomic_load(&running))
		usleep(1000);
	ASSERT_EQ(1, atomic_load(&running));
	/* Wakes it (room on ring 0) well before its deadline... */
	drain_and_release(&self->c, 1);
	/* ...but it runs again on CPU 1, after the deadline, ring 1 full. */
	pthread_join(hog, NULL);
	write_file(FAIR_SERVER_CPU1, "50000000");
	write_file("/proc/sys/kernel/sched_rt_runtime_us", "950000");
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(-ETIMEDOUT, ret);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 1, &st));
	EXPECT_EQ(1u, st.full_timeout);
	EXPECT_EQ(0u, st.interrupted);
	close(fd1);
}

static void on_usr2(int sig)
{
	(void)sig;
}

/*
 * SA_RESTART must not turn a timed wait into one that never times out: a
 * signal ends it with -EINTR instead of restarting it with a fresh timeout.
 */
TEST_F_TIMEOUT(full, signal_ends_a_timed_wait_even_with_sa_restart, 120)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct kspan_stats st;
	int rfd, ret, i;
	pid_t pid;

	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	pid = blocked_producer(0, 1500000000ull, 9000, &rfd);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	/* A signal every 100 ms, for twice the timeout. */
	for (i = 0; i < 30 && !producer_done(rfd, 100, &ret); i++)
		kill(pid, SIGUSR2);
	ASSERT_GT(30, i) {
		TH_LOG("the wait outlived its timeout: restarted each time");
	}
	EXPECT_EQ(-EINTR, ret);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.interrupted);
	EXPECT_EQ(0u, st.full_timeout);
}

/*
 * An untimed wait is restarted after an SA_RESTART handler: the producer
 * keeps waiting and gets its span in once there is room. The interrupted
 * wait counts once, the restarted call offers the span again.
 */
TEST_F_TIMEOUT(full, sa_restart_restarts_an_untimed_wait, 120)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct kspan_stats st;
	int rfd, ret;
	pid_t pid;

	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	pid = blocked_producer(0, 0, 9500, &rfd);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_blocked(self->fd, 0, 1));
	ASSERT_EQ(0, kill(pid, SIGUSR2));
	ASSERT_TRUE(wait_blocked(self->fd, 0, 2));
	EXPECT_EQ(0, producer_done(rfd, 300, &ret));
	drain_and_release(&self->c, 1);
	ASSERT_EQ(1, producer_done(rfd, 20000, &ret));
	EXPECT_EQ(0, ret);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.interrupted);
	EXPECT_EQ((uint64_t)self->filled + 1, st.committed);
	EXPECT_EQ(st.committed + st.interrupted + st.full_eagain, st.submitted);
}

TEST_F(full, bad_producer_options_are_refused)
{
	struct kspan_producer_opts o;

	memset(&o, 0, sizeof(o));
	o.policy = 3;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SET_PRODUCER_OPTS, &o));
	EXPECT_EQ(EINVAL, errno);
	o.policy = KSPAN_FULL_DROP;
	o.timeout_ns = 5;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SET_PRODUCER_OPTS, &o));
	EXPECT_EQ(EINVAL, errno);
	memset(&o, 0, sizeof(o));
	o.__reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SET_PRODUCER_OPTS, &o));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
