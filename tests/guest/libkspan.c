// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: libkspan against the module. The example program's nested
 * spans arrive whole, with their parents and one identity per thread;
 * recording a span makes no system call (counted under ptrace); a fork
 * child records through rings of its own; with the consumer stopped,
 * try_submit reports a full ring and submit waits until it resumes.
 */
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "libkspan.h"
#include "span_util.h"

#define MAX_SPANS 1024

struct got {
	struct kspan_span s;
	char name[64];
};

FIXTURE(lib) {
	struct kspan_consumer c;
	struct got spans[MAX_SPANS];
	int n;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, kspan_reload("ring_size=65536 flush_interval_ms=20"));
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	self->n = 0;
}

FIXTURE_TEARDOWN(lib)
{
	/* This thread's ring holds the module too. */
	kspan_thread_release();
	kspan_consumer_close(&self->c);
	EXPECT_EQ(0, module_unload("kspan"));
}

/* Reads spans from every ring until @want arrived or @ms passed. */
static int collect(FIXTURE_DATA(lib) *self, int want, int ms)
{
	const struct kspan_record_header *h;
	struct kspan_span_view v;
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000;
	unsigned int i;

	while (self->n < want && mono_ns() < end) {
		for (i = 0; i < self->c.info.nr_rings; i++) {
			while (self->c.rings[i].cons && (h = kspan_consumer_next(&self->c, i))) {
				if (h->type != KSPAN_RECORD_SPAN || self->n == MAX_SPANS)
					continue;
				if (kspan_span_parse(h, h->len, &v))
					return -1;
				self->spans[self->n].s = *v.span;
				snprintf(self->spans[self->n].name, sizeof(self->spans[0].name),
					 "%.*s", (int)v.name_len, v.name);
				self->n++;
			}
		}
		kspan_consumer_release_all(&self->c);
		if (self->n < want)
			usleep(10000);
	}
	return self->n;
}

static const struct got *by_span_id(FIXTURE_DATA(lib) *self, const uint8_t id[8])
{
	int i;

	for (i = 0; i < self->n; i++)
		if (!memcmp(self->spans[i].s.span_id, id, 8))
			return &self->spans[i];
	return NULL;
}

TEST_F(lib, example_program_spans_arrive_nested_one_identity_per_thread)
{
	uint32_t tids[8];
	int i, j, ntids = 0, servers = 0, per_tid[8] = { 0 };
	const struct got *parent;

	ASSERT_EQ(0, run_build_bin("request_sim -t 4 -n 5"));
	/* 4 threads x 5 requests x 5 spans. */
	ASSERT_EQ(100, collect(self, 100, 5000));
	for (i = 0; i < self->n; i++) {
		const struct kspan_span *s = &self->spans[i].s;
		static const uint8_t zero[8];

		if (s->kind == KSPAN_KIND_SERVER) {
			servers++;
			EXPECT_STREQ("GET /cart/{id}", self->spans[i].name);
		} else {
			/* Every other span's parent arrived, in its trace. */
			parent = by_span_id(self, s->parent_span_id);
			ASSERT_NE(NULL, parent) TH_LOG("orphan %s", self->spans[i].name);
			EXPECT_EQ(0, memcmp(parent->s.trace_id, s->trace_id, 16));
			EXPECT_EQ(parent->s.id.tid, s->id.tid);
			EXPECT_LE(parent->s.start_time_ns, s->start_time_ns);
			EXPECT_GE(parent->s.end_time_ns, s->end_time_ns);
		}
		if (!strcmp(self->spans[i].name, "pool.acquire")) {
			parent = by_span_id(self, s->parent_span_id);
			ASSERT_NE(NULL, parent);
			EXPECT_STREQ("SELECT cart_items", parent->name);
		}
		EXPECT_NE(0, memcmp(s->span_id, zero, 8));
		for (j = 0; j < ntids && tids[j] != s->id.tid; j++)
			;
		if (j == ntids && ntids < 8)
			tids[ntids++] = s->id.tid;
		if (j < 8)
			per_tid[j]++;
	}
	EXPECT_EQ(20, servers);
	EXPECT_EQ(4, ntids);
	for (j = 0; j < ntids; j++)
		EXPECT_EQ(25, per_tid[j]);
}

/*
 * Counts the system calls a traced child makes, other than exit_group and
 * clock_gettime (a clocksource without vDSO support falls back to it),
 * from its SIGSTOP to its exit. ptrace works on every kernel under test
 * (the kernels built from source have no seccomp). Returns the count, or
 * -1; *@status gets the child's exit status.
 */
static int count_syscalls(pid_t pid, int *status)
{
	struct user_regs_struct regs;
	int n = 0, entry = 1;

	if (waitpid(pid, status, 0) != pid || !WIFSTOPPED(*status) ||
	    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
		return -1;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0) || waitpid(pid, status, 0) != pid)
			return -1;
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			return n;
		if (!WIFSTOPPED(*status) || WSTOPSIG(*status) != (SIGTRAP | 0x80))
			continue;
		/* Stops come in pairs: entry, then exit. */
		if (entry && !ptrace(PTRACE_GETREGS, pid, 0, &regs) &&
		    regs.orig_rax != __NR_exit_group && regs.orig_rax != __NR_clock_gettime)
			n++;
		entry = !entry;
	}
}

