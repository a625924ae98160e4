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
#include <stdatomic.h>
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
	int i;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(30, write_spans(&self->r, 0, 30));
	/* flush_interval_ms=20: the worker runs well within this. */
	ASSERT_EQ(30, collect(&self->c, 0, 30, 5000, NULL));
	/* The counter follows the commits: the worker may still be on its way. */
	for (i = 0; i < 500 && kspan_sring_pending(&self->r); i++)
		usleep(10000);
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

TEST_F(sring, records_arrive_byte_for_byte)
{
	const struct kspan_record_header *h;
	size_t id_off = sizeof(struct kspan_record_header) + offsetof(struct kspan_span, id);
	size_t id_end = id_off + sizeof(struct kspan_identity);
	uint8_t rec[8][1024];
	long len[8];
	int i, got = 0;
	unsigned int r;

	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, 4096));
	/* Lengths that wrap around the 4 KiB ring at different offsets. */
	for (i = 0; i < 8; i++) {
		len[i] = make_span(rec[i], sizeof(rec[i]), i, 333 + 97 * i);
		ASSERT_LT(0, len[i]);
		ASSERT_EQ(0, kspan_sring_write(&self->r, rec[i]));
		ASSERT_EQ(0, kspan_sring_flush(&self->r, 0));
	}
	for (r = 0; r < self->c.info.nr_rings && got < 8; r++)
		while (self->c.rings[r].cons && (h = kspan_consumer_next(&self->c, r))) {
			if (h->type != KSPAN_RECORD_SPAN)
				continue;
			i = (int)span_seq(h);
			ASSERT_TRUE(i >= 0 && i < 8);
			ASSERT_EQ(len[i], (long)h->len);
			EXPECT_EQ(0, memcmp(h, rec[i], id_off));
			EXPECT_EQ(0, memcmp((const uint8_t *)h + id_end, rec[i] + id_end,
					    len[i] - id_end));
			got++;
		}
	EXPECT_EQ(8, got);
}

TEST_F(sring, tail_moving_backwards_is_corruption)
{
	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(3, write_spans(&self->r, 0, 3));
	ASSERT_EQ(0, kspan_sring_flush(&self->r, 0));
	__atomic_store_n(&self->r.tail->tail, self->r.pos - 8, __ATOMIC_RELEASE);
	expect_broken(_metadata, self->fd, &self->r);
	EXPECT_EQ(3u, self->r.head->moved);
	EXPECT_EQ(3, collect(&self->c, 0, 3, 2000, NULL));
}

/* Counts the spans in the rings that parse, until @want or @ms passed. */
static int count_whole_spans(struct kspan_consumer *c, int want, int ms)
{
	const struct kspan_record_header *h;
	struct kspan_span_view v;
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000;
	unsigned int i;
	int n = 0;

	do {
		for (i = 0; i < c->info.nr_rings; i++)
			while (c->rings[i].cons && (h = kspan_consumer_next(c, i)))
				if (h->type == KSPAN_RECORD_SPAN)
					n += kspan_span_parse(h, h->len, &v) ? -1000 : 1;
		kspan_consumer_release_all(c);
	} while (n < want && n >= 0 && mono_ns() < end);
	return n;
}

/* A cheap, seeded generator: the run can be repeated from its seed. */
static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

TEST_F(sring, random_bytes_never_hurt_the_module)
{
	uint64_t seed = mono_ns() | 1, x = seed;
	struct kspan_stats st;
	int round, broken = 0, fd;
	uint64_t i;

	TH_LOG("seed %llu", (unsigned long long)seed);
	for (round = 0; round < 200; round++) {
		struct kspan_sring r = { 0 };

		fd = kspan_open(O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, kspan_sring_setup(&r, fd, 4096));
		for (i = 0; i < 4096 / 8; i++)
			((uint64_t *)r.data)[i] = xorshift(&x);
		/* Sometimes a plausible header, to get past the length check. */
		if (round % 2)
			make_span(r.data, 4096, round, 64 + xorshift(&x) % 900);
		if (round % 4 == 1)
			r.data[8 + xorshift(&x) % 96] ^= 1u << (xorshift(&x) % 8);
		__atomic_store_n(&r.tail->tail, round % 3 ? (xorshift(&x) % 4097) & ~7ull :
				 xorshift(&x), __ATOMIC_RELEASE);
		broken += kspan_sring_flush(&r, 0) == -EBADMSG;
		EXPECT_LE(r.head->moved + r.head->rejected, 4096u / 64);
		kspan_sring_unmap(&r);
		close(fd);
		/* What moved before the corruption is whole; keep the rings empty. */
		EXPECT_LE(0, count_whole_spans(&self->c, 0, 0));
	}
	TH_LOG("%d of 200 rings found corrupt", broken);
	EXPECT_LT(0, broken);
	/* Still whole: an ordinary span goes through. */
	ASSERT_EQ(0, kspan_sring_setup(&self->r, self->fd, SRING_SIZE));
	ASSERT_EQ(1, write_spans(&self->r, 5000, 1));
	ASSERT_EQ(0, kspan_sring_flush(&self->r, 0));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(st.submitted, st.committed + st.rejected);
}

struct flipper {
	volatile uint32_t *len;
	atomic_int stop;
	atomic_int flips;
};

