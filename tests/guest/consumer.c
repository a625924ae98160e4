// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: the consumer side. Only a privileged process attaches, one
 * at a time; a restarted consumer resumes where the last one released;
 * nothing a consumer writes into its page can make the module misbehave;
 * only the consumer page is ever writable; poll wakes on new spans; the
 * module cannot be unloaded under a polling consumer and blocked producers.
 */
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"

FIXTURE(cons) {
	int fd;
	/* Children with the device open, reaped in teardown. */
	pid_t helper, writer;
};

FIXTURE_SETUP(cons)
{
	self->helper = 0;
	self->writer = 0;
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	ASSERT_EQ(0, pin_to_cpu(0));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(cons)
{
	/* A test that failed half-way leaves neither a hold nor an open fd. */
	test_hold(0, 0, 0, 0);
	if (self->helper > 0) {
		kill(self->helper, SIGKILL);
		waitpid(self->helper, NULL, 0);
	}
	if (self->writer > 0) {
		kill(self->writer, SIGKILL);
		waitpid(self->writer, NULL, 0);
	}
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

static int put(int fd, uint64_t seq)
{
	uint8_t rec[512];

	make_span(rec, sizeof(rec), seq, 200);
	return submit(fd, rec);
}

/* In a child that gave up root: what the consumer calls answer. */
TEST_F(cons, unprivileged_user_cannot_consume)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kspan_ring_info info;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = kspan_open(O_RDWR);
		if (fd < 0)
			_exit(11);
		/* Producing is for everyone. */
		if (put(fd, 1))
			_exit(12);
		if (ioctl(fd, KSPAN_IOC_CONSUMER_ATTACH) != -1 || errno != EPERM)
			_exit(13);
		if (ioctl(fd, KSPAN_IOC_RING_INFO, &info) != -1 || errno != EPERM)
			_exit(14);
		if (ioctl(fd, KSPAN_IOC_RELEASE, 0UL) != -1 || errno != EPERM)
			_exit(15);
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED ||
		    errno != EPERM)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(cons, one_consumer_at_a_time_and_restart_loses_nothing)
{
	struct kspan_consumer a, b;
	const struct kspan_record_header *h;
	int i;

	ASSERT_EQ(0, kspan_consumer_open(&a));
	EXPECT_EQ(-EBUSY, kspan_consumer_open(&b));
	EXPECT_EQ(-1, ioctl(a.fd, KSPAN_IOC_CONSUMER_ATTACH));
	EXPECT_EQ(EALREADY, errno);

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, put(self->fd, i));
	/* Read all ten, release four, "crash". */
	for (i = 0; i < 10; i++)
		ASSERT_NE(NULL, h = kspan_consumer_next(&a, 0));
	a.rings[0].read_pos = 0;
	for (i = 0; i < 4; i++)
		kspan_consumer_next(&a, 0);
	ASSERT_EQ(0, kspan_consumer_release(&a, 0, a.rings[0].read_pos));
	kspan_consumer_close(&a);

	/* The next consumer gets the six that were not released. */
	ASSERT_EQ(0, kspan_consumer_open(&b));
	for (i = 4; i < 10; i++) {
		h = kspan_consumer_next(&b, 0);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(i, span_seq(h));
	}
	EXPECT_EQ(NULL, kspan_consumer_next(&b, 0));
	kspan_consumer_close(&b);
}

