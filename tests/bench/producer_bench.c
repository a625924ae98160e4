// SPDX-License-Identifier: GPL-2.0
/*
 * producer_bench: what recording one span costs an application, side by
 * side in one guest (issue 9). Run by tests/bench/producer-guest, as root,
 * with kspan.ko loaded and, for the LTTng cases, an LTTng session whose
 * channel records kspan_bench:*.
 *
 * Every case records the same span: new trace and span ids, no parent, two
 * CLOCK_REALTIME times, the name "cart" and three attributes (m="GET",
 * s=200, e=false): a 135-byte kspan record, 136 in a ring.
 *
 *   producer_bench single OUT
 *	ns per span, median of ROUNDS interleaved rounds of ROUND_SPANS:
 *	floor     the record built as libkspan builds it, memcpy into a
 *		  private ring in this process
 *	memcpy    a prebuilt record memcpy into that ring
 *	mapped    libkspan: start, three set_*, end, kspan_submit
 *	mapped_try  the same with kspan_try_submit
 *	move      kspan_flush() of what "mapped" wrote, per span: the
 *		  module's copy into its per-CPU ring, which its worker
 *		  otherwise does
 *	ioctl     the record built, KSPAN_IOC_SUBMIT
 *	ioctl_prebuilt  KSPAN_IOC_SUBMIT of a prebuilt record (kspan_bench)
 *	batch     64 records built, one KSPAN_IOC_SUBMIT_BATCH, per span
 *	lttng     the same ids and times, one LTTng-UST tracepoint
 *   producer_bench threads kspan|lttng N OUT
 *	spans/s offered by N threads over THREAD_SECS (kspan: blocking
 *	kspan_submit, a consumer thread draining the rings meanwhile)
 *   producer_bench stall kspan OUT
 *	the consumer stopped: STALL_SPANS offered with kspan_try_submit
 *	(EAGAIN counted), then with kspan_submit while the consumer sleeps
 *	STALL_MS (times the module blocked the producer, and for how long)
 *   producer_bench stall lttng OUT PID...
 *	the consumer daemons PID... stopped (SIGSTOP) while STALL_SPANS
 *	events are offered; lttng reports the discarded ones
 *
 * Times come from CLOCK_MONOTONIC: under QEMU -icount shift=0 they count
 * guest instructions, one per nanosecond.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kspan_client.h"
#include "kspan_consumer.h"
#include "kspan_record.h"
#include "libkspan.h"
#include "lttng_tp.h"

#define ROUNDS		15
/* Fits libkspan's default 64 KiB submission ring: no flush inside a round. */
#define ROUND_SPANS	400
#define BATCH		64
#define THREAD_SECS	1.5
#define STALL_SPANS	100000
#define STALL_MS	500
/*
 * A kspan_submit that took longer than this waited for the consumer: one
 * that only moves a full submission ring (481 spans) takes well under it.
 */
#define BLOCKED_NS	10000000

#define SPAN_NAME	"cart"
#define REC_CAP		256

static FILE *out;

