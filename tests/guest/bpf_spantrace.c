// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: spantrace, the BPF tool, against the module and the
 * example program. Its syscall and off-CPU spans are children of the
 * application spans that were current on the thread, with the thread's
 * identity; block I/O (null_blk, completing in the issuing thread) is a
 * child of the span that read; a thread in no span starts traces of its
 * own; the pid filter holds; its counters match what arrived; the module
 * cannot go while it is attached, and can after.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "libkspan.h"
#include "span_util.h"

#define MAX_RECS 8192
#define REC_BYTES 512

struct rec {
	struct kspan_span_view v;
	uint8_t b[REC_BYTES];
	char name[32];
};

FIXTURE(st) {
	struct kspan_consumer c;
	struct rec *recs;
	int n;
	pid_t tracer;
	char out[64], err[64];
	/* The tracer's counters, when it stopped. */
	unsigned long long spans, dropped, refused, children;
};

FIXTURE_SETUP(st)
{
	ASSERT_EQ(0, kspan_reload("ring_size=262144 flush_interval_ms=20"));
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	self->recs = calloc(MAX_RECS, sizeof(*self->recs));
	ASSERT_NE(NULL, self->recs);
	self->n = 0;
	self->tracer = 0;
	snprintf(self->out, sizeof(self->out), "/tmp/spantrace.%d", getpid());
	snprintf(self->err, sizeof(self->err), "/tmp/spantrace.%d.err", getpid());
}

FIXTURE_TEARDOWN(st)
{
	int tries, ret;

	if (self->tracer > 0) {
		kill(self->tracer, SIGKILL);
		waitpid(self->tracer, NULL, 0);
	}
	kspan_thread_release();
	kspan_consumer_close(&self->c);
	free(self->recs);
	unlink(self->out);
	unlink(self->err);
	/* The programs are freed after an RCU grace period, then the module. */
	for (tries = 0; tries < 200 && (ret = module_unload("kspan")) == -EAGAIN; tries++)
		usleep(50000);
	EXPECT_EQ(0, ret);
}