TEST_F(cons, garbage_consumer_positions_are_ignored)
{
	struct kspan_consumer c;
	struct kspan_stats st;
	uint64_t bad[] = { 1ull << 62, 3, 8, (uint64_t)-8 };
	uint64_t rec_total;
	unsigned int i;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, put(self->fd, i));
	ASSERT_NE(NULL, kspan_consumer_next(&c, 0));
	rec_total = c.rings[0].read_pos;

	/* Past the producer, misaligned, inside a record, wrapped around. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.rings[0].cons->consumer_pos = bad[i];
		ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
		EXPECT_EQ(0u, c.rings[0].prod->consumer_pos);
	}
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	/* "8" lies inside the first record: clamped to 0, not an error. */
	EXPECT_EQ(3u, st.bad_consumer_pos);
	EXPECT_EQ(0u, st.consumed);

	/* A real position still works, and backwards is refused after it. */
	c.rings[0].cons->consumer_pos = rec_total;
	ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
	EXPECT_EQ(rec_total, c.rings[0].prod->consumer_pos);
	c.rings[0].cons->consumer_pos = 0;
	ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
	EXPECT_EQ(rec_total, c.rings[0].prod->consumer_pos);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.consumed);
	EXPECT_EQ(4u, st.bad_consumer_pos);
	/* Bad ring numbers. */
	EXPECT_EQ(-1, ioctl(c.fd, KSPAN_IOC_RELEASE, 100000UL));
	EXPECT_EQ(EINVAL, errno);
	/* Producers are unharmed. */
	EXPECT_EQ(0, put(self->fd, 9));
	kspan_consumer_close(&c);
}

TEST_F(cons, only_the_consumer_page_is_writable)
{
	struct kspan_consumer c;
	long page = sysconf(_SC_PAGESIZE);
	off_t ring1 = (off_t)KSPAN_MMAP_RING_STRIDE;
	void *p;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	/* Producer page or data writable: refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, page));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0));
	EXPECT_EQ(EPERM, errno);
	/* Read-only mappings cannot be made writable later. */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, c.fd, 2 * page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, page, PROT_READ | PROT_WRITE));
	munmap(p, page);
	/* Private mappings, mappings past the ring, rings that do not exist. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_PRIVATE, c.fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * page + 2 * 16384, PROT_READ, MAP_SHARED, c.fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_SHARED, c.fd,
				   ring1 * (off_t)c.info.nr_rings));
	/* The consumer page is writable, and only it. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, page);
	kspan_consumer_close(&c);
}

/* Forks a child that submits span @seq on CPU @cpu after @delay_us. */
static pid_t put_later(int fd, int cpu, uint64_t seq, unsigned int delay_us)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin_to_cpu(cpu);
		usleep(delay_us);
		_exit(put(fd, seq) ? 1 : 0);
	}
	return pid;
}

/* poll(2) on the consumer with @ms; returns its result, *@slept_ns the time. */
static int timed_poll(int fd, int ms, uint64_t *slept_ns)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t t0 = mono_ns();
	int ret = poll(&pfd, 1, ms);

	*slept_ns = mono_ns() - t0;
	return ret == 1 && !(pfd.revents & POLLIN) ? -1 : ret;
}

TEST_F(cons, poll_wakes_on_a_new_span)
{
	struct kspan_consumer c;
	uint64_t slept;
	pid_t pid;
	int status;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(0, timed_poll(c.fd, 100, &slept));
	pid = put_later(self->fd, 0, 1, 300000);
	ASSERT_LE(0, pid);
	/* Sleeps in poll, infinitely, until the child's span arrives. */
	EXPECT_EQ(1, timed_poll(c.fd, -1, &slept));
	EXPECT_LE(250000000ull, slept);
	waitpid(pid, &status, 0);
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(NULL, kspan_consumer_next(&c, 0));
	kspan_consumer_release_all(&c);
	EXPECT_EQ(0, timed_poll(c.fd, 0, &slept));
	kspan_consumer_close(&c);
}

/*
 * At-least-once consumers read, then release much later: having read
 * everything and released nothing, poll sleeps until a new span arrives.
 */
/*
 * A new consumer learns how far the previous one had read (ABI 1.2): the
 * records it will read again, maybe forwarded already.
 */
