// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: the module's lockless accesses under the data-race
 * detector's densest sampling.
 *
 * A ring's positions are written under its lock and read without it: by
 * blocked producers testing for room, by poll, by the release path and by
 * the stats. Every such pair must be marked (WRITE_ONCE/READ_ONCE, or
 * acquire/release); a plain access in one of them is a data race that the
 * kcsan kernel reports, which fails the run. KCSAN only sees a race when
 * it happens to watch one of the two accesses (one in up to
 * KCSAN_SKIP_WATCH, 4000), so the ordinary suites rarely meet it: here, on
 * a KCSAN kernel, at least one access of the module's in SKIP_WATCH is
 * watched while four producers (one pinned to each of two CPUs, one moved
 * between them, one left to the scheduler) keep a one-page ring at its
 * full edge, a consumer releases one record at a time and polls when it
 * has caught up, and a reader loops the stats.
 *
 * On any kernel: every span accepted arrives exactly once, in order per
 * producer and ring, and the counters agree. KSPAN_RACE_SECONDS sets how
 * long the race runs (default 8).
 *
 * Uses only the module's ABI 1.0 calls, so that it runs against the
 * module core as it was before the hardening too (built in that tree with
 * mono_ns() added to its span_util.h).
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define KCSAN_SKIP_WATCH "/sys/module/kcsan/parameters/skip_watch"
#define KCSAN_STATS "/sys/kernel/debug/kcsan"
/* Watch at least one access in this many (of kspan's only: nothing else
 * is instrumented on the kcsan kernel). Denser makes the module too slow.
 * tests/guest/run puts the default back after each suite. */
#define SKIP_WATCH "20"
#define PRODUCERS 4
#define SPAN_BYTES 256
#define MAX_RINGS 8
/* After the race: producers still blocked this long were never woken. */
#define DRAIN_NS 60000000000ull

struct producer {
	int id;
	int cpu;			/* -1: migrated by the test */
	_Atomic pid_t tid;
	atomic_int *stop;
	atomic_int *failed;
	uint64_t sent;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	uint8_t rec[SPAN_BYTES];
	int fd = -1, ret;

	atomic_store(&p->tid, gettid());
	if (p->cpu >= 0 && pin_to_cpu(p->cpu))
		goto fail;
	fd = kspan_open(O_RDWR);
	if (fd < 0 || set_policy(fd, KSPAN_FULL_BLOCK, 0))
		goto fail;
	while (!atomic_load(p->stop)) {
		if (make_span(rec, sizeof(rec), (uint64_t)p->id << 32 | p->sent,
			      SPAN_BYTES) < 0)
			goto fail;
		ret = submit(fd, rec);
		if (ret)
			goto fail;
		p->sent++;
	}
	close(fd);
	return NULL;
fail:
	if (fd >= 0)
		close(fd);
	atomic_store(p->failed, 1);
	return NULL;
}

struct sidekick {
	atomic_int *stop;
	struct producer *migrant;
	int fd;
	uint64_t rounds;
};

/* Moves the migrant between the CPUs while it runs and while it sleeps. */
static void *migrate_and_read_stats(void *arg)
{
	struct sidekick *s = arg;
	struct kspan_stats st;
	cpu_set_t set;

	while (!atomic_load(s->stop)) {
		CPU_ZERO(&set);
		CPU_SET(s->rounds % 2, &set);
		if (atomic_load(&s->migrant->tid))
			sched_setaffinity(atomic_load(&s->migrant->tid),
					  sizeof(set), &set);
		get_stats(s->fd, s->rounds % 2, &st);
		s->rounds++;
		usleep(500);
	}
	return NULL;
}

/* Restores the detector's sampling rate, whatever ends the test. */
static char saved_skip_watch[32];

static void restore_skip_watch(void)
{
	FILE *f;

	if (!saved_skip_watch[0])
		return;
	f = fopen(KCSAN_SKIP_WATCH, "w");
	if (f) {
		fputs(saved_skip_watch, f);
		fclose(f);
	}
	saved_skip_watch[0] = 0;
}

/* On a KCSAN kernel: watch densely. Returns 1 if it did, 0 if no KCSAN. */
static int watch_densely(struct __test_metadata *_metadata)
{
	FILE *f = fopen(KCSAN_SKIP_WATCH, "r");

	if (!f)
		return 0;
	ASSERT_NE(NULL, fgets(saved_skip_watch, sizeof(saved_skip_watch), f));
	fclose(f);
	f = fopen(KCSAN_SKIP_WATCH, "w");
	ASSERT_NE(NULL, f);
	ASSERT_LE(0, fputs(SKIP_WATCH, f));
	ASSERT_EQ(0, fclose(f));
	return 1;
}

/*
 * KCSAN's count of the races it detected, reported or not (a report may be
 * rate-limited, or filtered by the kernel's configuration): data races
 * plus races of unknown origin (a watched value that changed with no
 * instrumented writer seen). -1 without KCSAN.
 */
static long long kcsan_data_races(void)
{
	char line[128];
	long long n, sum = 0;
	int found = 0;
	FILE *f = fopen(KCSAN_STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "data_races: %lld", &n) == 1 ||
		    sscanf(line, "races_unknown_origin: %lld", &n) == 1) {
			sum += n;
			found++;
		}
	fclose(f);
	return found == 2 ? sum : -1;
}

static void on_sigusr1(int sig)
{
	(void)sig;	/* only to end a blocked submit with -EINTR */
}

struct seen {
	uint64_t count[PRODUCERS];
	int64_t last[PRODUCERS][MAX_RINGS];	/* the last seq seen, or -1 */
};

