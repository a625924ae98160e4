// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: the in-kernel API from NMI context
 * (tests/kmod/kspan_nmi_producer.c). NMIs are sent to CPU 0 while a user
 * producer writes there and the test hook holds that ring's lock for 2 ms
 * at each of its reservations, with at least 1 ms between them: many NMIs
 * land while the lock is held by the very code they interrupted, many
 * while it is free. An NMI never spins: it drops and counts
 * (dropped_busy), the consumer finds lost-records records adding up to
 * exactly those drops, every span that was not dropped arrives with the
 * identity of interrupt context, and the debug kernels report nothing.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define NMI_MOD "kspan_nmi_producer"

static unsigned long nmi_param(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/module/" NMI_MOD "/parameters/%s", name);
	read_line(path, buf, sizeof(buf));
	return strtoul(buf, NULL, 10);
}

struct tally {
	uint64_t nmi, user, lost_sum, lost_records, bad_identity;
};

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
				const struct kspan_identity *id = &v.span->id;

				if (v.name_len == 3 && !memcmp(v.name, "nmi", 3)) {
					t->nmi++;
					/* No task is responsible in NMI. */
					if (id->pid || id->tid || id->uid ||
					    id->cgroup_id || id->cpu != i || !id->submit_time_ns)
						t->bad_identity++;
				} else {
					t->user++;
				}
			}
		}
	}
	kspan_consumer_release_all(c);
}

struct user_producer {
	atomic_int stop;
	atomic_int failed;
	uint64_t sent;
};

/*
 * Writes on CPU 0, where the NMIs land, until told to stop. It sleeps 1 ms
 * after each span: back to back, a fast guest could hold the lock through
 * every NMI (it did once: 400 busy, 0 written), and the test wants both.
 */
static void *user_producer(void *arg)
{
	struct user_producer *up = arg;
	uint8_t rec[256];
	int fd = kspan_open(O_RDWR);

	if (fd < 0 || pin_to_cpu(0)) {
		atomic_store(&up->failed, 1);
		return NULL;
	}
	while (!atomic_load(&up->stop)) {
		make_span(rec, sizeof(rec), up->sent, 120);
		if (submit(fd, rec)) {
			atomic_store(&up->failed, 1);
			break;
		}
		up->sent++;
		usleep(1000);
	}
	close(fd);
	return NULL;
}

struct nmi_load {
	const char *params;
	int ret;
};

/* insmod blocks until every NMI was sent: from CPU 1, not the target. */
static void *load_nmi_producer(void *arg)
{
	struct nmi_load *l = arg;
	char path[PATH_MAX];
	const char *dir = getenv("KSPAN_TEST_KMOD_DIR");

	pin_to_cpu(1);
	snprintf(path, sizeof(path), "%s/" NMI_MOD ".ko", dir ? dir : ".");
	l->ret = module_load(path, l->params);
	return NULL;
}

FIXTURE(nmi) {
	int fd;
	struct kspan_consumer c;
};

FIXTURE_SETUP(nmi)
{
	ASSERT_LE(2, nr_cpus());
	ASSERT_EQ(0, kspan_reload("ring_size=65536 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
}

FIXTURE_TEARDOWN(nmi)
{
	test_hold(0, 0, 0, 0);
	if (module_is_loaded(NMI_MOD))
		EXPECT_EQ(0, module_unload(NMI_MOD));
	kspan_consumer_close(&self->c);
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

TEST_F_TIMEOUT(nmi, nmi_inside_the_ring_lock_drops_and_counts, 600)
{
	struct nmi_load load = { .params = "cpu=0 count=400 period_us=300" };
	struct user_producer up = { 0 };
	struct tally t = { 0 };
	struct kspan_stats st;
	unsigned long ok, full, busy;
	pthread_t prod, loader;
	uint8_t rec[256];
	int cpu;

	/* Every reservation of the user producer holds the lock for 2 ms. */
	ASSERT_EQ(0, test_hold(0, 0, 2000, 1000000));
	ASSERT_EQ(0, pthread_create(&prod, NULL, user_producer, &up));
	ASSERT_EQ(0, pthread_create(&loader, NULL, load_nmi_producer, &load));
	ASSERT_EQ(0, pin_to_cpu(1));
	while (pthread_tryjoin_np(loader, NULL)) {
		drain(&self->c, &t);
		usleep(20000);
	}
	ASSERT_EQ(0, load.ret);
	ASSERT_EQ(0, test_hold(0, 0, 0, 0));
	atomic_store(&up.stop, 1);
	pthread_join(prod, NULL);
	ASSERT_EQ(0, atomic_load(&up.failed));

	ok = nmi_param("nmi_ok");
	full = nmi_param("nmi_full");
	busy = nmi_param("nmi_busy");
	EXPECT_EQ(0u, nmi_param("nmi_other"));
	EXPECT_EQ(0u, nmi_param("nmi_lost"));
	ASSERT_EQ(400u, ok + full + busy);
	ASSERT_LT(0u, busy) {
		TH_LOG("no NMI met the lock held: the test proves nothing");
	}
	ASSERT_LT(0u, ok);

	/* One more span per ring writes out any pending loss marker. */
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		ASSERT_EQ(0, pin_to_cpu(cpu));
		make_span(rec, sizeof(rec), 1000000 + cpu, 120);
		ASSERT_EQ(0, submit(self->fd, rec));
	}
	drain(&self->c, &t);

	EXPECT_EQ(ok, t.nmi);
	EXPECT_EQ(0u, t.bad_identity);
	EXPECT_EQ(up.sent + nr_cpus(), t.user);
	EXPECT_EQ(full + busy, t.lost_sum);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(busy, st.dropped_busy);
	EXPECT_EQ(full, st.dropped_atomic);
	EXPECT_EQ(t.lost_records, st.lost_records);
	EXPECT_EQ(full + busy, self->c.rings[0].prod->lost);
	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
	TH_LOG("%lu NMIs written, %lu dropped on a busy ring, %lu on a full one; %llu user spans",
	       ok, busy, full, (unsigned long long)up.sent);
}

TEST_HARNESS_MAIN