TEST_F(cons, new_consumer_sees_what_the_previous_one_read)
{
	struct kspan_consumer c;
	uint64_t released, read_to;
	int i;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(c.rings[0].read_pos, c.rings[0].prod->prev_read_pos);
	EXPECT_EQ(c.rings[0].read_pos, c.rings[0].reread_end);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, put(self->fd, i));
	/* Release two, read four, mark them read, then go away. */
	for (i = 0; i < 2; i++)
		ASSERT_NE(NULL, kspan_consumer_next(&c, 0));
	released = c.rings[0].read_pos;
	ASSERT_EQ(0, kspan_consumer_release(&c, 0, released));
	for (i = 0; i < 2; i++)
		ASSERT_NE(NULL, kspan_consumer_next(&c, 0));
	read_to = c.rings[0].read_pos;
	kspan_consumer_mark_read(&c, 0);
	kspan_consumer_close(&c);

	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(released, c.rings[0].read_pos);
	EXPECT_EQ(read_to, c.rings[0].prod->prev_read_pos);
	EXPECT_EQ(read_to, c.rings[0].reread_end);
	/* Its own read_pos starts afresh. */
	EXPECT_EQ(0u, c.rings[0].cons->read_pos);
	/* A consumer that read nothing leaves nothing to read again. */
	kspan_consumer_close(&c);
	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(released, c.rings[0].prod->prev_read_pos);
	/* A garbage read_pos left behind is not believed. */
	c.rings[0].cons->read_pos = released + 3;
	kspan_consumer_close(&c);
	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(released, c.rings[0].prod->prev_read_pos);
	kspan_consumer_close(&c);
}

TEST_F(cons, read_but_unreleased_records_do_not_wake_poll)
{
	struct kspan_consumer c;
	const struct kspan_record_header *h;
	uint64_t slept;
	pid_t pid;
	int status, i;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, put(self->fd, i));
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	while ((h = kspan_consumer_next(&c, 0)))
		;
	/* Read, not yet marked as read: still readable. */
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	kspan_consumer_mark_read(&c, 0);
	EXPECT_EQ(0, timed_poll(c.fd, 200, &slept));

	pid = put_later(self->fd, 0, 5, 300000);
	ASSERT_LE(0, pid);
	EXPECT_EQ(1, timed_poll(c.fd, -1, &slept));
	EXPECT_LE(250000000ull, slept);
	waitpid(pid, &status, 0);
	h = kspan_consumer_next(&c, 0);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(5, span_seq(h));
	kspan_consumer_mark_read(&c, 0);
	EXPECT_EQ(0, timed_poll(c.fd, 0, &slept));

	/* Nothing was released: a new consumer reads all six again. */
	kspan_consumer_close(&c);
	ASSERT_EQ(0, kspan_consumer_open(&c));
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	for (i = 0; i < 6; i++) {
		h = kspan_consumer_next(&c, 0);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(i, span_seq(h));
	}
	/* A read_pos past the producer is ignored (and counted, once). */
	c.rings[0].cons->read_pos = 1ull << 40;
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	kspan_consumer_close(&c);
}

/*
 * A writer held between reservation and commit (test hook): the consumer,
 * whose position sits at the busy record, sleeps in poll instead of
 * spinning, and wakes when the record commits.
 */
TEST_F_TIMEOUT(cons, poll_sleeps_on_a_busy_record_until_it_commits, 120)
{
	struct kspan_consumer c;
	const struct kspan_record_header *h = NULL;
	uint64_t cpu0, slept, t0, waited;
	int status, polls = 0;
	pid_t pid;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	ASSERT_EQ(0, pin_to_cpu(1));
	ASSERT_EQ(0, test_hold(1, 0, 1500000, 1));
	pid = put_later(self->fd, 0, 7, 0);
	ASSERT_LE(0, pid);
	while (!test_holding())
		usleep(1000);
	t0 = mono_ns();
	cpu0 = thread_cpu_ns();
	/* What a consumer loop does: poll, then read what there is. */
	while (!h && mono_ns() - t0 < 10000000000ull) {
		polls++;
		ASSERT_LE(0, timed_poll(c.fd, -1, &slept));
		h = kspan_consumer_next(&c, 0);
	}
	waited = mono_ns() - t0;
	ASSERT_NE(NULL, h);
	EXPECT_EQ(7, span_seq(h));
	/* The record committed after the hold: the consumer waited for it... */
	EXPECT_LE(1000000000ull, waited);
	/* ...asleep, not spinning through a second of polls. */
	EXPECT_GT(100000000ull, thread_cpu_ns() - cpu0) {
		TH_LOG("%d polls, %llu ns of CPU in %llu ns", polls,
		       (unsigned long long)(thread_cpu_ns() - cpu0),
		       (unsigned long long)waited);
	}
	EXPECT_GE(3, polls);
	waitpid(pid, &status, 0);
	EXPECT_EQ(0, WEXITSTATUS(status));
	kspan_consumer_close(&c);
}