TEST_F(lib, recording_a_span_makes_no_system_call)
{
	int status, i, calls;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		kspan_span_t *s;

		if (kspan_init() || ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(2);
		/* The parent counts from here. */
		raise(SIGSTOP);
		for (i = 0; i < 200; i++) {
			s = kspan_span_start("hot", KSPAN_SPAN_KIND_INTERNAL);
			kspan_span_set_int(s, "i", i);
			kspan_span_end(s);
			if (kspan_try_submit(s))
				syscall(__NR_exit_group, 3);
		}
		/* Closing the file at exit moves them, if the worker did not. */
		syscall(__NR_exit_group, 0);
	}
	calls = count_syscalls(pid, &status);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, calls);
	EXPECT_EQ(200, collect(self, 200, 5000));
}

TEST_F(lib, fork_child_records_through_rings_of_its_own)
{
	kspan_span_t *s;
	int status, i, child = 0, parent = 0;
	pid_t pid;

	s = kspan_span_start("before fork", KSPAN_SPAN_KIND_INTERNAL);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, kspan_submit(s));
	pid = fork();
	if (pid == 0) {
		s = kspan_span_start("in child", KSPAN_SPAN_KIND_INTERNAL);
		if (!s || kspan_submit(s) || kspan_flush())
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	s = kspan_span_start("after fork", KSPAN_SPAN_KIND_INTERNAL);
	ASSERT_EQ(0, kspan_submit(s));
	ASSERT_EQ(0, kspan_flush());
	ASSERT_EQ(3, collect(self, 3, 5000));
	for (i = 0; i < 3; i++) {
		if (!strcmp(self->spans[i].name, "in child")) {
			EXPECT_EQ((uint32_t)pid, self->spans[i].s.id.pid);
			child++;
		} else {
			EXPECT_EQ((uint32_t)getpid(), self->spans[i].s.id.pid);
			parent++;
		}
	}
	EXPECT_EQ(1, child);
	EXPECT_EQ(2, parent);
}

FIXTURE(stalled) {
	int fd;
	struct kspan_consumer c;
};

FIXTURE_SETUP(stalled)
{
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024 flush_interval_ms=20"));
	/* Small per-thread rings: they fill after a few spans. */
	ASSERT_EQ(0, setenv("KSPAN_RING_SIZE", "4096", 1));
	ASSERT_EQ(0, pin_to_cpu(0));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
}

FIXTURE_TEARDOWN(stalled)
{
	kspan_thread_release();
	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
	close(self->fd);
	kspan_consumer_close(&self->c);
	EXPECT_EQ(0, module_unload("kspan"));
}

static kspan_span_t *numbered_span(int seq)
{
	kspan_span_t *s = kspan_span_start("bp", KSPAN_SPAN_KIND_INTERNAL);

	/* First attribute "seq": what span_seq() reads back. */
	kspan_span_set_int(s, "seq", seq);
	kspan_span_set_str(s, "payload", "0123456789abcdef0123456789abcdef");
	kspan_span_end(s);
	return s;
}

/* The consumer comes back once a producer is seen asleep on a full ring. */
struct resumer {
	int fd;
	struct kspan_consumer *c;
	int filled;
	atomic_int resumed;
	int saw_blocked;
};

static void *resume_when_blocked(void *arg)
{
	struct resumer *r = arg;
	struct kspan_stats st;
	int tries;

	for (tries = 0; tries < 500; tries++) {
		if (get_stats(r->fd, KSPAN_STATS_ALL, &st) == 0 && st.blocked) {
			r->saw_blocked = 1;
			break;
		}
		usleep(10000);
	}
	atomic_store(&r->resumed, 1);
	if (drain_fill(r->c, r->filled) != r->filled)
		r->filled = -1;
	return NULL;
}

TEST_F(stalled, backpressure_end_to_end_then_everything_once)
{
	struct resumer r = { .fd = self->fd, .c = &self->c };
	const struct kspan_record_header *h;
	static char seen[4096];
	int n = 0, ret, got = 0, dups = 0, tries;
	kspan_span_t *s;
	unsigned int i;
	pthread_t t;
	int64_t seq;

	/* The consumer stops: every per-CPU ring is full. */
	r.filled = fill_rings(self->fd);
	ASSERT_LT(40, r.filled);
	/* try_submit fills the thread's own ring, then says EAGAIN. */
	for (;;) {
		s = numbered_span(n);
		ASSERT_NE(NULL, s);
		ret = kspan_try_submit(s);
		if (ret)
			break;
		n++;
		ASSERT_GT(4096, n);
	}
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_LT(5, n);
	kspan_span_discard(s);

	/* kspan_submit waits until the consumer frees space, and no less. */
	ASSERT_EQ(0, pthread_create(&t, NULL, resume_when_blocked, &r));
	EXPECT_EQ(0, kspan_submit(numbered_span(n)));
	EXPECT_TRUE(atomic_load(&r.resumed));
	pthread_join(t, NULL);
	EXPECT_TRUE(r.saw_blocked);
	ASSERT_LT(0, r.filled);
	n++;

	/* Everything arrives, each once. */
	for (tries = 0; tries < 500 && got < n; tries++) {
		for (i = 0; i < self->c.info.nr_rings; i++)
			while (self->c.rings[i].cons && (h = kspan_consumer_next(&self->c, i))) {
				if (h->type != KSPAN_RECORD_SPAN)
					continue;
				seq = span_seq(h);
				ASSERT_TRUE(seq >= 0 && seq < n);
				dups += seen[seq]++ != 0;
				got++;
			}
		kspan_consumer_release_all(&self->c);
		usleep(10000);
	}
	EXPECT_EQ(n, got);
	EXPECT_EQ(0, dups);
}

TEST_HARNESS_MAIN
