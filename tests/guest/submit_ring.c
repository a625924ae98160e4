// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: submission rings (ABI 1.3). Records written into a
 * producer's mapped ring reach the per-CPU rings on a doorbell, from the
 * worker without one, and when the producer is killed; they carry the
 * identity of the thread that set the ring up; an invalid record is
 * refused and skipped, a corrupt ring fails the file with -EBADMSG; full
 * per-CPU rings leave records where they are (backpressure) until the
 * consumer frees space; the mappings are bounded and not inherited.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"
#include "kspan_sring.h"

#define SPAN_LEN 200
#define SRING_SIZE 65536

FIXTURE(sring) {
	int fd;
	struct kspan_consumer c;
	struct kspan_sring r;
};

/* The worker runs every 20 ms here, and in practice never in "noworker". */
#define SETUP(params)							\
	do {								\
		ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024 " params)); \
		ASSERT_EQ(0, pin_to_cpu(0));				\
		self->fd = kspan_open(O_RDWR);				\
		ASSERT_LE(0, self->fd);					\
		ASSERT_EQ(0, kspan_consumer_open(&self->c));		\
		memset(&self->r, 0, sizeof(self->r));			\
		self->r.fd = self->fd;					\
	} while (0)

#define TEARDOWN()							\
	do {								\
		EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings)); \
		kspan_sring_unmap(&self->r);				\
		close(self->fd);					\
		kspan_consumer_close(&self->c);				\
		EXPECT_EQ(0, module_unload("kspan"));			\
	} while (0)

FIXTURE_SETUP(sring)
{
	SETUP("flush_interval_ms=20");
}

FIXTURE_TEARDOWN(sring)
{
	TEARDOWN();
}

FIXTURE(noworker) {
	int fd;
	struct kspan_consumer c;
	struct kspan_sring r;
};

FIXTURE_SETUP(noworker)
{
	SETUP("flush_interval_ms=60000");
}

FIXTURE_TEARDOWN(noworker)
{
	TEARDOWN();
}

/* Writes spans @first.. @first + @n - 1 into @r; returns how many fit. */
static int write_spans(struct kspan_sring *r, uint64_t first, int n)
{
	uint8_t rec[SPAN_LEN];
	int i;

	for (i = 0; i < n; i++) {
		make_span(rec, sizeof(rec), first + i, SPAN_LEN);
		if (kspan_sring_write(r, rec))
			break;
	}
	return i;
}

/*
 * Reads spans from every ring for up to @ms, releasing them, and checks
 * they are seq @first.. @first + @want - 1, each once (the worker may move
 * a ring's records to different CPUs' rings); returns how many arrived,
 * or -1 on a wrong or repeated one. *@tid, if not NULL, gets the tid of
 * the last one.
 */
static int collect(struct kspan_consumer *c, uint64_t first, int want, int ms,
		   uint32_t *tid)
{
	const struct kspan_record_header *h;
	const struct kspan_span *s;
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000;
	static char seen[4096];
	unsigned int i;
	int64_t seq;
	int got = 0;

	memset(seen, 0, sizeof(seen));
	while (got < want && mono_ns() < end) {
		for (i = 0; i < c->info.nr_rings; i++) {
			if (!c->rings[i].cons)
				continue;
			while ((h = kspan_consumer_next(c, i))) {
				if (h->type != KSPAN_RECORD_SPAN)
					continue;
				seq = span_seq(h) - (int64_t)first;
				if (seq < 0 || seq >= want || seq >= (int64_t)sizeof(seen) ||
				    seen[seq]++)
					return -1;
				s = (const void *)(h + 1);
				if (tid)
					*tid = s->id.tid;
				got++;
			}
		}
		kspan_consumer_release_all(c);
		if (got < want)
			usleep(5000);
	}
	return got;
}

TEST_F(sring, flush_moves_records_with_the_setup_thread_identity)
{
	struct kspan_stats before, after;
	uint32_t tid = 0;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(1024u, self->r.record_max);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &before));
	ASSERT_EQ(40, write_spans(&self->r, 0, 40));
	ASSERT_EQ(0, kspan_sring_flush(&self->r, 0));
	EXPECT_EQ(0u, kspan_sring_pending(&self->r));
	EXPECT_EQ(40u, self->r.head->moved);
	EXPECT_EQ(0u, self->r.head->rejected);
	ASSERT_EQ(40, collect(&self->c, 0, 40, 2000, &tid));
	EXPECT_EQ((uint32_t)syscall(SYS_gettid), tid);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &after));
	EXPECT_EQ(40u, after.submitted - before.submitted);
	EXPECT_EQ(40u, after.committed - before.committed);
	EXPECT_EQ(40u * SPAN_LEN, after.bytes_committed - before.bytes_committed);
}

static void *write_and_flush(void *arg)
{
	struct kspan_sring *r = arg;
	uintptr_t ok = write_spans(r, 0, 5) == 5 && kspan_sring_flush(r, 0) == 0;

	return (void *)ok;
}