/*
 * Any user may read the counters, as often as it likes: they are read
 * without the ring lock, so a call returns while a writer holds it.
 *
 * The writer holds the lock on CPU 0 with interrupts off; the reader runs
 * on CPU 1. Kernel work on CPU 1 that waits for every CPU (a TLB flush
 * after a vfree, such as the module's init memory freed by a worker after
 * the fixture's load: seen in a trace) waits for the hold too, and the
 * reader (or this test, watching for the hold) behind it: such an attempt
 * proves nothing either way, and is made again. A counter read that took
 * the lock would wait in every one.
 */
#define COUNTER_READ_ATTEMPTS 3

TEST_F_TIMEOUT(cons, counters_are_read_without_the_ring_lock, 120)
{
	struct kspan_stats st;
	int status = 0, go[2], done[2], attempt, held_during = 0;
	uint64_t t0, took;
	char c = 0;

	/*
	 * The reader is set up (another user, its own fd) before the holds:
	 * what it does while the writer holds the lock is only the two
	 * calls, on CPU 1, so nothing but the lock could make them wait.
	 */
	ASSERT_EQ(0, pin_to_cpu(1));
	ASSERT_NE(SIG_ERR, signal(SIGPIPE, SIG_IGN));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	self->helper = fork();
	ASSERT_LE(0, self->helper);
	if (self->helper == 0) {
		int fd;

		close(go[1]);
		close(done[0]);
		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = kspan_open(O_RDONLY);
		if (fd < 0)
			_exit(11);
		/* Once per byte, until the test closes the pipe. */
		while (read(go[0], &c, 1) == 1) {
			if (get_stats(fd, 0, &st) || get_stats(fd, KSPAN_STATS_ALL, &st))
				_exit(12);
			if (write(done[1], &c, 1) != 1)
				_exit(13);
		}
		_exit(0);
	}
	/* A reader that died shows as EOF or EPIPE, not as a hang. */
	close(go[0]);
	close(done[1]);
	for (attempt = 1; attempt <= COUNTER_READ_ATTEMPTS && !held_during; attempt++) {
		/*
		 * Held until the reader is done (3 s at most), then ended
		 * here: how long the two calls take in an emulated guest is
		 * not the question, only whether they wait for the lock.
		 */
		ASSERT_EQ(0, test_hold(0, 0, 3000000, 1));
		self->writer = put_later(self->fd, 0, 8, 0);
		ASSERT_LE(0, self->writer);
		t0 = mono_ns();
		while (!test_holding() && test_hold_pending() &&
		       mono_ns() - t0 < 10000000000ull)
			usleep(1000);
		if (!test_holding()) {
			/* This CPU stood still through the whole hold: void. */
			ASSERT_FALSE(test_hold_pending());
			ASSERT_EQ(self->writer, waitpid(self->writer, &status, 0));
			self->writer = 0;
			TH_LOG("attempt %d: the hold came and went unseen", attempt);
			continue;
		}
		t0 = mono_ns();
		if (write(go[1], &c, 1) != 1 || read(done[0], &c, 1) != 1) {
			waitpid(self->helper, &status, 0);
			self->helper = 0;
			ASSERT_TRUE(0) {
				TH_LOG("the reader ended with status %#x", status);
			}
		}
		took = mono_ns() - t0;
		/* Still held: the calls did not wait for the lock. */
		held_during = test_holding();
		ASSERT_EQ(0, test_hold(0, 0, 0, 0));
		ASSERT_EQ(self->writer, waitpid(self->writer, &status, 0));
		self->writer = 0;
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (!held_during)
			TH_LOG("attempt %d: the reader took %llu ns, past the hold", attempt,
			       (unsigned long long)took);
	}
	close(go[1]);
	ASSERT_EQ(self->helper, waitpid(self->helper, &status, 0));
	self->helper = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_TRUE(held_during);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ((uint64_t)attempt - 1, st.committed);
	close(done[0]);
}