static void die(const char *what)
{
	fprintf(stderr, "producer_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Span times are CLOCK_REALTIME, as libkspan takes them (vDSO). */
static uint64_t realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* ---- the span, built by hand (floor, ioctl, batch) ------------------- */

/*
 * The record libkspan builds for the same span, with the same builder,
 * the same id generator and the same two clock reads: what an application
 * without kspan would do to have the span in memory.
 */
static long build_span(uint8_t *buf, size_t cap)
{
	struct kspan_builder b;
	struct kspan_span *s;

	kspan_build_begin(&b, buf, cap, SPAN_NAME, sizeof(SPAN_NAME) - 1);
	s = kspan_build_span(&b);
	kspan_new_trace_id(s->trace_id);
	kspan_new_span_id(s->span_id);
	s->kind = KSPAN_KIND_SERVER;
	s->flags = KSPAN_SPAN_SAMPLED;
	s->start_time_ns = realtime_ns();
	kspan_build_str(&b, "m", "GET");
	kspan_build_int(&b, "s", 200);
	kspan_build_bool(&b, "e", false);
	s->end_time_ns = realtime_ns();
	return kspan_build_end(&b);
}

/* A ring private to this process: the floor writes into it. */
static struct {
	uint8_t data[1 << 20];
	uint64_t pos;
} priv;

static void priv_put(const void *rec, size_t len)
{
	size_t total = kspan_record_total(len);
	uint64_t off = priv.pos & (sizeof(priv.data) - 1);

	if (off + total > sizeof(priv.data)) {
		priv.pos += sizeof(priv.data) - off;
		off = 0;
	}
	memcpy(priv.data + off, rec, len);
	priv.pos += total;
}

/* ---- the span through libkspan and through LTTng --------------------- */

static kspan_span_t *mapped_span(void)
{
	kspan_span_t *s = kspan_span_start(SPAN_NAME, KSPAN_SPAN_KIND_SERVER);

	kspan_span_set_str(s, "m", "GET");
	kspan_span_set_int(s, "s", 200);
	kspan_span_set_bool(s, "e", 0);
	kspan_span_end(s);
	return s;
}

static void lttng_span(void)
{
	static const uint8_t no_parent[8];
	uint8_t trace_id[16], span_id[8];
	uint64_t start, end;

	kspan_new_trace_id(trace_id);
	kspan_new_span_id(span_id);
	start = realtime_ns();
	end = realtime_ns();
	lttng_ust_tracepoint(kspan_bench, span, trace_id, span_id, no_parent,
			     start, end, SPAN_NAME, "GET", 200, 0);
}

/*
 * lttng-ust registers with the session daemon from a constructor, which
 * may give up waiting before the session's rules arrive: wait for them.
 */
static void lttng_wait_enabled(void)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (lttng_ust_tracepoint_enabled(kspan_bench, span))
			return;
		usleep(10000);
	}
	errno = ENOENT;
	die("kspan_bench:span never enabled (no LTTng session?)");
}

/* ---- the module's rings ---------------------------------------------- */

static unsigned long drain_all(struct kspan_consumer *c)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++)
		while (kspan_consumer_next(c, i))
			n++;
	if (n)
		kspan_consumer_release_all(c);
	return n;
}

static void stats_all(int fd, struct kspan_stats *st)
{
	struct kspan_stats_query q = { .ring = KSPAN_STATS_ALL };

	if (ioctl(fd, KSPAN_IOC_STATS, &q))
		die("KSPAN_IOC_STATS");
	*st = q.stats;
}

/* A consumer thread: drains, sleeps in poll when idle, or stalls. */
struct drainer {
	struct kspan_consumer *c;
	pthread_t thr;
	atomic_int stop;
	unsigned int stall_ms;	/* sleeps this long before draining */
	atomic_ulong drained;
};

static void *drainer_fn(void *arg)
{
	struct drainer *d = arg;
	struct pollfd pfd = { .fd = d->c->fd, .events = POLLIN };
	unsigned long n;

	usleep(d->stall_ms * 1000);
	while (!atomic_load(&d->stop)) {
		n = drain_all(d->c);
		atomic_fetch_add(&d->drained, n);
		/* Idle: sleep rather than spin, which would steal a vCPU. */
		if (!n)
			poll(&pfd, 1, 5);
	}
	atomic_fetch_add(&d->drained, drain_all(d->c));
	return NULL;
}

static void drainer_start(struct drainer *d, struct kspan_consumer *c, unsigned int stall_ms)
{
	memset(d, 0, sizeof(*d));
	d->c = c;
	d->stall_ms = stall_ms;
	if (pthread_create(&d->thr, NULL, drainer_fn, d))
		die("pthread_create");
}

static void drainer_stop(struct drainer *d)
{
	atomic_store(&d->stop, 1);
	pthread_join(d->thr, NULL);
}

/* ---- single: one producer, every way, interleaved --------------------- */

struct single {
	struct kspan_consumer c;
	int fd;				/* a blocking producer file */
	uint8_t prebuilt[REC_CAP];
	uint8_t batch[BATCH * REC_CAP];
	unsigned long eagain;
};

static double per_span(uint64_t t0, unsigned int n)
{
	return (double)(now_ns() - t0) / n;
}

static double case_floor(struct single *b)
{
	uint8_t rec[REC_CAP];
	uint64_t t = now_ns();
	unsigned int i;
	long len;

	(void)b;
	for (i = 0; i < ROUND_SPANS; i++) {
		len = build_span(rec, sizeof(rec));
		priv_put(rec, (size_t)len);
	}
	return per_span(t, ROUND_SPANS);
}

/* Breakdown: one CLOCK_REALTIME read (a span takes two). */
static double case_clock(struct single *b)
{
	uint64_t t = now_ns(), sum = 0;
	unsigned int i;

	(void)b;
	for (i = 0; i < ROUND_SPANS; i++)
		sum += realtime_ns();
	__asm__ volatile("" : : "r"(sum));
	return per_span(t, ROUND_SPANS);
}