/*
 * Rewrites a record's length, from the other CPU, while the module may be
 * copying it.
 */
static void *flip_length(void *arg)
{
	struct flipper *f = arg;
	static const uint32_t lens[] = { SPAN_LEN, 9, SPAN_LEN - 8, 1u << 30, SPAN_LEN };
	unsigned int i = 0;

	pin_to_cpu(nr_cpus() - 1);
	while (!atomic_load(&f->stop)) {
		*f->len = lens[i++ % 5];
		atomic_fetch_add(&f->flips, 1);
	}
	return NULL;
}

TEST_F(sring, length_changing_during_the_copy_is_caught)
{
	struct flipper f;
	pthread_t t;
	int round, moved = 0, corrupt = 0, refused = 0, whole = 0, ret;

	for (round = 0; round < 300; round++) {
		struct kspan_sring r = { 0 };
		struct kspan_record_header *h;
		int fd = kspan_open(O_RDWR);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, kspan_sring_setup(&r, fd, 4096));
		h = kspan_sring_reserve(&r, SPAN_LEN);
		make_span(h, SPAN_LEN, round, SPAN_LEN);
		kspan_sring_produce(&r, SPAN_LEN);
		f.len = &h->len;
		atomic_store(&f.stop, 0);
		atomic_store(&f.flips, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, flip_length, &f));
		while (atomic_load(&f.flips) < 1000)
			;
		kspan_sring_publish(&r);
		ret = kspan_sring_flush(&r, 0);
		atomic_store(&f.stop, 1);
		pthread_join(t, NULL);
		/* One outcome each: moved whole, refused, or the ring corrupt. */
		if (ret == -EBADMSG)
			corrupt++;
		else if (!ret && r.head->rejected == 1 && !r.head->moved)
			refused++;
		else if (!ret && r.head->moved == 1 && !r.head->rejected)
			moved++;
		kspan_sring_unmap(&r);
		close(fd);
		/* What moved is whole: every span the consumer finds parses. */
		whole += count_whole_spans(&self->c, moved - whole, 2000);
	}
	TH_LOG("moved %d, refused %d, corrupt %d", moved, refused, corrupt);
	EXPECT_EQ(300, moved + refused + corrupt);
	EXPECT_EQ(moved, whole);
}

TEST_F(sring, setup_and_mapping_are_checked)
{
	struct kspan_submit_setup s;
	long page = sysconf(_SC_PAGESIZE);
	int status, fd;
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
		 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect((void *)self->r.head, page, PROT_READ | PROT_WRITE));
	p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, self->fd,
		 0);
	EXPECT_EQ(MAP_FAILED, p);
	/* Nothing executable, nothing past the ring. */
	p = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd,
		 (off_t)page);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, self->fd,
		 (off_t)page * (2 + 2 * SRING_SIZE / page));
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, self->fd,
		 (off_t)page);
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
	/* Nor may it map the ring through the file: it would write as us. */
	pid = fork();
	if (pid == 0)
		_exit(mmap(NULL, page, PROT_READ, MAP_SHARED, self->fd, 0) == MAP_FAILED &&
		      errno == EACCES ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* Only a producer's writable file may have one. */
	memset(&s, 0, sizeof(s));
	s.size = 65536;
	EXPECT_EQ(-1, ioctl(self->c.fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	EXPECT_EQ(EBUSY, errno);
	fd = kspan_open(O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, KSPAN_IOC_SETUP_SUBMIT_RING, &s));
	EXPECT_EQ(EBADF, errno);
	close(fd);
}

FIXTURE(noorphans) {
	int fd;
	struct kspan_consumer c;
	struct kspan_sring r;
};

FIXTURE_SETUP(noorphans)
{
	SETUP("flush_interval_ms=20 orphan_max=0");
}

FIXTURE_TEARDOWN(noorphans)
{
	TEARDOWN();
}

TEST_F(noorphans, past_orphan_max_a_release_drops_and_counts)
{
	const struct kspan_record_header *h;
	const struct kspan_lost *l;
	struct kspan_stats before, after;
	int filled, status, i;
	uint64_t lost = 0;
	pid_t pid;

	filled = fill_rings(self->fd);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &before));
	pid = fork();
	if (pid == 0) {
		struct kspan_sring r;
		int fd = kspan_open(O_RDWR);

		if (fd < 0 || kspan_sring_setup(&r, fd, 4096) || write_spans(&r, 0, 10) != 10)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &after));
	EXPECT_EQ(10u, after.dropped_atomic - before.dropped_atomic);
	EXPECT_EQ(10u, after.submitted - before.submitted);
	/* Once space frees, the consumer is told: a lost-records record. */
	ASSERT_EQ(filled, drain_fill(&self->c, filled));
	for (i = 0; i < nr_cpus(); i++) {
		uint8_t rec[SPAN_LEN];

		pin_to_cpu(i);
		make_span(rec, sizeof(rec), 7, SPAN_LEN);
		ASSERT_EQ(0, submit(self->fd, rec));
		while ((h = kspan_consumer_next(&self->c, i)))
			if (h->type == KSPAN_RECORD_LOST) {
				l = (const void *)(h + 1);
				lost += l->count;
			}
	}
	pin_to_cpu(0);
	EXPECT_EQ(10u, lost);
	kspan_consumer_release_all(&self->c);
}

TEST_HARNESS_MAIN
