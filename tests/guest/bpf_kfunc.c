// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: BPF programs submit spans through the kfunc
 * kspan_bpf_submit(). A syscall program (tests/bpf/kfunc_test.bpf.c), run
 * with BPF_PROG_TEST_RUN, hands the record in its map to the kfunc: it
 * arrives intact with the caller's identity; a full ring drops and counts
 * it exactly, and the consumer sees a lost-records record; malformed
 * records are refused and counted; the module cannot go while a program
 * holds its kfunc, and can after.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "libkspan.h"
#include "kspan_sring.h"
#include "span_util.h"

#define REC_SIZE 1024		/* the program's map value */
#define SPAN_LEN 200

FIXTURE(kfunc) {
	int fd;
	struct kspan_consumer c;
	struct bpf_object *obj;
	int prog_fd, map_fd;
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

FIXTURE_SETUP(kfunc)
{
	char path[PATH_MAX];

	libbpf_set_print(quiet);
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	ASSERT_EQ(0, pin_to_cpu(0));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	ASSERT_EQ(0, build_path("tests/bpf/kfunc_test.bpf.o", path, sizeof(path)));
	self->obj = bpf_object__open_file(path, NULL);
	ASSERT_NE(NULL, self->obj);
	/* The verifier resolves the kfunc in the module's BTF here. */
	ASSERT_EQ(0, bpf_object__load(self->obj));
	self->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(self->obj, "submit"));
	self->map_fd = bpf_map__fd(bpf_object__find_map_by_name(self->obj, "rec_map"));
	ASSERT_LE(0, self->prog_fd);
	ASSERT_LE(0, self->map_fd);
}

FIXTURE_TEARDOWN(kfunc)
{
	int tries, ret;

	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
	kspan_consumer_close(&self->c);
	close(self->fd);
	/* A loaded program that calls the kfunc holds the module. */
	if (self->obj) {
		EXPECT_EQ(-EAGAIN, module_unload("kspan"));
		bpf_object__close(self->obj);
	}
	/* The program is freed after an RCU grace period, then the module. */
	for (tries = 0; tries < 200 && (ret = module_unload("kspan")) == -EAGAIN; tries++)
		usleep(50000);
	EXPECT_EQ(0, ret);
}

/* Runs the program on the record @rec; returns what the kfunc returned. */
static int run(FIXTURE_DATA(kfunc) *self, const void *rec, size_t len)
{
	uint8_t buf[REC_SIZE] = { 0 };
	uint32_t key = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	memcpy(buf, rec, len);
	if (bpf_map_update_elem(self->map_fd, &key, buf, BPF_ANY) ||
	    bpf_prog_test_run_opts(self->prog_fd, &opts))
		return -1000 - errno;
	return (int)opts.retval;
}

TEST_F(kfunc, span_arrives_intact_with_the_callers_identity)
{
	size_t id_off = sizeof(struct kspan_record_header) + offsetof(struct kspan_span, id);
	size_t id_end = id_off + sizeof(struct kspan_identity);
	const struct kspan_record_header *h;
	const struct kspan_span *s;
	uint8_t rec[SPAN_LEN];

	ASSERT_EQ(SPAN_LEN, make_span(rec, sizeof(rec), 42, SPAN_LEN));
	ASSERT_EQ(0, run(self, rec, sizeof(rec)));
	h = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, h);
	ASSERT_EQ(SPAN_LEN, h->len);
	EXPECT_EQ(0, memcmp(h, rec, id_off));
	EXPECT_EQ(0, memcmp((const uint8_t *)h + id_end, rec + id_end, SPAN_LEN - id_end));
	s = (const void *)(h + 1);
	/* A syscall program runs in the caller's context. */
	EXPECT_EQ((uint32_t)getpid(), s->id.pid);
	EXPECT_EQ((uint32_t)syscall(SYS_gettid), s->id.tid);
	EXPECT_EQ(0u, s->id.cpu);
	EXPECT_NE(0u, s->id.submit_time_ns);
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	kspan_consumer_release_all(&self->c);
}