/*
 * Breakdown: libkspan looks up KSPAN_DEVICE in the environment on every
 * kspan_span_start() and kspan_submit(), so its cost per span grows with
 * the size of the environment: this is one such lookup, here.
 */
static double case_getenv(struct single *b)
{
	uint64_t t = now_ns();
	uintptr_t sum = 0;
	unsigned int i;

	(void)b;
	for (i = 0; i < ROUND_SPANS; i++)
		sum += (uintptr_t)getenv("KSPAN_DEVICE");
	__asm__ volatile("" : : "r"(sum));
	return per_span(t, ROUND_SPANS);
}

/* Breakdown: libkspan's span without the ring: start, set, end, discard. */
static double case_unsubmitted(struct single *b)
{
	uint64_t t = now_ns();
	unsigned int i;

	(void)b;
	for (i = 0; i < ROUND_SPANS; i++)
		kspan_span_discard(mapped_span());
	return per_span(t, ROUND_SPANS);
}

static double case_memcpy(struct single *b)
{
	const struct kspan_record_header *hdr = (const void *)b->prebuilt;
	uint64_t t = now_ns();
	unsigned int i;

	for (i = 0; i < ROUND_SPANS; i++)
		priv_put(b->prebuilt, hdr->len);
	return per_span(t, ROUND_SPANS);
}

static double case_mapped(struct single *b)
{
	uint64_t t = now_ns();
	unsigned int i;

	for (i = 0; i < ROUND_SPANS; i++)
		if (kspan_submit(mapped_span()))
			die("kspan_submit");
	(void)b;
	return per_span(t, ROUND_SPANS);
}

static double case_mapped_try(struct single *b)
{
	uint64_t t = now_ns();
	kspan_span_t *s;
	unsigned int i;

	for (i = 0; i < ROUND_SPANS; i++) {
		s = mapped_span();
		if (kspan_try_submit(s)) {
			b->eagain++;
			kspan_span_discard(s);
		}
	}
	return per_span(t, ROUND_SPANS);
}

/* What the module's copy of a round's records costs, per span. */
static double case_move(struct single *b)
{
	uint64_t t = now_ns();

	(void)b;
	if (kspan_flush())
		die("kspan_flush");
	return per_span(t, ROUND_SPANS);
}

static double case_ioctl(struct single *b)
{
	uint8_t rec[REC_CAP];
	uint64_t t = now_ns();
	unsigned int i;

	for (i = 0; i < ROUND_SPANS; i++) {
		build_span(rec, sizeof(rec));
		if (ioctl(b->fd, KSPAN_IOC_SUBMIT, rec))
			die("KSPAN_IOC_SUBMIT");
	}
	return per_span(t, ROUND_SPANS);
}

static double case_ioctl_prebuilt(struct single *b)
{
	uint64_t t = now_ns();
	unsigned int i;

	for (i = 0; i < ROUND_SPANS; i++)
		if (ioctl(b->fd, KSPAN_IOC_SUBMIT, b->prebuilt))
			die("KSPAN_IOC_SUBMIT");
	return per_span(t, ROUND_SPANS);
}

/* An application batching: builds BATCH records back to back, one call. */
static double case_batch(struct single *b)
{
	struct kspan_submit_batch req;
	uint64_t t = now_ns();
	unsigned int i, j;
	size_t len;

	for (i = 0; i < ROUND_SPANS / BATCH * BATCH; i += BATCH) {
		len = 0;
		for (j = 0; j < BATCH; j++)
			len += kspan_record_total((size_t)build_span(b->batch + len, REC_CAP));
		memset(&req, 0, sizeof(req));
		req.records = (uintptr_t)b->batch;
		req.len = (uint32_t)len;
		req.count = BATCH;
		if (ioctl(b->fd, KSPAN_IOC_SUBMIT_BATCH, &req) != BATCH)
			die("KSPAN_IOC_SUBMIT_BATCH");
	}
	return per_span(t, ROUND_SPANS / BATCH * BATCH);
}

static double case_lttng(struct single *b)
{
	uint64_t t = now_ns();
	unsigned int i;

	(void)b;
	for (i = 0; i < ROUND_SPANS; i++)
		lttng_span();
	return per_span(t, ROUND_SPANS);
}

