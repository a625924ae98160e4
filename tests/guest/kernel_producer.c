// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: the in-kernel API from hard-IRQ and softirq context
 * (tests/kmod/kspan_irq_producer.c) while user producers run. Spans that
 * find their ring full are dropped and counted; the consumer finds lost-
 * records records whose counts add up to exactly the drops, and every span
 * that was not dropped.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define IRQ_MOD "kspan_irq_producer"

struct tally {
	uint64_t hard, soft, user, lost_sum, lost_records, bad_identity;
};

/* Interrupt context: no task is responsible; the CPU is the ring's. */
static int irq_identity_ok(const struct kspan_identity *id, unsigned int ring)
{
	return !id->pid && !id->tid && !id->uid && !id->cgroup_id &&
	       id->cpu == ring && id->submit_time_ns;
}

static unsigned long irq_param(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/module/" IRQ_MOD "/parameters/%s", name);
	read_line(path, buf, sizeof(buf));
	return strtoul(buf, NULL, 10);
}

static int load_irq_producer(const char *params)
{
	char path[PATH_MAX];
	const char *dir = getenv("KSPAN_TEST_KMOD_DIR");

	snprintf(path, sizeof(path), "%s/" IRQ_MOD ".ko", dir ? dir : ".");
	return module_load(path, params);
}

static void drain(struct kspan_consumer *c, struct tally *t)
{
	const struct kspan_record_header *h;
	struct kspan_span_view v;
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++) {
		while ((h = kspan_consumer_next(c, i))) {
			if (h->type == KSPAN_RECORD_LOST) {
				t->lost_sum += ((const struct kspan_lost *)(h + 1))->count;
				t->lost_records++;
			} else if (kspan_span_parse(h, h->len, &v) == 0) {
				int irq = v.name_len == 7 &&
					  (!memcmp(v.name, "hardirq", 7) ||
					   !memcmp(v.name, "softirq", 7));

				if (irq && !irq_identity_ok(&v.span->id, i))
					t->bad_identity++;
				if (irq && v.name[0] == 'h')
					t->hard++;
				else if (irq)
					t->soft++;
				else
					t->user++;
			}
		}
	}
	kspan_consumer_release_all(c);
}

FIXTURE(kprod) {
	int fd;
	struct kspan_consumer c;
};

FIXTURE_SETUP(kprod)
{
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
}

FIXTURE_TEARDOWN(kprod)
{
	if (module_is_loaded(IRQ_MOD))
		EXPECT_EQ(0, module_unload(IRQ_MOD));
	kspan_consumer_close(&self->c);
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

struct user_producer {
	atomic_int stop;
	uint64_t sent;
};

/* Blocking user producer hopping between CPUs until told to stop. */
static void *user_producer(void *arg)
{
	struct user_producer *up = arg;
	uint8_t rec[256];
	int fd = kspan_open(O_RDWR);

	if (fd < 0)
		return NULL;
	while (!atomic_load(&up->stop)) {
		pin_to_cpu((int)(up->sent / 50 % nr_cpus()));
		make_span(rec, sizeof(rec), up->sent, 120);
		if (submit(fd, rec) == 0)
			up->sent++;
	}
	close(fd);
	return NULL;
}

TEST_F_TIMEOUT(kprod, interrupt_drops_are_counted_and_marked_exactly, 300)
{
	struct user_producer up = { 0 };
	struct tally t = { 0 };
	struct kspan_stats st;
	unsigned long hard_ok, hard_drop, soft_ok, soft_drop;
	pthread_t thr;
	int cpu, tries;
	uint8_t rec[256];

	ASSERT_EQ(0, pthread_create(&thr, NULL, user_producer, &up));
	ASSERT_EQ(0, load_irq_producer("count=1000 period_us=100"));
	/* A slow consumer: the ring fills between drains, so IRQs drop. */
	for (tries = 0; tries < 2000; tries++) {
		usleep(50000);
		drain(&self->c, &t);
		if (irq_param("hard_ok") + irq_param("hard_dropped") == 1000 &&
		    irq_param("soft_ok") + irq_param("soft_dropped") == 1000)
			break;
	}
	atomic_store(&up.stop, 1);
	/* The user thread may be blocked: keep draining until it is out. */
	for (tries = 0; tries < 100 && pthread_tryjoin_np(thr, NULL); tries++) {
		drain(&self->c, &t);
		usleep(20000);
	}
	ASSERT_GT(100, tries);

	hard_ok = irq_param("hard_ok");
	hard_drop = irq_param("hard_dropped");
	soft_ok = irq_param("soft_ok");
	soft_drop = irq_param("soft_dropped");
	ASSERT_EQ(1000u, hard_ok + hard_drop);
	ASSERT_EQ(1000u, soft_ok + soft_drop);
	ASSERT_LT(0u, hard_drop + soft_drop) {
		TH_LOG("no drop happened: the test proves nothing");
	}

	/* One more span per ring writes out any pending loss marker. */
	drain(&self->c, &t);
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		ASSERT_EQ(0, pin_to_cpu(cpu));
		make_span(rec, sizeof(rec), 1000000 + cpu, 120);
		ASSERT_EQ(0, submit(self->fd, rec));
	}
	drain(&self->c, &t);

	EXPECT_EQ(hard_ok, t.hard);
	EXPECT_EQ(soft_ok, t.soft);
	EXPECT_EQ(0u, t.bad_identity);
	EXPECT_EQ(up.sent + nr_cpus(), t.user);
	EXPECT_EQ(hard_drop + soft_drop, t.lost_sum);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(hard_drop + soft_drop, st.dropped_atomic);
	EXPECT_EQ(0u, st.dropped_policy);
	EXPECT_EQ(t.lost_records, st.lost_records);
	EXPECT_EQ(hard_ok + soft_ok + t.user, st.committed);
	EXPECT_EQ(st.committed, st.consumed);
	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
}

TEST_F_TIMEOUT(kprod, no_drop_no_lost_record, 120)
{
	struct tally t = { 0 };
	struct kspan_stats st;
	int tries;

	ASSERT_EQ(0, load_irq_producer("count=200 period_us=2000"));
	for (tries = 0; tries < 1000; tries++) {
		usleep(20000);
		drain(&self->c, &t);
		if (irq_param("hard_ok") + irq_param("hard_dropped") == 200 &&
		    irq_param("soft_ok") + irq_param("soft_dropped") == 200)
			break;
	}
	drain(&self->c, &t);
	EXPECT_EQ(200u, irq_param("hard_ok"));
	EXPECT_EQ(200u, irq_param("soft_ok"));
	EXPECT_EQ(200u, t.hard);
	EXPECT_EQ(200u, t.soft);
	EXPECT_EQ(0u, t.bad_identity);
	EXPECT_EQ(0u, t.lost_records);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(0u, st.dropped_atomic);
	EXPECT_EQ(0u, st.lost_records);
}

TEST_HARNESS_MAIN