TEST_F(kfunc, full_ring_drops_and_counts_exactly)
{
	const struct kspan_record_header *h;
	struct kspan_stats before, after;
	uint8_t rec[SPAN_LEN];
	uint64_t lost = 0;
	int filled, i;

	filled = fill_rings(self->fd);
	ASSERT_LT(40, filled);
	ASSERT_EQ(0, get_stats(self->fd, 0, &before));
	make_span(rec, sizeof(rec), 1, SPAN_LEN);
	for (i = 0; i < 25; i++)
		ASSERT_EQ(-ENOSPC, run(self, rec, sizeof(rec)));
	ASSERT_EQ(0, get_stats(self->fd, 0, &after));
	EXPECT_EQ(25u, after.dropped_atomic - before.dropped_atomic);
	EXPECT_EQ(25u, after.submitted - before.submitted);
	EXPECT_EQ(0u, after.committed - before.committed);
	/* Space again: the next span comes after a lost-records record. */
	ASSERT_EQ(filled, drain_fill(&self->c, filled));
	ASSERT_EQ(0, run(self, rec, sizeof(rec)));
	while ((h = kspan_consumer_next(&self->c, 0)))
		if (h->type == KSPAN_RECORD_LOST)
			lost += ((const struct kspan_lost *)(h + 1))->count;
	EXPECT_EQ(25u, lost);
	kspan_consumer_release_all(&self->c);
}

TEST_F(kfunc, malformed_records_are_refused_and_counted)
{
	struct kspan_stats before, after;
	uint8_t rec[SPAN_LEN];
	struct kspan_record_header *h = (void *)rec;
	struct kspan_span *s = (void *)(h + 1);

	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &before));
	make_span(rec, sizeof(rec), 2, SPAN_LEN);
	memset(s->trace_id, 0, sizeof(s->trace_id));
	EXPECT_EQ(-EINVAL, run(self, rec, sizeof(rec)));
	/* Longer than record_max: only record_max bytes are ever copied. */
	make_span(rec, sizeof(rec), 3, SPAN_LEN);
	h->len = 2000;
	EXPECT_EQ(-EMSGSIZE, run(self, rec, sizeof(rec)));
	/* Shorter than its own header says, within the buffer: invalid. */
	make_span(rec, sizeof(rec), 4, SPAN_LEN);
	h->len = SPAN_LEN + 64;
	EXPECT_EQ(-EINVAL, run(self, rec, sizeof(rec)));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &after));
	EXPECT_EQ(3u, after.rejected - before.rejected);
	EXPECT_EQ(0u, after.committed - before.committed);
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
}

TEST_F(kfunc, unchecked_null_pointer_is_refused)
{
	struct kspan_stats before, after;
	struct bpf_program *p = bpf_object__find_program_by_name(self->obj, "submit_unchecked");
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &before));
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(p), &opts));
	EXPECT_EQ(-EINVAL, (int)opts.retval);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &after));
	EXPECT_EQ(1u, after.rejected - before.rejected);
}

/* What current_span's map holds: the context, then room for a larger one. */
struct ctx_buf {
	struct kspan_span_context c;
	uint8_t more[32];
};

/* Runs @prog with @flags; returns the kfunc's result, the buffer in *@got. */
static int run_current_prog(struct bpf_object *o, const char *prog, uint64_t flags,
			    struct ctx_buf *got)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o, prog);
	int map = bpf_map__fd(bpf_object__find_map_by_name(o, "ctx_map"));
	int fmap = bpf_map__fd(bpf_object__find_map_by_name(o, "flags_map"));
	uint32_t key = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	/* Not zero: what the kfunc leaves alone shows. */
	memset(got, 0xa5, sizeof(*got));
	if (!p || map < 0 || fmap < 0 || bpf_map_update_elem(map, &key, got, BPF_ANY) ||
	    bpf_map_update_elem(fmap, &key, &flags, BPF_ANY) ||
	    bpf_prog_test_run_opts(bpf_program__fd(p), &opts) ||
	    bpf_map_lookup_elem(map, &key, got))
		return -1000;
	return (int)opts.retval;
}