TEST_F(sring, another_writer_cannot_change_the_identity)
{
	pthread_t t;
	void *ok;
	uint32_t tid = 0;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_and_flush, &self->r));
	ASSERT_EQ(0, pthread_join(t, &ok));
	ASSERT_TRUE(ok);
	ASSERT_EQ(5, collect(&self->c, 0, 5, 2000, &tid));
	EXPECT_EQ((uint32_t)syscall(SYS_gettid), tid);
}

TEST_F(sring, worker_moves_records_without_a_doorbell)
{
	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(30, write_spans(&self->r, 0, 30));
	/* flush_interval_ms=20: the worker runs well within this. */
	ASSERT_EQ(30, collect(&self->c, 0, 30, 5000, NULL));
	EXPECT_EQ(30u, self->r.head->moved);
}

TEST_F(noworker, records_of_a_killed_producer_are_not_lost)
{
	int p[2], status;
	pid_t pid, child_tid = 0;
	uint32_t tid = 0;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	if (pid == 0) {
		struct kspan_sring r;
		int fd = kspan_open(O_RDWR);

		/* Long before the worker's next run. */
		if (fd < 0 || kspan_sring_setup(&r, fd, SRING_SIZE) ||
		    write_spans(&r, 0, 50) != 50)
			_exit(2);
		child_tid = (pid_t)syscall(SYS_gettid);
		if (write(p[1], &child_tid, sizeof(child_tid)) != sizeof(child_tid))
			_exit(3);
		pause();
		_exit(4);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(child_tid), read(p[0], &child_tid, sizeof(child_tid)));
	close(p[0]);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(50, collect(&self->c, 0, 50, 5000, &tid));
	EXPECT_EQ((uint32_t)child_tid, tid);
}

TEST_F(sring, invalid_record_is_refused_and_skipped)
{
	struct kspan_stats before, after;
	uint8_t rec[SPAN_LEN];
	struct kspan_span *s = (void *)(rec + sizeof(struct kspan_record_header));

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &before));
	ASSERT_EQ(1, write_spans(&self->r, 0, 1));
	make_span(rec, sizeof(rec), 99, SPAN_LEN);
	memset(s->trace_id, 0, sizeof(s->trace_id));
	ASSERT_EQ(0, kspan_sring_write(&self->r, rec));
	ASSERT_EQ(1, write_spans(&self->r, 1, 1));
	ASSERT_EQ(0, kspan_sring_flush(&self->r, 0));
	EXPECT_EQ(2u, self->r.head->moved);
	EXPECT_EQ(1u, self->r.head->rejected);
	EXPECT_EQ(0u, self->r.head->corrupt);
	ASSERT_EQ(2, collect(&self->c, 0, 2, 2000, NULL));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &after));
	EXPECT_EQ(1u, after.rejected - before.rejected);
	EXPECT_EQ(3u, after.submitted - before.submitted);
}

/* A tail the module must not believe, or a length it cannot parse. */
static void corrupt_tail(struct kspan_sring *r)
{
	__atomic_store_n(&r->tail->tail, r->pos + r->size + 8, __ATOMIC_RELEASE);
}

static void corrupt_length(struct kspan_sring *r)
{
	struct kspan_record_header *h = kspan_sring_reserve(r, SPAN_LEN);

	make_span(h, SPAN_LEN, 0, SPAN_LEN);
	h->len = 9;
	kspan_sring_produce(r, SPAN_LEN);
	kspan_sring_publish(r);
}

static void expect_broken(struct __test_metadata *_metadata, int fd,
			  struct kspan_sring *r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint8_t rec[SPAN_LEN];

	EXPECT_EQ(-EBADMSG, kspan_sring_flush(r, 0));
	EXPECT_EQ(1u, r->head->corrupt);
	make_span(rec, sizeof(rec), 0, SPAN_LEN);
	EXPECT_EQ(-EBADMSG, submit(fd, rec));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLERR);
}

TEST_F(sring, corrupt_ring_fails_its_file_and_only_it)
{
	struct kspan_sring r2 = { 0 };
	uint8_t rec[SPAN_LEN];
	int fd2 = kspan_open(O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(0, kspan_sring_setup(&r2, fd2, SRING_SIZE));
	corrupt_tail(&self->r);
	expect_broken(_metadata, self->fd, &self->r);
	corrupt_length(&r2);
	expect_broken(_metadata, fd2, &r2);
	kspan_sring_unmap(&r2);
	close(fd2);

	/* Everyone else goes on. */
	fd2 = kspan_open(O_RDWR);
	ASSERT_LE(0, fd2);
	make_span(rec, sizeof(rec), 0, SPAN_LEN);
	EXPECT_EQ(0, submit(fd2, rec));
	EXPECT_EQ(1, collect(&self->c, 0, 1, 2000, NULL));
	close(fd2);
}

/*
 * Fills every CPU's ring with ioctl spans (the worker may run on any CPU)
 * and returns to CPU 0; returns how many went in.
 */
static int fill_rings(int fd)
{
	uint8_t rec[SPAN_LEN];
	int n = 0, cpu;

	if (set_policy(fd, KSPAN_FULL_EAGAIN, 0))
		return -1;
	make_span(rec, sizeof(rec), 1000, SPAN_LEN);
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		if (pin_to_cpu(cpu))
			continue;
		while (submit(fd, rec) == 0)
			n++;
	}
	pin_to_cpu(0);
	set_policy(fd, KSPAN_FULL_BLOCK, 0);
	return n;
}