static const struct bench_case {
	const char *name;
	double (*run)(struct single *b);
} cases[] = {
	{ "floor", case_floor },
	{ "memcpy", case_memcpy },
	{ "clock", case_clock },
	{ "getenv", case_getenv },
	{ "unsubmitted", case_unsubmitted },
	{ "mapped", case_mapped },
	{ "move", case_move },
	{ "mapped_try", case_mapped_try },
	{ "move_try", case_move },
	{ "ioctl", case_ioctl },
	{ "ioctl_prebuilt", case_ioctl_prebuilt },
	{ "batch", case_batch },
	{ "lttng", case_lttng },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int environ_count(void)
{
	extern char **environ;
	int n = 0;

	while (environ[n])
		n++;
	return n;
}

static void run_single(void)
{
	static struct single b;
	double v[NCASES][ROUNDS];
	struct kspan_stats st0, st1;
	unsigned int r, i;
	long len;

	pin_to_cpu0();
	b.fd = kspan_open(O_RDWR);
	if (b.fd < 0 || kspan_consumer_open(&b.c))
		die("open /dev/kspan");
	if (kspan_init())
		die("kspan_init");
	lttng_wait_enabled();
	len = build_span(b.prebuilt, sizeof(b.prebuilt));
	if (len < 0)
		die("build_span");
	fprintf(out, "record_bytes %ld\nenviron_vars %d\n", len, environ_count());
	stats_all(b.fd, &st0);
	/* One unmeasured round first: page faults, lazy binding, caches. */
	for (i = 0; i < NCASES; i++) {
		cases[i].run(&b);
		drain_all(&b.c);
	}
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < NCASES; i++) {
			v[i][r] = cases[i].run(&b);
			/* Rings empty again: no case pays for another's records. */
			drain_all(&b.c);
		}
	for (i = 0; i < NCASES; i++)
		fprintf(out, "%s_ns %.1f\n", cases[i].name, median(v[i], ROUNDS));
	stats_all(b.fd, &st1);
	fprintf(out, "mapped_try_eagain %lu\nmodule_blocked %llu\n", b.eagain,
		(unsigned long long)(st1.blocked - st0.blocked));
	kspan_consumer_close(&b.c);
	close(b.fd);
}

/* ---- threads: throughput with 1, 2, 4 producers ------------------------ */

struct tput {
	atomic_int stop;
	atomic_ulong sent;
	bool lttng;
};

static void *tput_fn(void *arg)
{
	struct tput *tp = arg;
	unsigned long n = 0;

	while (!atomic_load_explicit(&tp->stop, memory_order_relaxed)) {
		if (tp->lttng)
			lttng_span();
		else if (kspan_submit(mapped_span()))
			die("kspan_submit");
		n++;
	}
	atomic_fetch_add(&tp->sent, n);
	return NULL;
}

static void run_threads(bool lttng, int nthreads)
{
	struct kspan_consumer c;
	struct drainer d;
	struct tput tp = { .lttng = lttng };
	pthread_t thr[8];
	int i;

	if (nthreads < 1 || nthreads > 8)
		die("thread count");
	if (lttng) {
		lttng_wait_enabled();
	} else {
		if (kspan_consumer_open(&c))
			die("kspan_consumer_open");
		drainer_start(&d, &c, 0);
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&thr[i], NULL, tput_fn, &tp))
			die("pthread_create");
	usleep((useconds_t)(THREAD_SECS * 1e6));
	atomic_store(&tp.stop, 1);
	/* Exiting threads give back their rings: the module moves the rest. */
	for (i = 0; i < nthreads; i++)
		pthread_join(thr[i], NULL);
	if (!lttng) {
		drainer_stop(&d);
		kspan_consumer_close(&c);
	}
	fprintf(out, "%s_threads_%d_offered %lu\n%s_threads_%d_per_s %.0f\n",
		lttng ? "lttng" : "kspan", nthreads, atomic_load(&tp.sent),
		lttng ? "lttng" : "kspan", nthreads, atomic_load(&tp.sent) / THREAD_SECS);
}

/* ---- stall: what each loses while its consumer does not consume ------- */