static int run_current(FIXTURE_DATA(kfunc) *self, struct kspan_span_context *got)
{
	struct ctx_buf b;
	int ret = run_current_prog(self->obj, "current_span", 0, &b);

	*got = b.c;
	return ret;
}

static int same_context(const struct kspan_span_context *got, const kspan_span_t *s)
{
	struct kspan_context want;

	kspan_span_context(s, &want);
	return !memcmp(got->trace_id, want.trace_id, 16) &&
	       !memcmp(got->span_id, want.span_id, 8) &&
	       got->flags == (KSPAN_CONTEXT_ACTIVE | (want.sampled ? KSPAN_CONTEXT_SAMPLED : 0));
}

TEST_F(kfunc, current_span_is_what_libkspan_published)
{
	struct kspan_span_context got;
	kspan_span_t *outer, *inner;

	/* No ring for this thread yet: no span. */
	EXPECT_EQ(-ENOENT, run_current(self, &got));
	outer = kspan_span_start("outer", KSPAN_SPAN_KIND_SERVER);
	ASSERT_NE(NULL, outer);
	/* A syscall program runs in the calling thread: it sees the span. */
	ASSERT_EQ(0, run_current(self, &got));
	EXPECT_TRUE(same_context(&got, outer));
	EXPECT_EQ(0u, got.seq & 1);
	inner = kspan_span_start("inner", KSPAN_SPAN_KIND_CLIENT);
	ASSERT_EQ(0, run_current(self, &got));
	EXPECT_TRUE(same_context(&got, inner));
	kspan_span_end(inner);
	ASSERT_EQ(0, run_current(self, &got));
	EXPECT_TRUE(same_context(&got, outer));
	kspan_span_end(outer);
	EXPECT_EQ(-ENOENT, run_current(self, &got));
	EXPECT_EQ(0, kspan_submit(inner));
	EXPECT_EQ(0, kspan_submit(outer));
	/* The thread's ring holds the module too. */
	kspan_thread_release();
	EXPECT_EQ(-ENOENT, run_current(self, &got));
}

struct other_thread {
	struct bpf_object *obj;
	int ret;
};

static void *run_elsewhere(void *arg)
{
	struct other_thread *o = arg;
	struct ctx_buf b;

	o->ret = run_current_prog(o->obj, "current_span", 0, &b);
	return NULL;
}

TEST_F(kfunc, another_thread_is_not_in_the_span)
{
	struct other_thread o = { .obj = self->obj };
	kspan_span_t *s = kspan_span_start("mine", KSPAN_SPAN_KIND_SERVER);
	pthread_t t;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, pthread_create(&t, NULL, run_elsewhere, &o));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-ENOENT, o.ret);
	kspan_span_end(s);
	EXPECT_EQ(0, kspan_submit(s));
	kspan_thread_release();
}

TEST_F(kfunc, bad_arguments_are_refused)
{
	struct ctx_buf b;
	kspan_span_t *s = kspan_span_start("mine", KSPAN_SPAN_KIND_SERVER);

	ASSERT_NE(NULL, s);
	EXPECT_EQ(-EINVAL, run_current_prog(self->obj, "current_span_short", 0, &b));
	EXPECT_EQ(-EINVAL, run_current_prog(self->obj, "current_span", 2, &b));
	/* A known flag; bytes past the context are zeroed. */
	ASSERT_EQ(0, run_current_prog(self->obj, "current_span", KSPAN_CURRENT_SPAN_IN_IRQ, &b));
	EXPECT_TRUE(same_context(&b.c, s));
	EXPECT_EQ(0, b.more[0] | b.more[31]);
	kspan_span_end(s);
	EXPECT_EQ(0, kspan_submit(s));
	kspan_thread_release();
}

/*
 * A producer that writes its page by hand, badly: the module hands a
 * program nothing torn, no unknown flag bits and no zero ids.
 */