/*
 * Reads the @n spans fill_rings() wrote, and releases them; returns how
 * many of them it found. Nothing else can be there: the rings were full.
 */
static int drain_fill(struct kspan_consumer *c, int n)
{
	const struct kspan_record_header *h;
	unsigned int i;
	int got = 0;

	for (i = 0; i < c->info.nr_rings && got < n; i++)
		while (c->rings[i].cons && got < n && (h = kspan_consumer_next(c, i)))
			got += span_seq(h) == 1000;
	kspan_consumer_release_all(c);
	return got;
}

static void *flush_wait(void *arg)
{
	struct kspan_sring *r = arg;

	return (void *)(intptr_t)kspan_sring_flush(r, KSPAN_FLUSH_WAIT);
}

TEST_F(sring, full_ring_keeps_records_until_space_is_freed)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
	struct kspan_stats st;
	int filled, n;
	pthread_t t;
	void *ret;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, 4096));
	filled = fill_rings(self->fd);
	ASSERT_LT(40, filled);
	/* The file filled the rings with ioctls: its policy is blocking again. */
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	n = write_spans(&self->r, 0, 100);
	ASSERT_EQ(4096 / SPAN_LEN, n);
	/* Nothing moves: no EPOLLOUT, the doorbell says so, nothing lost. */
	EXPECT_EQ(0, poll(&pfd, 1, 100));
	EXPECT_EQ(-EAGAIN, kspan_sring_flush(&self->r, 0));
	EXPECT_EQ((uint64_t)n * kspan_record_total(SPAN_LEN), kspan_sring_pending(&self->r));

	/* A waiting doorbell sleeps until the consumer frees space. */
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	ASSERT_EQ(0, pthread_create(&t, NULL, flush_wait, &self->r));
	while (get_stats(self->fd, 0, &st) == 0 && st.blocked == 0)
		usleep(10000);
	ASSERT_EQ(filled, drain_fill(&self->c, filled));
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(0, (intptr_t)ret);
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(n, collect(&self->c, 0, n, 5000, NULL));
}

TEST_F(sring, freed_space_kicks_the_worker_and_wakes_pollers)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
	int filled, n;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, 4096));
	filled = fill_rings(self->fd);
	n = write_spans(&self->r, 0, 100);
	/* Let the worker find ring 0 full at least once. */
	usleep(200000);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(filled, drain_fill(&self->c, filled));
	/* No doorbell: the worker moves them, and the poller wakes. */
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(n, collect(&self->c, 0, n, 5000, NULL));
}

TEST_F(sring, orphaned_ring_drains_after_its_producer_exits)
{
	int filled, status;
	pid_t pid;

	filled = fill_rings(self->fd);
	pid = fork();
	if (pid == 0) {
		struct kspan_sring r;
		int fd;

		pin_to_cpu(0);
		fd = kspan_open(O_RDWR);
		if (fd < 0 || kspan_sring_setup(&r, fd, 4096) || write_spans(&r, 0, 10) != 10)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(filled, drain_fill(&self->c, filled));
	EXPECT_EQ(10, collect(&self->c, 0, 10, 5000, NULL));
}

TEST_F(sring, setup_and_mapping_are_checked)
{
	struct kspan_submit_setup s;
	long page = sysconf(_SC_PAGESIZE);
	int status;
	void *p;
	pid_t pid;

	memset(&s, 0, sizeof(s));
	EXPECT_EQ(-ENXIO, kspan_sring_flush(&self->r, 0) ? -errno : 0);
	s.size = 65536 + 4096;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	EXPECT_EQ(EINVAL, errno);
	s.size = 2048;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	s.size = 32u << 20;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	s.size = 65536;
	s.__reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	EXPECT_EQ(-EBUSY, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	self->r.fd = self->fd;
	EXPECT_EQ(-EINVAL, kspan_sring_flush(&self->r, 0x80));

	/* The head page: never writable, alone. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)KSPAN_MMAP_SUBMIT_OFF);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect((void *)self->r.head, page, PROT_READ | PROT_WRITE));
	p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, self->fd,
		 (off_t)KSPAN_MMAP_SUBMIT_OFF);
	EXPECT_EQ(MAP_FAILED, p);
	/* Nothing executable, nothing past the ring. */
	p = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd,
		 (off_t)KSPAN_MMAP_SUBMIT_OFF + page);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, self->fd,
		 (off_t)KSPAN_MMAP_SUBMIT_OFF + page * (2 + 2 * SRING_SIZE / page));
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, self->fd,
		 (off_t)KSPAN_MMAP_SUBMIT_OFF + page);
	EXPECT_EQ(MAP_FAILED, p);

	/* A fork child does not inherit the mapping: a ring has one writer. */
	pid = fork();
	if (pid == 0) {
		volatile uint64_t v = self->r.tail->tail;

		(void)v;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

TEST_HARNESS_MAIN