/* A bad position is counted once, however often the module meets it. */
TEST_F(cons, each_bad_position_is_counted_once)
{
	struct kspan_consumer c;
	struct kspan_stats st;
	uint64_t slept;
	int i;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	ASSERT_EQ(0, put(self->fd, 1));
	c.rings[0].cons->consumer_pos = 12345;
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
		timed_poll(c.fd, 0, &slept);
	}
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.bad_consumer_pos);
	/* Another bad value is another count. */
	c.rings[0].cons->consumer_pos = 1ull << 50;
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(2u, st.bad_consumer_pos);
	c.rings[0].cons->consumer_pos = 0;
	kspan_consumer_close(&c);
}

/* A file opened read-only attaches and maps the rings read-only. */
TEST_F(cons, read_only_open_maps_read_only)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kspan_ring_info info;
	const struct kspan_producer_page *pp;
	int fd = open(KSPAN_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	void *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, put(self->fd, 1));
	ASSERT_EQ(0, ioctl(fd, KSPAN_IOC_CONSUMER_ATTACH));
	ASSERT_EQ(0, ioctl(fd, KSPAN_IOC_RING_INFO, &info));
	p = mmap(NULL, page + 2 * info.data_size, PROT_READ, MAP_SHARED, fd,
		 (off_t)info.producer_off);
	ASSERT_NE(MAP_FAILED, p);
	pp = p;
	EXPECT_LT(0u, pp->producer_pos);
	EXPECT_EQ(-1, mprotect(p, page, PROT_READ | PROT_WRITE));
	munmap(p, page + 2 * info.data_size);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	close(fd);
}

/* Producers write the data: no ring mapping is ever executable. */
TEST_F(cons, no_ring_mapping_is_executable)
{
	struct kspan_consumer c;
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	p = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, page);
	p = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, c.fd, 2 * page);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, page);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, c.fd, 2 * page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, page, PROT_READ | PROT_EXEC));
	munmap(p, page);
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC));
	munmap(p, page);
	kspan_consumer_close(&c);
}

TEST_F_TIMEOUT(cons, unload_refused_while_producers_block_and_consumer_polls, 120)
{
	struct kspan_consumer c;
	struct kspan_stats st;
	pid_t poller, prod[3];
	int i, status, nb = kspan_open(O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, nb);
	while (put(nb, 0) == 0)
		;
	close(nb);
	for (i = 0; i < 3; i++) {
		prod[i] = fork();
		ASSERT_LE(0, prod[i]);
		if (prod[i] == 0) {
			int fd = kspan_open(O_RDWR);

			pin_to_cpu(0);
			_exit(put(fd, 100 + i) ? 1 : 0);
		}
	}
	poller = fork();
	ASSERT_LE(0, poller);
	if (poller == 0) {
		struct pollfd pfd;

		if (kspan_consumer_open(&c))
			_exit(1);
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		for (;;)
			poll(&pfd, 1, -1);	/* never releases: killed below */
	}
	for (i = 0; i < 100; i++) {
		get_stats(self->fd, 0, &st);
		if (st.blocked >= 3)
			break;
		usleep(50000);
	}
	EXPECT_EQ(3u, st.blocked);
	close(self->fd);
	self->fd = -1;

	EXPECT_EQ(-EWOULDBLOCK, module_unload("kspan"));
	EXPECT_TRUE(module_is_loaded("kspan"));

	for (i = 0; i < 3; i++) {
		kill(prod[i], SIGKILL);
		waitpid(prod[i], &status, 0);
		EXPECT_TRUE(WIFSIGNALED(status));
	}
	kill(poller, SIGKILL);
	waitpid(poller, &status, 0);
	EXPECT_EQ(0, module_unload("kspan"));
	EXPECT_EQ(0, kspan_reload(NULL));
	self->fd = kspan_open(O_RDWR);
}

/* Loaded with particular parameters by each test. */
FIXTURE(tuned) {
	int fd;
};

FIXTURE_SETUP(tuned)
{
	self->fd = -1;
	ASSERT_EQ(0, pin_to_cpu(0));
}