TEST_F(kfunc, a_hostile_page_gives_nothing_wrong)
{
	struct kspan_sring r;
	struct kspan_span_context *pub, got;
	int fd = kspan_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kspan_sring_setup(&r, fd, 16384));
	pub = &r.tail->active;
	memset(pub->trace_id, 0x11, 16);
	memset(pub->span_id, 0x22, 8);
	pub->flags = KSPAN_CONTEXT_ACTIVE | 0xf0;
	pub->seq = 2;
	ASSERT_EQ(0, run_current(self, &got));
	/* Unknown bits are cleared. */
	EXPECT_EQ(KSPAN_CONTEXT_ACTIVE, got.flags);
	EXPECT_EQ(0x22, got.span_id[7]);
	/* Odd: mid-publication, never finished. */
	pub->seq = 3;
	EXPECT_EQ(-ENOENT, run_current(self, &got));
	/* Zero ids are no span. */
	pub->seq = 4;
	memset(pub->span_id, 0, 8);
	EXPECT_EQ(-ENOENT, run_current(self, &got));
	memset(pub->span_id, 0x22, 8);
	memset(pub->trace_id, 0, 16);
	EXPECT_EQ(-ENOENT, run_current(self, &got));
	kspan_sring_unmap(&r);
	close(fd);
	/* Released: not found any more. */
	EXPECT_EQ(-ENOENT, run_current(self, &got));
}

/* Mirrors irq_result in kfunc_test.bpf.c. */
struct irq_result {
	uint32_t target_tgid, max_hits;
	uint64_t hits, plain_enoent, plain_other, flagged_ok, flagged_other;
	uint64_t submitted, submit_failed;
	struct kspan_span_context last;
};

/*
 * A program in a hard interrupt (the tick) that interrupted a thread in a
 * span: no answer unless it asks for the interrupted thread, then that
 * thread's span; its submits arrive, with no thread's identity.
 */
TEST_F(kfunc, in_an_interrupt_only_on_request_and_for_the_interrupted_thread)
{
	struct bpf_program *p = bpf_object__find_program_by_name(self->obj, "irq_probe");
	int map = bpf_map__fd(bpf_object__find_map_by_name(self->obj, "irq_map"));
	struct irq_result res = { .target_tgid = getpid(), .max_hits = 20 };
	const struct kspan_record_header *h;
	const struct kspan_span *sp;
	struct bpf_link *link;
	uint8_t rec[REC_SIZE] = { 0 };
	uint64_t end, arrived = 0;
	kspan_span_t *s;
	uint32_t key = 0;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, bpf_map_update_elem(map, &key, &res, BPF_ANY));
	ASSERT_EQ(SPAN_LEN, make_span(rec, sizeof(rec), 7, SPAN_LEN));
	ASSERT_EQ(0, bpf_map_update_elem(self->map_fd, &key, rec, BPF_ANY));
	s = kspan_span_start("busy", KSPAN_SPAN_KIND_INTERNAL);
	ASSERT_NE(NULL, s);
	link = bpf_program__attach(p);
	ASSERT_NE(NULL, link);
	/* Busy on CPU 0 (the fixture pinned us) until ticks interrupted us. */
	end = mono_ns() + 5000000000ULL;
	do {
		ASSERT_EQ(0, bpf_map_lookup_elem(map, &key, &res));
	} while (res.hits < res.max_hits && mono_ns() < end);
	bpf_link__destroy(link);
	kspan_span_end(s);
	ASSERT_EQ(0, bpf_map_lookup_elem(map, &key, &res));
	EXPECT_LT(0u, res.hits);
	EXPECT_EQ(res.hits, res.plain_enoent);
	EXPECT_EQ(res.hits, res.flagged_ok);
	EXPECT_TRUE(same_context(&res.last, s));
	EXPECT_EQ(res.hits, res.submitted);
	/* What the interrupts submitted: intact, stamped with no thread. */
	while ((h = kspan_consumer_next(&self->c, 0))) {
		if (h->type != KSPAN_RECORD_SPAN)
			continue;
		sp = (const void *)(h + 1);
		EXPECT_EQ(SPAN_LEN, h->len);
		EXPECT_EQ(0u, sp->id.pid);
		EXPECT_EQ(0u, sp->id.tid);
		arrived++;
	}
	kspan_consumer_release_all(&self->c);
	EXPECT_EQ(res.submitted, arrived);
	EXPECT_EQ(0, kspan_submit(s));
	kspan_thread_release();
}

TEST_HARNESS_MAIN