/* Takes one record of @ring; returns 1, 0 if none, -1 if it is wrong. */
static int take(struct kspan_consumer *c, unsigned int ring, struct seen *s)
{
	const struct kspan_record_header *h = kspan_consumer_next(c, ring);
	int64_t seq;
	int id;

	if (!h)
		return 0;
	if (h->type != KSPAN_RECORD_SPAN || h->len != SPAN_BYTES)
		return -1;
	seq = span_seq(h);
	id = (int)(seq >> 32);
	if (id < 0 || id >= PRODUCERS)
		return -1;
	/* Per producer and ring: in order, none twice. */
	if (seq <= s->last[id][ring])
		return -1;
	s->last[id][ring] = seq;
	s->count[id]++;
	return 1;
}

FIXTURE(race) {
	struct kspan_consumer c;
	int fd;
};

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, kspan_reload("ring_size=4096 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
}

FIXTURE_TEARDOWN(race)
{
	restore_skip_watch();
	kspan_consumer_close(&self->c);
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

TEST_F_TIMEOUT(race, full_ring_edge_under_dense_race_watch, 600)
{
	const char *env = getenv("KSPAN_RACE_SECONDS");
	uint64_t secs = env && *env ? strtoull(env, NULL, 10) : 8;
	struct pollfd pfd = { .fd = self->c.fd, .events = POLLIN };
	atomic_int stop = 0, failed = 0, side_stop = 0;
	struct producer p[PRODUCERS];
	struct sidekick side;
	pthread_t thr[PRODUCERS], side_thr;
	struct kspan_stats st;
	struct seen seen;
	uint64_t end, sent = 0, taken = 0, polls = 0, committed = 0;
	unsigned int ring;
	int i, got, kcsan, running, joined[PRODUCERS] = { 0 };
	long long races;

	/* Online CPUs: the producers pin themselves to 0 and 1. */
	ASSERT_LE(2, sysconf(_SC_NPROCESSORS_ONLN));
	ASSERT_GE(MAX_RINGS, self->c.info.nr_rings);
	memset(&seen, 0, sizeof(seen));
	memset(seen.last, 0xff, sizeof(seen.last));
	ASSERT_EQ(0, sigaction(SIGUSR1, &(struct sigaction){
		.sa_handler = on_sigusr1 }, NULL));	/* no SA_RESTART */
	kcsan = watch_densely(_metadata);
	races = kcsan_data_races();
	ASSERT_TRUE(!kcsan || races >= 0) TH_LOG("no %s", KCSAN_STATS);
	for (i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){ .id = i, .cpu = i < 2 ? i : -1,
					  .stop = &stop, .failed = &failed };
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, produce, &p[i]));
	}
	side = (struct sidekick){ .stop = &side_stop, .migrant = &p[2],
				  .fd = self->fd };
	ASSERT_EQ(0, pthread_create(&side_thr, NULL, migrate_and_read_stats, &side));

	/* One record per ring per round, released at once: the edge. */
	end = mono_ns() + secs * 1000000000ull;
	running = PRODUCERS;
	while (running) {
		if (!atomic_load(&stop) &&
		    (mono_ns() >= end || atomic_load(&failed))) {
			atomic_store(&stop, 1);
			end = mono_ns() + DRAIN_NS;
		}
		if (atomic_load(&stop) && mono_ns() >= end)
			break;
		got = 0;
		for (ring = 0; ring < self->c.info.nr_rings; ring++) {
			i = take(&self->c, ring, &seen);
			ASSERT_LE(0, i) TH_LOG("ring %u: a record wrong or twice", ring);
			got += i;
		}
		taken += got;
		ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
		if (!got) {
			/* Caught up: sleep in poll (a timeout only re-checks). */
			polls++;
			ASSERT_LE(0, poll(&pfd, 1, 200));
		}
		for (i = 0; atomic_load(&stop) && i < PRODUCERS; i++)
			if (!joined[i] && !pthread_tryjoin_np(thr[i], NULL)) {
				joined[i] = 1;
				running--;
			}
	}
	/* Any producer still asleep was never woken: end its wait, fail. */
	for (i = 0; i < PRODUCERS; i++)
		if (!joined[i]) {
			pthread_kill(thr[i], SIGUSR1);
			pthread_join(thr[i], NULL);
		}
	atomic_store(&side_stop, 1);
	pthread_join(side_thr, NULL);
	ASSERT_EQ(0, running) TH_LOG("%d producers still blocked after %llu s",
				     running, DRAIN_NS / 1000000000ull);
	restore_skip_watch();
	if (kcsan)
		EXPECT_EQ(races, kcsan_data_races())
			TH_LOG("KCSAN detected data races (see its reports)");
	ASSERT_EQ(0, atomic_load(&failed));

	/* The rest, now that nobody writes. */
	for (ring = 0; ring < self->c.info.nr_rings; ring++)
		while ((i = take(&self->c, ring, &seen)) == 1)
			taken++;
	ASSERT_EQ(0, i);
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	for (i = 0; i < PRODUCERS; i++) {
		EXPECT_EQ(p[i].sent, seen.count[i]);
		sent += p[i].sent;
	}
	for (ring = 0; ring < self->c.info.nr_rings; ring++) {
		ASSERT_EQ(0, get_stats(self->fd, ring, &st));
		committed += st.committed;
	}
	EXPECT_EQ(sent, taken);
	EXPECT_EQ(sent, committed);
	TH_LOG("%s: %llu spans in %llu s, %llu polls, %llu migrations",
	       kcsan ? "dense race watch" : "no KCSAN here",
	       (unsigned long long)sent, (unsigned long long)secs,
	       (unsigned long long)polls, (unsigned long long)side.rounds);
}

TEST_HARNESS_MAIN