FIXTURE_TEARDOWN(tuned)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

/* Members of the consumer group attach without CAP_SYS_ADMIN. */
TEST_F(tuned, consumer_group_members_may_consume)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, kspan_reload("consumer_gid=4321"));
	for (gid_t gid = 4320; gid <= 4321; gid++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct kspan_consumer c;
			int ret;

			if (setgroups(0, NULL) || setgid(gid) || setuid(4000))
				_exit(10);
			ret = kspan_consumer_open(&c);
			if (gid == 4320)
				_exit(ret == -EPERM ? 0 : 11);
			if (ret)
				_exit(12);
			kspan_consumer_close(&c);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status)) {
			TH_LOG("gid %u", (unsigned int)gid);
		}
	}
}

/*
 * With a watermark, poll reports a ring once that much data waits; below
 * it, once the data has waited a flush interval, and not before.
 */
TEST_F(tuned, watermark_and_flush_interval)
{
	struct kspan_consumer c;
	const struct kspan_record_header *h;
	uint64_t slept, t0;
	int n = 0;

	ASSERT_EQ(0, kspan_reload("ring_size=65536 watermark=2000 flush_interval_ms=1000"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&c));

	/* 400 bytes wait: not yet readable, but a flush is due in a second. */
	t0 = mono_ns();
	ASSERT_EQ(0, put(self->fd, 0));
	ASSERT_EQ(0, put(self->fd, 1));
	EXPECT_EQ(0, timed_poll(c.fd, 300, &slept));
	EXPECT_EQ(1, timed_poll(c.fd, 5000, &slept));
	EXPECT_LE(900000000ull, mono_ns() - t0);
	while ((h = kspan_consumer_next(&c, 0)))
		n++;
	EXPECT_EQ(2, n);
	kspan_consumer_release_all(&c);
	EXPECT_EQ(0, timed_poll(c.fd, 0, &slept));

	/* 2000 bytes (ten spans of 200) wake it at once. */
	for (n = 0; n < 9; n++)
		ASSERT_EQ(0, put(self->fd, 10 + n));
	EXPECT_EQ(0, timed_poll(c.fd, 0, &slept));
	ASSERT_EQ(0, put(self->fd, 19));
	EXPECT_EQ(1, timed_poll(c.fd, 0, &slept));
	kspan_consumer_close(&c);
}

/* A 9000-byte span: ids from @seq, one bytes attribute fills it. */
static long big_span(uint8_t *buf, uint64_t seq)
{
	static uint8_t blob[9000];
	struct kspan_builder b;
	struct kspan_span *sp;
	size_t head = sizeof(struct kspan_record_header) +
		      sizeof(struct kspan_span) + 2 + sizeof(struct kspan_attr) + 4;

	kspan_build_begin(&b, buf, 9000, "op", 2);
	sp = kspan_build_span(&b);
	memcpy(sp->trace_id, &seq, sizeof(seq));
	sp->trace_id[15] = 0x7e;
	memcpy(sp->span_id, &seq, sizeof(seq));
	sp->span_id[7] |= 0x80;
	kspan_build_bytes(&b, "blob", blob, 9000 - head);
	return kspan_build_end(&b);
}

/*
 * Records longer than a reservation run (8 KiB): a batch of them into an
 * empty ring goes in whole, none taken for a full ring and dropped.
 */
TEST_F(tuned, records_longer_than_a_run_are_not_a_full_ring)
{
	static uint8_t buf[3 * 9000];
	struct kspan_submit_batch batch;
	struct kspan_stats st;
	int i;

	ASSERT_EQ(0, kspan_reload("ring_size=65536 record_max=16384"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_policy(self->fd, KSPAN_FULL_DROP, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(9000, big_span(buf + i * 9000, i));
	memset(&batch, 0, sizeof(batch));
	batch.records = (uintptr_t)buf;
	batch.len = sizeof(buf);
	batch.count = 3;
	EXPECT_EQ(3, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(3u, st.committed);
	EXPECT_EQ(0u, st.dropped_policy);
	EXPECT_EQ(0u, st.lost_records);
}

TEST_HARNESS_MAIN