static void stall_kspan_try(int fd)
{
	struct kspan_consumer c;
	struct kspan_stats st0, st1;
	unsigned long eagain = 0;
	kspan_span_t *s;
	uint64_t t;
	int i;

	if (kspan_consumer_open(&c))
		die("kspan_consumer_open");
	stats_all(fd, &st0);
	t = now_ns();
	for (i = 0; i < STALL_SPANS; i++) {
		s = mapped_span();
		if (kspan_try_submit(s)) {
			eagain++;
			kspan_span_discard(s);
		}
	}
	t = now_ns() - t;
	/*
	 * The consumer is back: everything accepted must come through. Drain
	 * first: this thread is the consumer, and the flush waits for room.
	 */
	drain_all(&c);
	if (kspan_flush())
		die("kspan_flush");
	drain_all(&c);
	stats_all(fd, &st1);
	fprintf(out, "stall_try_offered %d\nstall_try_eagain %lu\nstall_try_committed %llu\n"
		"stall_try_ns_per_offer %.1f\n", STALL_SPANS, eagain,
		(unsigned long long)(st1.committed - st0.committed), (double)t / STALL_SPANS);
	kspan_consumer_close(&c);
}

static void stall_kspan_block(int fd)
{
	struct kspan_consumer c;
	struct kspan_stats st0, st1;
	uint64_t t, dt, waited = 0, longest = 0, t0;
	unsigned long slow = 0;
	struct drainer d;
	int i;

	if (kspan_consumer_open(&c))
		die("kspan_consumer_open");
	stats_all(fd, &st0);
	drainer_start(&d, &c, STALL_MS);
	t0 = now_ns();
	for (i = 0; i < STALL_SPANS; i++) {
		kspan_span_t *s = mapped_span();

		t = now_ns();
		if (kspan_submit(s))
			die("kspan_submit");
		dt = now_ns() - t;
		if (dt > BLOCKED_NS) {
			slow++;
			waited += dt;
		}
		if (dt > longest)
			longest = dt;
	}
	t0 = now_ns() - t0;
	if (kspan_flush())
		die("kspan_flush");
	drainer_stop(&d);
	stats_all(fd, &st1);
	fprintf(out, "stall_block_offered %d\nstall_block_committed %llu\n"
		"stall_block_module_blocked %llu\nstall_block_slow_submits %lu\n"
		"stall_block_waited_ms %.1f\nstall_block_longest_ms %.1f\nstall_block_total_ms %.1f\n",
		STALL_SPANS, (unsigned long long)(st1.committed - st0.committed),
		(unsigned long long)(st1.blocked - st0.blocked), slow, waited / 1e6,
		longest / 1e6, t0 / 1e6);
	kspan_consumer_close(&c);
}

static void run_stall_kspan(void)
{
	int fd = kspan_open(O_RDWR);

	if (fd < 0)
		die("open /dev/kspan");
	pin_to_cpu0();
	if (kspan_init())
		die("kspan_init");
	stall_kspan_try(fd);
	stall_kspan_block(fd);
	close(fd);
}

static void signal_all(char **pids, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (kill((pid_t)atoi(pids[i]), sig))
			die("kill");
}

static void run_stall_lttng(char **pids, int npids)
{
	uint64_t t;
	int i;

	pin_to_cpu0();
	lttng_wait_enabled();
	signal_all(pids, npids, SIGSTOP);
	t = now_ns();
	for (i = 0; i < STALL_SPANS; i++)
		lttng_span();
	t = now_ns() - t;
	signal_all(pids, npids, SIGCONT);
	fprintf(out, "lttng_stall_offered %d\nlttng_stall_ns_per_offer %.1f\n",
		STALL_SPANS, (double)t / STALL_SPANS);
}

static void usage(void)
{
	fprintf(stderr, "usage: producer_bench single OUT | threads kspan|lttng N OUT |\n"
			"       stall kspan OUT | stall lttng OUT PID...\n");
	exit(2);
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f)
		die(path);
	return f;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	/* Spans and reasons, never a libkspan complaint on stderr mid-table. */
	setenv("KSPAN_QUIET", "1", 1);
	if (!strcmp(argv[1], "single")) {
		out = open_out(argv[2]);
		run_single();
	} else if (!strcmp(argv[1], "threads") && argc == 5) {
		out = open_out(argv[4]);
		run_threads(!strcmp(argv[2], "lttng"), atoi(argv[3]));
	} else if (!strcmp(argv[1], "stall") && argc >= 4 && !strcmp(argv[2], "kspan")) {
		out = open_out(argv[3]);
		run_stall_kspan();
	} else if (!strcmp(argv[1], "stall") && argc >= 5 && !strcmp(argv[2], "lttng")) {
		out = open_out(argv[3]);
		run_stall_lttng(argv + 4, argc - 4);
	} else {
		usage();
	}
	fclose(out);
	return 0;
}
