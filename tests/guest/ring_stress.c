// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: volume and races.
 *
 *  - Wrap-around: millions of records of mixed sizes through a 16 KiB ring;
 *    every record, including those that cross the end of the data area,
 *    arrives whole and in order.
 *  - Lost wake-ups: producers pinned and unpinned across CPUs race a
 *    consumer that releases one record at a time into a full one-page ring,
 *    until the module has woken sleeping producers 10^6 times. A lost
 *    wake-up hangs a producer (and the test's timeout fails it); the final
 *    counters must equal what was sent.
 *
 *  - Consumer wake-ups: a consumer polling with no timeout against a
 *    producer that submits the moment it has caught up, 10^6 times.
 *
 * KSPAN_STRESS_RECORDS scales the first two (default 2000000 records, 10^6
 * wake-up cycles); KSPAN_STRESS_DEBUG (set on the debug kernels) divides
 * the cycles by four: their instrumentation makes each several times
 * slower.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "span_util.h"

static uint64_t scaled(uint64_t dflt)
{
	const char *s = getenv("KSPAN_STRESS_RECORDS");

	return s && *s ? strtoull(s, NULL, 10) * dflt / 2000000 : dflt;
}

/* The pad of record @seq: its length and first byte tell it apart. */
static size_t size_of(uint64_t seq)
{
	return 200 + (seq * 7919) % 800;	/* 200 .. 999 bytes */
}

static int check_record(const struct kspan_record_header *h, uint64_t seq)
{
	struct kspan_span_view v;
	struct kspan_attr_view a;
	size_t i;

	if (h->len != size_of(seq) || kspan_span_parse(h, h->len, &v) ||
	    kspan_span_attr(&v, 0, &a) || kspan_attr_int(&a) != (int64_t)seq)
		return -1;
	if (kspan_span_attr(&v, 1, &a))
		return -1;
	for (i = 0; i < a.val_len; i++)
		if (a.val[i] != 'a' + seq % 26)
			return -1;
	return 0;
}

struct wrap {
	int fd;
	uint64_t total;
	atomic_int failed;
};

static void *wrap_producer(void *arg)
{
	struct wrap *w = arg;
	static uint8_t buf[64 * 1024];
	struct kspan_submit_batch b;
	uint64_t seq = 0;
	size_t off;
	int n, ret;

	pin_to_cpu(0);
	while (seq < w->total) {
		for (n = 0, off = 0; n < 32 && seq + n < w->total; n++)
			off += kspan_record_total(make_span(buf + off, sizeof(buf) - off,
							    seq + n, size_of(seq + n)));
		memset(&b, 0, sizeof(b));
		b.records = (uintptr_t)buf;
		b.len = off;
		b.count = n;
		ret = ioctl(w->fd, KSPAN_IOC_SUBMIT_BATCH, &b);
		if (ret != n) {
			atomic_store(&w->failed, 1);
			return NULL;
		}
		seq += n;
	}
	return NULL;
}

FIXTURE(stress) {
	int fd;
	struct kspan_consumer c;
};

FIXTURE_SETUP(stress)
{
	self->fd = -1;
	self->c.fd = -1;
}

FIXTURE_TEARDOWN(stress)
{
	kspan_consumer_close(&self->c);
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

TEST_F_TIMEOUT(stress, millions_of_mixed_records_wrap_intact, 1200)
{
	struct wrap w = { .total = scaled(2000000) };
	const struct kspan_record_header *h;
	struct kspan_stats st;
	uint64_t seq = 0, wrapped = 0, off;
	struct pollfd pfd;
	pthread_t thr;

	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	w.fd = self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	if (nr_cpus() > 1)
		pin_to_cpu(1);
	ASSERT_EQ(0, pthread_create(&thr, NULL, wrap_producer, &w));

	pfd.fd = self->c.fd;
	pfd.events = POLLIN;
	while (seq < w.total && !atomic_load(&w.failed)) {
		while ((h = kspan_consumer_next(&self->c, 0))) {
			off = (self->c.rings[0].read_pos - kspan_record_total(h->len)) &
			      (self->c.info.data_size - 1);
			if (off + h->len > self->c.info.data_size)
				wrapped++;
			ASSERT_EQ(0, check_record(h, seq)) {
				TH_LOG("record %llu damaged", (unsigned long long)seq);
			}
			seq++;
		}
		ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
		if (seq == w.total)
			break;
		/* Poll does its own release too; a lost wake-up times out. */
		ASSERT_LT(0, poll(&pfd, 1, 5000)) {
			TH_LOG("stalled at record %llu", (unsigned long long)seq);
		}
	}
	pthread_join(thr, NULL);
	ASSERT_EQ(0, atomic_load(&w.failed));
	EXPECT_EQ(w.total, seq);
	EXPECT_LT(1000u, wrapped);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(w.total, st.committed);
	EXPECT_EQ(w.total, st.consumed);
	EXPECT_EQ(st.bytes_committed, st.bytes_consumed);
}

struct racer {
	int id;
	atomic_int *stop;
	atomic_int *failed;
	uint64_t sent;
};

#define RACERS 4
#define RACE_SPAN 100

static void *racer(void *arg)
{
	struct racer *r = arg;
	uint8_t rec[256];
	cpu_set_t all;
	int fd = kspan_open(O_RDWR), i;

	if (fd < 0) {
		atomic_store(r->failed, 1);
		return NULL;
	}
	CPU_ZERO(&all);
	for (i = 0; i < nr_cpus(); i++)
		CPU_SET(i, &all);
	while (!atomic_load(r->stop)) {
		/* Pinned here, pinned there, then free to roam. */
		if (r->sent % 257 == 0) {
			if ((r->sent / 257) % 3 == 2)
				sched_setaffinity(0, sizeof(all), &all);
			else
				pin_to_cpu((int)((r->sent / 257 + r->id) % nr_cpus()));
		}
		make_span(rec, sizeof(rec), (uint64_t)r->id << 32 | r->sent, RACE_SPAN);
		if (submit(fd, rec)) {
			atomic_store(r->failed, 1);
			break;
		}
		r->sent++;
	}
	close(fd);
	return NULL;
}

/* Whether ring @i has no room for one more racer span. */
static int ring_full(struct kspan_consumer *c, unsigned int i)
{
	const struct kspan_producer_page *p = c->rings[i].prod;
	uint64_t used = __atomic_load_n(&p->producer_pos, __ATOMIC_ACQUIRE) -
			__atomic_load_n(&p->consumer_pos, __ATOMIC_ACQUIRE);

	return c->info.data_size - used < kspan_record_total(RACE_SPAN);
}

/*
 * The consumer releases one record at a time, and only into a full ring,
 * so that every release races producers that are going to sleep, sleeping,
 * or waking. Runs until the module has woken sleepers @cycles times.
 */
TEST_F_TIMEOUT(stress, no_lost_wakeups_under_a_million_full_release_cycles, 1800)
{
	uint64_t cycles = scaled(1000000) / (getenv("KSPAN_STRESS_DEBUG") ? 4 : 1);
	uint64_t got[RACERS] = { 0 }, total = 0, sent = 0;
	atomic_int stop = 0, failed = 0;
	const struct kspan_record_header *h;
	struct racer r[RACERS];
	pthread_t thr[RACERS];
	struct kspan_stats st = { 0 };
	unsigned int ring;
	uint64_t spins;
	int i, done = 0;

	ASSERT_EQ(0, kspan_reload("ring_size=4096 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	for (i = 0; i < RACERS; i++) {
		r[i] = (struct racer){ .id = i, .stop = &stop, .failed = &failed };
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, racer, &r[i]));
	}

	while (!done && !atomic_load(&failed)) {
		for (ring = 0; ring < self->c.info.nr_rings; ring++) {
			/* Wait (yielding) for the producers to fill the ring. */
			for (spins = 0; !ring_full(&self->c, ring) && spins < 2000; spins++)
				sched_yield();
			h = kspan_consumer_next(&self->c, ring);
			if (!h)
				continue;
			ASSERT_EQ(KSPAN_RECORD_SPAN, h->type);
			i = (int)(span_seq(h) >> 32);
			ASSERT_TRUE(i >= 0 && i < RACERS);
			got[i]++;
			total++;
			ASSERT_EQ(0, kspan_consumer_release(&self->c, ring,
							    self->c.rings[ring].read_pos));
		}
		if (total % 4096 == 0) {
			ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
			done = st.wakeups >= cycles;
		}
	}
	atomic_store(&stop, 1);
	/* Producers blocked on a full ring need the rest drained to stop. */
	for (i = 0; i < RACERS; i++) {
		while (pthread_tryjoin_np(thr[i], NULL)) {
			for (ring = 0; ring < self->c.info.nr_rings; ring++)
				while ((h = kspan_consumer_next(&self->c, ring))) {
					got[span_seq(h) >> 32]++;
					total++;
				}
			ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
			usleep(1000);
		}
	}
	for (ring = 0; ring < self->c.info.nr_rings; ring++)
		while ((h = kspan_consumer_next(&self->c, ring))) {
			got[span_seq(h) >> 32]++;
			total++;
		}
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	ASSERT_EQ(0, atomic_load(&failed));

	for (i = 0; i < RACERS; i++) {
		EXPECT_EQ(r[i].sent, got[i]);
		sent += r[i].sent;
	}
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_LE(cycles, st.wakeups);
	EXPECT_EQ(sent, total);
	EXPECT_EQ(sent, st.submitted);
	EXPECT_EQ(sent, st.committed);
	EXPECT_EQ(sent, st.consumed);
	EXPECT_EQ(0u, st.dropped_atomic + st.dropped_policy + st.rejected);
	TH_LOG("%llu records, %llu sleeps, %llu wake-ups",
	       (unsigned long long)total, (unsigned long long)st.blocked,
	       (unsigned long long)st.wakeups);
}

struct edge {
	atomic_uint_fast64_t consumed;
	atomic_int stop;
	atomic_int failed;
	uint64_t sent;
};

/*
 * Submits one span as soon as the consumer has consumed the previous one:
 * right when it catches up and heads for poll. On CPU 0, the consumer on
 * CPU 1: the two sides of the race on two CPUs.
 */
static void *edge_producer(void *arg)
{
	struct edge *e = arg;
	uint8_t rec[256];
	int fd = kspan_open(O_RDWR);

	if (fd < 0) {
		atomic_store(&e->failed, 1);
		return NULL;
	}
	pin_to_cpu(0);
	while (!atomic_load(&e->stop)) {
		while (atomic_load(&e->consumed) < e->sent && !atomic_load(&e->stop))
			;
		make_span(rec, sizeof(rec), e->sent, RACE_SPAN);
		if (submit(fd, rec)) {
			atomic_store(&e->failed, 1);
			break;
		}
		e->sent++;
	}
	close(fd);
	return NULL;
}

/*
 * The consumer wake-up at the catch-up edge (barrier F in kmod/ring.c):
 * a consumer that waits with no timeout at all (poll, or edge-triggered
 * epoll), half of the time having only marked what it read (read_pos),
 * against a producer that submits the moment it has caught up. A lost
 * wake-up hangs the test.
 */
TEST_F_TIMEOUT(stress, no_lost_consumer_wakeups_at_the_catch_up_edge, 1800)
{
	/* Cheap enough to run in full in make check (but slower under KASAN). */
	uint64_t cycles = getenv("KSPAN_STRESS_DEBUG") ? 250000 : 1000000;
	const struct kspan_record_header *h;
	struct edge e = { 0 };
	struct epoll_event ev;
	struct pollfd pfd;
	int epfd;
	struct kspan_stats st;
	uint64_t got = 0, n;
	unsigned int ring;
	pthread_t thr;

	ASSERT_EQ(0, kspan_reload("ring_size=65536 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	ASSERT_EQ(0, pin_to_cpu(nr_cpus() > 1 ? 1 : 0));
	ASSERT_EQ(0, pthread_create(&thr, NULL, edge_producer, &e));
	pfd.fd = self->c.fd;
	pfd.events = POLLIN;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, epfd);
	ev.events = EPOLLIN | EPOLLET;
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, self->c.fd, &ev));
	for (n = 0; got < cycles && !atomic_load(&e.failed); n++) {
		/*
		 * Every third wait in an edge-triggered epoll, which never
		 * calls the device's poll on its own: the consumer checks
		 * for itself before it sleeps (kspan_consumer_idle()).
		 */
		if (n % 3 == 2) {
			if (kspan_consumer_idle(&self->c))
				ASSERT_EQ(1, epoll_wait(epfd, &ev, 1, -1));
		} else {
			ASSERT_EQ(1, poll(&pfd, 1, -1));
		}
		for (ring = 0; ring < self->c.info.nr_rings; ring++)
			while ((h = kspan_consumer_next(&self->c, ring))) {
				ASSERT_EQ((int64_t)got, span_seq(h));
				got++;
			}
		/* Read, then released now or only marked as read. */
		if (n % 2) {
			ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
		} else {
			for (ring = 0; ring < self->c.info.nr_rings; ring++)
				kspan_consumer_mark_read(&self->c, ring);
		}
		atomic_store(&e.consumed, got);
	}
	atomic_store(&e.stop, 1);
	pthread_join(thr, NULL);
	ASSERT_EQ(0, atomic_load(&e.failed));
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(e.sent, st.committed);
	EXPECT_LE(cycles, got);
	close(epfd);
	TH_LOG("%llu records, %llu waits", (unsigned long long)got,
	       (unsigned long long)n);
}

TEST_HARNESS_MAIN
