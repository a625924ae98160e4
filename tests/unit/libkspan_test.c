// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of libkspan: id generation, W3C traceparent parsing and
 * formatting, the span builder's limits and the current-span stack, and
 * the fallback when the device is absent. The host has no module: spans
 * are written into a ring in plain memory installed as the thread's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libkspan/internal.h"

#define FAKE_SIZE 16384
#define PAGE 4096

static uint8_t fake_mem[2 * PAGE + 2 * FAKE_SIZE] __attribute__((aligned(PAGE)));

/* The thread's ring becomes fake_mem; ioctls go to /dev/null (ENOTTY). */
static struct kspan_sring *fake_ring(void)
{
	struct kspan_thread *t = kspan_thread_get();

	memset(fake_mem, 0, sizeof(fake_mem));
	t->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	t->ring.fd = t->fd;
	t->ring.head = (const void *)fake_mem;
	t->ring.tail = (void *)(fake_mem + PAGE);
	t->ring.data = fake_mem + 2 * PAGE;
	t->ring.size = FAKE_SIZE;
	t->ring.pos = 0;
	t->ring.record_max = 4096;
	return &t->ring;
}

/* The @n-th record written into the fake ring (0-based), parsed. */
static int fake_record(unsigned int n, struct kspan_span_view *v)
{
	struct kspan_thread *t = kspan_thread_get();
	const uint8_t *p = t->ring.data;
	const struct kspan_record_header *h;

	for (;;) {
		h = (const void *)p;
		if ((size_t)(p - t->ring.data) >= t->ring.pos || !h->len)
			return -ENOENT;
		if (!n--)
			return kspan_span_parse(h, h->len, v);
		p += kspan_record_total(h->len);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

TEST(span_ids_are_never_zero_and_do_not_repeat)
{
	enum { N = 200000 };
	uint64_t *ids = malloc(N * sizeof(*ids));
	uint8_t trace[16], zero[16] = { 0 };
	int i;

	ASSERT_NE(NULL, ids);
	for (i = 0; i < N; i++) {
		kspan_new_span_id((uint8_t *)&ids[i]);
		ASSERT_NE(0u, ids[i]);
	}
	qsort(ids, N, sizeof(*ids), cmp_u64);
	for (i = 1; i < N; i++)
		ASSERT_NE(ids[i - 1], ids[i]);
	for (i = 0; i < 1000; i++) {
		kspan_new_trace_id(trace);
		ASSERT_NE(0, memcmp(trace, zero, 16));
	}
	free(ids);
}

static void *first_span_id(void *arg)
{
	kspan_new_span_id(arg);
	return NULL;
}

TEST(threads_draw_different_ids)
{
	uint8_t a[8], b[8];
	pthread_t t1, t2;

	ASSERT_EQ(0, pthread_create(&t1, NULL, first_span_id, a));
	ASSERT_EQ(0, pthread_create(&t2, NULL, first_span_id, b));
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	EXPECT_NE(0, memcmp(a, b, 8));
}

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

TEST(traceparent_parses_and_formats_back)
{
	struct kspan_context c;
	char buf[KSPAN_TRACEPARENT_SIZE];

	ASSERT_EQ(0, kspan_traceparent_parse(TP, strlen(TP), &c));
	EXPECT_EQ(0x4b, c.trace_id[0]);
	EXPECT_EQ(0x36, c.trace_id[15]);
	EXPECT_EQ(0x00, c.span_id[0]);
	EXPECT_EQ(0xb7, c.span_id[7]);
	EXPECT_EQ(1, c.sampled);
	kspan_traceparent_format(&c, buf);
	EXPECT_STREQ(TP, buf);
	/* Unknown flag bits are ignored; only "sampled" is kept. */
	ASSERT_EQ(0, kspan_traceparent_parse(
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08", 55, &c));
	EXPECT_EQ(0, c.sampled);
}

TEST(traceparent_of_a_later_version_is_read_by_its_prefix)
{
	struct kspan_context c;

	EXPECT_EQ(0, kspan_traceparent_parse(
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55, &c));
	EXPECT_EQ(0, kspan_traceparent_parse(
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future", 71, &c));
	/* More, but not after a dash. */
	EXPECT_EQ(-EINVAL, kspan_traceparent_parse(
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", 56, &c));
}

TEST(invalid_traceparents_are_refused)
{
	static const char *const bad[] = {
		/* version ff is forbidden */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* all-zero trace id, all-zero parent id */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		/* upper-case hex */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
		/* not hex, wrong separators, short */
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
		/* version 00 is exactly 55 bytes */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
		"0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"",
	};
	struct kspan_context c;
	unsigned int i;

	memset(&c, 0x5a, sizeof(c));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, kspan_traceparent_parse(bad[i], strlen(bad[i]), &c))
			TH_LOG("accepted bad[%u]", i);
	/* Nothing is written on failure. */
	EXPECT_EQ(0x5a, c.trace_id[0]);
}

TEST(nested_spans_get_their_parent_and_trace)
{
	struct kspan_span_view root, child;
	struct kspan_context rc, cc;
	kspan_span_t *r, *c;

	fake_ring();
	r = kspan_span_start("root", KSPAN_SPAN_KIND_SERVER);
	ASSERT_NE(NULL, r);
	c = kspan_span_start("child", KSPAN_SPAN_KIND_CLIENT);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, kspan_current_context(&cc));
	kspan_span_context(c, &rc);
	EXPECT_EQ(0, memcmp(&rc, &cc, sizeof(rc)));
	kspan_span_end(c);
	ASSERT_EQ(0, kspan_submit(c));
	/* The root is current again. */
	ASSERT_EQ(0, kspan_current_context(&cc));
	kspan_span_context(r, &rc);
	EXPECT_EQ(0, memcmp(&rc, &cc, sizeof(rc)));
	ASSERT_EQ(0, kspan_submit(r));
	EXPECT_EQ(-ENOENT, kspan_current_context(&cc));

	ASSERT_EQ(0, fake_record(0, &child));
	ASSERT_EQ(0, fake_record(1, &root));
	EXPECT_EQ(0, memcmp(child.span->trace_id, root.span->trace_id, 16));
	EXPECT_EQ(0, memcmp(child.span->parent_span_id, root.span->span_id, 8));
	EXPECT_EQ(KSPAN_KIND_CLIENT, child.span->kind);
	EXPECT_LE(root.span->start_time_ns, child.span->start_time_ns);
	EXPECT_LE(child.span->end_time_ns, root.span->end_time_ns);
	EXPECT_EQ(KSPAN_SPAN_SAMPLED, root.span->flags);
	/* Published: the module would take both. */
	EXPECT_EQ(kspan_thread_get()->ring.pos, kspan_thread_get()->ring.tail->tail);
}

/* What the ring's page says the thread is in (ABI 1.4), for BPF. */
static const struct kspan_span_context *published(void)
{
	return &kspan_thread_get()->ring.tail->active;
}

static int published_is(const kspan_span_t *s)
{
	const struct kspan_span_context *p = published();
	struct kspan_context c;

	kspan_span_context(s, &c);
	return !(p->seq & 1) && !memcmp(p->trace_id, c.trace_id, 16) &&
	       !memcmp(p->span_id, c.span_id, 8) &&
	       p->flags == (KSPAN_CONTEXT_ACTIVE | (c.sampled ? KSPAN_CONTEXT_SAMPLED : 0));
}

TEST(the_current_span_is_published_in_the_ring_page)
{
	struct kspan_context unsampled;
	kspan_span_t *r, *c, *u;
	uint32_t seq;

	fake_ring();
	EXPECT_EQ(0u, published()->flags);
	r = kspan_span_start("root", KSPAN_SPAN_KIND_SERVER);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(published_is(r));
	seq = published()->seq;
	c = kspan_span_start("child", KSPAN_SPAN_KIND_CLIENT);
	ASSERT_NE(NULL, c);
	EXPECT_TRUE(published_is(c));
	/* Each publication moves the sequence by two: odd, then even. */
	EXPECT_EQ(seq + 2, published()->seq);
	kspan_span_end(c);
	EXPECT_TRUE(published_is(r));
	/* Submitting an ended span publishes nothing new. */
	seq = published()->seq;
	ASSERT_EQ(0, kspan_submit(c));
	EXPECT_EQ(seq, published()->seq);
	/* An unsampled remote parent: active, not sampled. */
	kspan_span_context(r, &unsampled);
	unsampled.sampled = 0;
	u = kspan_span_start_child_of("u", KSPAN_SPAN_KIND_INTERNAL, &unsampled);
	ASSERT_NE(NULL, u);
	EXPECT_TRUE(published_is(u));
	EXPECT_EQ(KSPAN_CONTEXT_ACTIVE, published()->flags);
	/* Ended out of order: the root leaves, the child stays current. */
	kspan_span_end(r);
	EXPECT_TRUE(published_is(u));
	kspan_span_end(u);
	EXPECT_EQ(0u, published()->flags);
	EXPECT_EQ(0u, published()->seq & 1);
	ASSERT_EQ(0, kspan_submit(u));
	ASSERT_EQ(0, kspan_submit(r));
}

TEST(remote_parent_joins_its_trace)
{
	struct kspan_context parent;
	struct kspan_span_view v;
	kspan_span_t *s;

	fake_ring();
	ASSERT_EQ(0, kspan_traceparent_parse(TP, strlen(TP), &parent));
	s = kspan_span_start_child_of("handle", KSPAN_SPAN_KIND_SERVER, &parent);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, kspan_submit(s));
	ASSERT_EQ(0, fake_record(0, &v));
	EXPECT_EQ(0, memcmp(v.span->trace_id, parent.trace_id, 16));
	EXPECT_EQ(0, memcmp(v.span->parent_span_id, parent.span_id, 8));
}

TEST(attributes_that_do_not_fit_leave_the_span_intact)
{
	char key[300], val[1500];
	struct kspan_span_view v;
	struct kspan_attr_view a;
	kspan_span_t *s;
	int added = 0, ret;

	fake_ring();
	s = kspan_span_start("limits", KSPAN_SPAN_KIND_INTERNAL);
	ASSERT_NE(NULL, s);
	memset(key, 'k', sizeof(key));
	key[256] = '\0';
	EXPECT_EQ(-EINVAL, kspan_span_set_int(s, key, 1));
	EXPECT_EQ(-EINVAL, kspan_span_set_int(s, "", 1));
	EXPECT_EQ(-EINVAL, kspan_span_set_str(s, "k", NULL));
	memset(val, 'v', sizeof(val));
	val[sizeof(val) - 1] = '\0';
	ASSERT_EQ(0, kspan_span_set_str(s, "big", val));
	added++;
	/* Now it is nearly full: small ones go in until one does not. */
	while ((ret = kspan_span_set_int(s, "n", added)) == 0)
		added++;
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(-ENOSPC, kspan_span_set_str(s, "big2", val));
	kspan_span_set_status(s, KSPAN_SPAN_STATUS_ERROR);
	ASSERT_EQ(0, kspan_submit(s));

	ASSERT_EQ(0, fake_record(0, &v));
	EXPECT_LE(v.hdr->len, KSPAN_SPAN_CAPACITY);
	EXPECT_GE(v.attr_count, (unsigned int)added);
	EXPECT_EQ(KSPAN_STATUS_ERROR, v.span->status);
	ASSERT_EQ(0, kspan_span_attr(&v, 0, &a));
	EXPECT_EQ(sizeof(val) - 1, a.val_len);
	/* Ended and submitted: further calls are refused. */
	EXPECT_EQ(-EINVAL, kspan_span_set_int(s, "late", 1));
}

TEST(long_names_are_cut_at_a_character_boundary)
{
	char name[600];
	struct kspan_span_view v;
	kspan_span_t *s;
	int i;

	fake_ring();
	/* "é" is two bytes: 511 bytes of 'a' then one straddling 512. */
	memset(name, 'a', 511);
	for (i = 511; i + 1 < (int)sizeof(name) - 1; i += 2) {
		name[i] = (char)0xc3;
		name[i + 1] = (char)0xa9;
	}
	name[i] = '\0';
	s = kspan_span_start(name, KSPAN_SPAN_KIND_INTERNAL);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, kspan_submit(s));
	ASSERT_EQ(0, fake_record(0, &v));
	EXPECT_EQ(511u, v.name_len);
}

TEST(open_spans_are_bounded_and_slots_come_back)
{
	kspan_span_t *s[KSPAN_MAX_OPEN_SPANS];
	int i;

	fake_ring();
	for (i = 0; i < KSPAN_MAX_OPEN_SPANS; i++) {
		s[i] = kspan_span_start("deep", KSPAN_SPAN_KIND_INTERNAL);
		ASSERT_NE(NULL, s[i]);
	}
	EXPECT_EQ(NULL, kspan_span_start("one too many", KSPAN_SPAN_KIND_INTERNAL));
	EXPECT_EQ(NULL, kspan_span_start("bad kind", (enum kspan_kind)9));
	kspan_span_discard(s[KSPAN_MAX_OPEN_SPANS - 1]);
	s[KSPAN_MAX_OPEN_SPANS - 1] = kspan_span_start("again", KSPAN_SPAN_KIND_INTERNAL);
	EXPECT_NE(NULL, s[KSPAN_MAX_OPEN_SPANS - 1]);
	for (i = KSPAN_MAX_OPEN_SPANS; i-- > 0;)
		kspan_span_discard(s[i]);
	EXPECT_EQ(0u, kspan_thread_get()->depth);
	EXPECT_EQ(0u, kspan_thread_get()->ring.pos);
}

TEST(try_submit_on_a_full_ring_keeps_the_span)
{
	struct kspan_sring *r = fake_ring();
	kspan_span_t *s;
	int n = 0;

	/* Nobody takes anything from the fake ring: it fills. */
	for (;;) {
		s = kspan_span_start("fill", KSPAN_SPAN_KIND_INTERNAL);
		ASSERT_NE(NULL, s);
		if (kspan_try_submit(s))
			break;
		n++;
	}
	EXPECT_LT(10, n);
	EXPECT_GE((uint64_t)FAKE_SIZE, r->pos);
	EXPECT_EQ(-EAGAIN, kspan_try_submit(s));
	/* The module took some: there is room again. */
	((struct kspan_submit_head *)fake_mem)->head = r->pos;
	EXPECT_EQ(0, kspan_try_submit(s));
}

TEST(without_the_device_everything_is_a_quiet_no_op)
{
	int p[2], status;
	char out[512] = "";
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	if (pid == 0) {
		kspan_span_t *s;

		dup2(p[1], 2);
		setenv("KSPAN_DEVICE", "/nonexistent/kspan", 1);
		if (kspan_init() != -ENOENT || !*kspan_status())
			_exit(1);
		s = kspan_span_start("x", KSPAN_SPAN_KIND_INTERNAL);
		if (s || kspan_span_set_int(s, "k", 1) || kspan_submit(s) ||
		    kspan_try_submit(s) || kspan_flush())
			_exit(2);
		kspan_span_end(s);
		kspan_span_discard(s);
		/* Asked again: the reason is not printed again. */
		if (kspan_span_start("y", KSPAN_SPAN_KIND_SERVER) || kspan_init() != -ENOENT)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_LT(0, read(p[0], out, sizeof(out) - 1));
	close(p[0]);
	EXPECT_NE(NULL, strstr(out, "libkspan: spans are not recorded: /nonexistent/kspan"));
	/* Exactly one line. */
	EXPECT_EQ(strchr(out, '\n'), strrchr(out, '\n'));
}

TEST_HARNESS_MAIN