/* What a file holds, NUL-terminated, in @buf. */
static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t r = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[r > 0 ? r : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* Starts spantrace with @args (NULL-terminated, after the program name). */
static int start_tracer(FIXTURE_DATA(st) *self, const char *const *args)
{
	char path[PATH_MAX], said[512];
	const char *argv[16] = { "spantrace" };
	int i, fd, tries;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	if (build_path("bin/spantrace", path, sizeof(path)))
		return -1;
	self->tracer = fork();
	if (!self->tracer) {
		fd = open(self->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		fd = open(self->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	/* Attached once it says so; loading takes seconds under emulation. */
	for (tries = 0; tries < 600; tries++) {
		slurp(self->err, said, sizeof(said));
		if (strstr(said, "spantrace: tracing"))
			return 0;
		if (waitpid(self->tracer, NULL, WNOHANG) == self->tracer) {
			self->tracer = 0;
			break;
		}
		usleep(100000);
	}
	fprintf(stderr, "# spantrace said: %s\n", said);
	return -1;
}

/* SIGINT: it detaches and prints its counters. */
static int stop_tracer(FIXTURE_DATA(st) *self)
{
	char buf[512] = "", *s;
	int status, fd;
	ssize_t r;

	kill(self->tracer, SIGINT);
	if (waitpid(self->tracer, &status, 0) != self->tracer)
		return -1;
	self->tracer = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	fd = open(self->out, O_RDONLY);
	r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	s = strstr(buf, "spantrace:");
	if (!s || sscanf(s, "spantrace: events %*u filtered %*u spans %llu dropped %llu "
			 "refused %llu children %llu", &self->spans, &self->dropped,
			 &self->refused, &self->children) != 4)
		return -1;
	return 0;
}

/* Reads every span until the rings stay empty for 300 ms. */
static void collect(FIXTURE_DATA(st) *self)
{
	const struct kspan_record_header *h;
	uint64_t quiet = mono_ns() + 300000000ULL;
	struct rec *r;
	unsigned int i;

	while (mono_ns() < quiet) {
		for (i = 0; i < self->c.info.nr_rings; i++) {
			while (self->c.rings[i].cons && (h = kspan_consumer_next(&self->c, i))) {
				quiet = mono_ns() + 300000000ULL;
				if (h->type != KSPAN_RECORD_SPAN || self->n == MAX_RECS ||
				    h->len > REC_BYTES)
					continue;
				r = &self->recs[self->n];
				memcpy(r->b, h, h->len);
				if (kspan_span_parse(r->b, h->len, &r->v))
					continue;
				snprintf(r->name, sizeof(r->name), "%.*s", (int)r->v.name_len,
					 r->v.name);
				self->n++;
			}
		}
		kspan_consumer_release_all(&self->c);
		usleep(10000);
	}
}

/* The attribute @key of @r: 0 and *@a, or -1. */
static int attr(const struct rec *r, const char *key, struct kspan_attr_view *a)
{
	size_t pos = 0;

	while (!kspan_span_attr_next(&r->v, &pos, a))
		if (a->key_len == strlen(key) && !memcmp(a->key, key, a->key_len))
			return 0;
	return -1;
}

static int attr_is_str(const struct rec *r, const char *key, const char *val)
{
	struct kspan_attr_view a;

	return !attr(r, key, &a) && a.type == KSPAN_ATTR_STRING &&
	       a.val_len == strlen(val) && !memcmp(a.val, val, a.val_len);
}

static int64_t attr_int(const struct rec *r, const char *key)
{
	struct kspan_attr_view a;

	return attr(r, key, &a) || a.type != KSPAN_ATTR_INT64 ? INT64_MIN : kspan_attr_int(&a);
}

/* Spans of the kernel: spantrace's names. */
static int is_kernel(const struct rec *r)
{
	struct kspan_attr_view a;

	return !attr(r, "syscall.nr", &a) || !attr(r, "thread.state", &a) ||
	       !attr(r, "block.device", &a);
}

static const struct rec *by_span_id(FIXTURE_DATA(st) *self, const uint8_t id[8])
{
	int i;

	for (i = 0; i < self->n; i++)
		if (!memcmp(self->recs[i].v.span->span_id, id, 8))
			return &self->recs[i];
	return NULL;
}

/* Parent of kernel span @k: an application span of its trace and thread. */
static const struct rec *app_parent(FIXTURE_DATA(st) *self, const struct rec *k)
{
	const struct kspan_span *s = k->v.span;
	const struct rec *p = by_span_id(self, s->parent_span_id);

	if (!p || is_kernel(p) || memcmp(p->v.span->trace_id, s->trace_id, 16) ||
	    p->v.span->id.tid != s->id.tid)
		return NULL;
	return p;
}

/* @k's interval lies within @p's (1 ms for the two clocks' offset). */
static int within(const struct rec *k, const struct rec *p)
{
	const uint64_t slack = 1000000;

	return k->v.span->start_time_ns + slack >= p->v.span->start_time_ns &&
	       k->v.span->end_time_ns <= p->v.span->end_time_ns + slack;
}

TEST_F(st, syscall_spans_are_children_of_the_application_spans)
{
	static const char *const args[] = { "--syscalls", "--active-only", "--min-us", "0", NULL };
	int i, kernel = 0, app = 0, sleeps = 0, steps = 0, stepped;
	const struct rec *p;

	ASSERT_EQ(0, start_tracer(self, args));
	/* Attached programs hold the module's kfuncs. */
	EXPECT_EQ(-EAGAIN, module_unload("kspan"));
	ASSERT_EQ(0, run_build_bin("request_sim -t 2 -n 3"));
	ASSERT_EQ(0, stop_tracer(self));
	collect(self);
	for (i = 0; i < self->n; i++) {
		const struct rec *r = &self->recs[i];

		if (!is_kernel(r)) {
			app++;
			continue;
		}
		kernel++;
		/* Active-only: every one has its application parent. */
		p = app_parent(self, r);
		ASSERT_NE(NULL, p) TH_LOG("%s without its application parent", r->name);
		EXPECT_TRUE(within(r, p)) TH_LOG("%s outside %s: starts %lld ns after it, ends %lld ns before its end",
					  r->name, p->name,
					  (long long)(r->v.span->start_time_ns - p->v.span->start_time_ns),
					  (long long)(p->v.span->end_time_ns - r->v.span->end_time_ns));
		EXPECT_EQ(KSPAN_SPAN_SAMPLED, r->v.span->flags);
		if (!strcmp(r->name, "clock_nanosleep") || !strcmp(r->name, "nanosleep")) {
			sleeps++;
			EXPECT_GE(r->v.span->end_time_ns - r->v.span->start_time_ns, 40000u);
		}
	}
	/* 2 threads x 3 requests x 5 spans; 4 sleeps in each request. */
	EXPECT_EQ(30, app);
	EXPECT_LE(24, sleeps);
	/* Each span that sleeps has the sleep among its children. */
	for (i = 0; i < self->n; i++) {
		const struct rec *r = &self->recs[i];
		int j;

		if (strcmp(r->name, "auth.check") && strcmp(r->name, "pool.acquire") &&
		    strcmp(r->name, "render"))
			continue;
		steps++;
		stepped = 0;
		for (j = 0; j < self->n; j++)
			if (is_kernel(&self->recs[j]) &&
			    !memcmp(self->recs[j].v.span->parent_span_id, r->v.span->span_id, 8) &&
			    strstr(self->recs[j].name, "nanosleep"))
				stepped = 1;
		EXPECT_TRUE(stepped) TH_LOG("%s has no sleep child", r->name);
	}
	EXPECT_EQ(18, steps);
	/* Its counters say what arrived. */
	EXPECT_EQ((unsigned long long)kernel, self->spans);
	EXPECT_EQ((unsigned long long)kernel, self->children);
	EXPECT_EQ(0u, self->dropped);
	EXPECT_EQ(0u, self->refused);
	EXPECT_EQ(-1, stats_invariant_broken(self->c.fd, self->c.info.nr_rings));
}

TEST_F(st, off_cpu_spans_say_why_with_the_threads_identity)
{
	static const char *const args[] = { "--off-cpu", "--syscalls", "--active-only",
					     "--min-us", "20", NULL };
	int i, off = 0, slept = 0;
	const struct rec *p;

	ASSERT_EQ(0, start_tracer(self, args));
	ASSERT_EQ(0, run_build_bin("request_sim -t 2 -n 3"));
	ASSERT_EQ(0, stop_tracer(self));
	collect(self);
	for (i = 0; i < self->n; i++) {
		const struct rec *r = &self->recs[i];

		if (strcmp(r->name, "off-cpu"))
			continue;
		off++;
		p = app_parent(self, r);
		/* Submitted from the thread itself: its identity, its parent. */
		ASSERT_NE(NULL, p) TH_LOG("off-cpu span without its application parent");
		EXPECT_TRUE(within(r, p)) TH_LOG("off-cpu outside %s: starts %lld ns after it, ends %lld ns before its end",
					  p->name,
					  (long long)(r->v.span->start_time_ns - p->v.span->start_time_ns),
					  (long long)(p->v.span->end_time_ns - r->v.span->end_time_ns));
		EXPECT_LE(20000u, r->v.span->end_time_ns - r->v.span->start_time_ns);
		/* A nanosleep sleeps interruptibly: never "blocked". */
		if (attr_is_str(r, "syscall.name", "clock_nanosleep")) {
			EXPECT_FALSE(attr_is_str(r, "thread.state", "blocked"));
			slept += attr_is_str(r, "thread.state", "sleeping");
		}
	}
	/*
	 * 4 sleeps per request; under emulation a short one may be over
	 * before the thread switches out, so not every one leaves the CPU.
	 */
	EXPECT_LE(12, slept) TH_LOG("%d off-cpu spans, %d asleep in clock_nanosleep", off, slept);
	EXPECT_EQ(0u, self->dropped);
	EXPECT_EQ(0u, self->refused);
}

/*
 * One read of 8 KiB at sector 8 of null_blk, loaded with @params, its
 * queue using @sched, inside a span; returns the "block read" spans seen
 * (each checked against that span), or -1.
 */
static int block_read_in_a_span(struct __test_metadata *_metadata, FIXTURE_DATA(st) *self,
				const char *params, const char *sched, int same_thread)
{
	char pid[16], cmd[512];
	const char *const args[] = { "--block", "--pid", pid, "--min-us", "0", NULL };
	struct kspan_context ctx;
	kspan_span_t *s;
	void *buf;
	int fd, i, found = 0;

	/*
	 * The host may not have the guest kernel's modules installed: a
	 * stock image's are in the cache scripts/setup unpacked it to, those
	 * of a kernel built from source in its build tree.
	 */
	snprintf(cmd, sizeof(cmd),
		 "modprobe -q null_blk %s || { c=${KSPAN_CACHE:-$HOME/.cache/kspan}; "
		 "d=$(echo $c/kernels/*/root/lib/modules/$(uname -r)/kernel | cut -d' ' -f1); "
		 "[ -d \"$d\" ] || d=$(cat $c/kernels/$KSPAN_KERNEL/build); "
		 "{ insmod $d/fs/configfs/configfs.ko* 2>/dev/null; true; } && "
		 "insmod $d/drivers/block/null_blk/null_blk.ko* %s; }", params, params);
	if (system(cmd))
		return -2;
	if (write_file("/sys/block/nullb0/queue/scheduler", sched))
		goto fail;
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (start_tracer(self, args))
		goto fail;
	s = kspan_span_start("load blocks", KSPAN_SPAN_KIND_INTERNAL);
	if (!s)
		goto fail;
	kspan_span_context(s, &ctx);
	fd = open("/dev/nullb0", O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, 4096, 8192))
		goto fail;
	if (pread(fd, buf, 8192, 4096) != 8192)
		found = -1;
	close(fd);
	free(buf);
	kspan_span_end(s);
	kspan_submit(s);
	kspan_flush();
	if (stop_tracer(self))
		goto fail;
	system("rmmod null_blk");
	collect(self);
	for (i = 0; i < self->n && found >= 0; i++) {
		const struct rec *r = &self->recs[i];

		if (strcmp(r->name, "block read"))
			continue;
		found++;
		EXPECT_EQ(0, memcmp(r->v.span->trace_id, ctx.trace_id, 16));
		EXPECT_EQ(0, memcmp(r->v.span->parent_span_id, ctx.span_id, 8));
		EXPECT_TRUE(attr_is_str(r, "block.device", "nullb0"));
		EXPECT_EQ(8192, attr_int(r, "block.bytes"));
		EXPECT_EQ(8, attr_int(r, "block.sector"));
		EXPECT_LE(r->v.span->start_time_ns, r->v.span->end_time_ns);
		/* Completed in the reading thread: its identity. */
		if (same_thread)
			EXPECT_EQ((uint32_t)getpid(), r->v.span->id.pid);
	}
	return found;
fail:
	system("rmmod null_blk 2>/dev/null");
	return -1;
}

/* Issued directly, completed in the issuing thread. */
TEST_F(st, block_io_is_a_child_of_the_span_that_read)
{
	int found = block_read_in_a_span(_metadata, self, "queue_mode=2 irqmode=0 nr_devices=1", "none", 1);

	if (found == -2)
		SKIP(return, "no null_blk module for this kernel");
	EXPECT_EQ(1, found);
}

/*
 * Through an I/O scheduler (issued maybe by another thread), completed in
 * a softirq: still the reading span's child, whoever ran the queue.
 */
TEST_F(st, block_io_through_a_scheduler_keeps_its_parent)
{
	int found = block_read_in_a_span(_metadata, self, "queue_mode=2 irqmode=1 nr_devices=1",
					 "mq-deadline", 0);

	if (found == -2)
		SKIP(return, "no null_blk module for this kernel");
	EXPECT_EQ(1, found);
}

TEST_F(st, without_an_application_span_kernel_spans_start_their_own_traces)
{
	char pid[16];
	const char *const args[] = { "--syscalls", "--pid", pid, "--min-us", "500", NULL };
	/* Told apart from start_tracer()'s 100 ms polls by their length. */
	struct timespec ts = { .tv_nsec = 3000000 };
	static const uint8_t zero[8];
	const struct rec *a = NULL;
	int i, mine = 0;

	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, start_tracer(self, args));
	for (i = 0; i < 3; i++)
		nanosleep(&ts, NULL);
	/* Another process's syscalls are not traced (--pid). */
	ASSERT_EQ(0, run_build_bin("request_sim -t 1 -n 1"));
	ASSERT_EQ(0, stop_tracer(self));
	collect(self);
	for (i = 0; i < self->n; i++) {
		const struct rec *r = &self->recs[i];

		if (!is_kernel(r))
			continue;
		EXPECT_EQ((uint32_t)getpid(), r->v.span->id.pid);
		EXPECT_EQ(0, memcmp(r->v.span->parent_span_id, zero, 8));
		EXPECT_LE(500000u, r->v.span->end_time_ns - r->v.span->start_time_ns);
		if (!strcmp(r->name, "clock_nanosleep") &&
		    r->v.span->end_time_ns - r->v.span->start_time_ns < 50000000) {
			/* Each a root of a trace of its own. */
			if (a)
				EXPECT_NE(0, memcmp(a->v.span->trace_id, r->v.span->trace_id, 16));
			a = r;
			mine++;
		}
	}
	EXPECT_EQ(3, mine);
	EXPECT_EQ(0u, self->children);
}

TEST_HARNESS_MAIN
