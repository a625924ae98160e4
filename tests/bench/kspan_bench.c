// SPDX-License-Identifier: GPL-2.0
/*
 * kspan_bench: measures, side by side in one run, what the targets
 * are stated as ratios of. Runs as root in a guest (scripts/bench) with
 * kspan.ko loaded. Every measurement is the median of several rounds.
 *
 *   submit     ioctl submit of a 128-byte span vs a no-op ioctl (ENOTTY)
 *   batch      64 spans in one KSPAN_IOC_SUBMIT_BATCH vs 64 single submits
 *   drain      consumer records/s vs memcpy of the same bytes
 *   threads    spans/s with 1, 2 and 4 producer threads and a consumer
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kspan_client.h"
#include "kspan_consumer.h"
#include "kspan_record.h"

#define ROUNDS 7

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

/* A valid span of exactly @len bytes (len >= 121). */
static long make_span(uint8_t *buf, size_t cap, uint64_t seq, size_t len)
{
	struct kspan_builder b;
	struct kspan_span *s;
	char pad[1024];
	size_t cur;

	kspan_build_begin(&b, buf, cap, "bench", 5);
	s = kspan_build_span(&b);
	memcpy(s->trace_id, &seq, sizeof(seq));
	s->trace_id[15] = 1;
	s->span_id[0] = 1;
	s->end_time_ns = 1;
	cur = b.len + 4 + 1;	/* attribute header and key "p" */
	if (len > cur && len - cur < sizeof(pad)) {
		memset(pad, 'x', len - cur);
		pad[len - cur] = '\0';
		kspan_build_str(&b, "p", pad);
	}
	return kspan_build_end(&b);
}

static void die(const char *what)
{
	fprintf(stderr, "kspan_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void drain_all(struct kspan_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++)
		while (kspan_consumer_next(c, i))
			;
	kspan_consumer_release_all(c);
}

/* ns per call of a no-op ioctl and of a 128-byte submit, interleaved. */
static void bench_submit(int fd, struct kspan_consumer *c, FILE *out)
{
	const int n = 2000;
	double noop[ROUNDS], sub[ROUNDS], ver[ROUNDS], bad[ROUNDS], t;
	struct kspan_version v;
	uint8_t rec[256], inval[256];
	int r, i;

	if (make_span(rec, sizeof(rec), 1, 128) != 128)
		die("make_span");
	/* Copied and checked, then refused at the very last check. */
	memcpy(inval, rec, sizeof(inval));
	((struct kspan_span *)(inval + 8))->end_time_ns = 0;
	((struct kspan_span *)(inval + 8))->start_time_ns = 5;
	for (r = 0; r < ROUNDS; r++) {
		t = now();
		for (i = 0; i < n; i++)
			ioctl(fd, KSPAN_IOC_VERSION, &v);
		ver[r] = (now() - t) / n * 1e9;

		t = now();
		for (i = 0; i < n; i++)
			ioctl(fd, KSPAN_IOC_SUBMIT, inval);
		bad[r] = (now() - t) / n * 1e9;

		t = now();
		for (i = 0; i < n; i++)
			ioctl(fd, _IO(KSPAN_IOC_MAGIC, 0x7f));
		noop[r] = (now() - t) / n * 1e9;

		t = now();
		for (i = 0; i < n; i++)
			if (ioctl(fd, KSPAN_IOC_SUBMIT, rec))
				die("submit");
		sub[r] = (now() - t) / n * 1e9;
		drain_all(c);
	}
	fprintf(out, "submit_128B_ns %.0f\nnoop_ioctl_ns %.0f\nsubmit_vs_noop %.2f\n",
		median(sub, ROUNDS), median(noop, ROUNDS),
		median(sub, ROUNDS) / median(noop, ROUNDS));
	fprintf(out, "version_ioctl_ns %.0f\nrefused_submit_ns %.0f\n",
		median(ver, ROUNDS), median(bad, ROUNDS));
}

/* ns per span: 64 per batch ioctl vs 64 single ioctls. */
static void bench_batch(int fd, struct kspan_consumer *c, FILE *out)
{
	const int batches = 50;
	static uint8_t buf[64 * 136];
	double single[ROUNDS], batch[ROUNDS], t;
	struct kspan_submit_batch b;
	int r, i, j;

	for (i = 0; i < 64; i++)
		make_span(buf + i * 128, 128, i, 128);
	for (r = 0; r < ROUNDS; r++) {
		t = now();
		for (j = 0; j < batches; j++)
			for (i = 0; i < 64; i++)
				if (ioctl(fd, KSPAN_IOC_SUBMIT, buf + i * 128))
					die("submit");
		single[r] = (now() - t) / (batches * 64) * 1e9;
		drain_all(c);

		t = now();
		for (j = 0; j < batches; j++) {
			memset(&b, 0, sizeof(b));
			b.records = (uintptr_t)buf;
			b.len = 64 * 128;
			b.count = 64;
			if (ioctl(fd, KSPAN_IOC_SUBMIT_BATCH, &b) != 64)
				die("batch");
		}
		batch[r] = (now() - t) / (batches * 64) * 1e9;
		drain_all(c);
	}
	fprintf(out, "single_ns_per_span %.0f\nbatch64_ns_per_span %.0f\nbatch_speedup %.2f\n",
		median(single, ROUNDS), median(batch, ROUNDS),
		median(single, ROUNDS) / median(batch, ROUNDS));
}

/* Records/s draining a full ring vs memcpy of the same bytes. */
static void bench_drain(int fd, struct kspan_consumer *c, FILE *out)
{
	double drain[ROUNDS], copy[ROUNDS], t;
	uint64_t bytes, start;
	uint8_t rec[256];
	uint8_t *src, *dst;
	long n, i;
	int r;

	make_span(rec, sizeof(rec), 1, 128);
	src = malloc(c->info.data_size);
	dst = malloc(c->info.data_size);
	if (!src || !dst)
		die("malloc");
	memset(src, 1, c->info.data_size);
	for (r = 0; r < ROUNDS; r++) {
		for (n = 0; ioctl(fd, KSPAN_IOC_SUBMIT, rec) == 0; n++)
			;
		start = c->rings[0].read_pos;
		t = now();
		for (i = 0; kspan_consumer_next(c, 0); i++)
			;
		kspan_consumer_release_all(c);
		drain[r] = i / (now() - t);
		bytes = c->rings[0].read_pos - start;

		t = now();
		memcpy(dst, src, bytes);
		__asm__ volatile("" : : "r"(dst) : "memory");
		copy[r] = (bytes / 128.0) / (now() - t);
	}
	fprintf(out, "drain_records_per_s %.0f\nmemcpy_records_per_s %.0f\ndrain_vs_memcpy %.2f\n",
		median(drain, ROUNDS), median(copy, ROUNDS),
		median(drain, ROUNDS) / median(copy, ROUNDS));
	free(src);
	free(dst);
}

struct tput {
	atomic_int stop;
	atomic_ulong sent;
};

static void *tput_producer(void *arg)
{
	struct tput *tp = arg;
	uint8_t rec[256];
	int fd = kspan_open(O_RDWR);

	make_span(rec, sizeof(rec), 1, 128);
	while (!atomic_load(&tp->stop))
		if (ioctl(fd, KSPAN_IOC_SUBMIT, rec) == 0)
			atomic_fetch_add(&tp->sent, 1);
	close(fd);
	return NULL;
}

/* Spans/s through the module with @nthreads producers and a consumer. */
static double throughput(struct kspan_consumer *c, int nthreads)
{
	struct tput tp = { 0 };
	pthread_t thr[4];
	double t, secs = 1.5;
	int i;

	for (i = 0; i < nthreads; i++)
		if (pthread_create(&thr[i], NULL, tput_producer, &tp))
			die("pthread_create");
	t = now();
	while (now() - t < secs)
		drain_all(c);
	atomic_store(&tp.stop, 1);
	for (i = 0; i < nthreads; i++) {
		while (pthread_tryjoin_np(thr[i], NULL))
			drain_all(c);
	}
	drain_all(c);
	return atomic_load(&tp.sent) / secs;
}

int main(int argc, char **argv)
{
	struct kspan_consumer c;
	FILE *out = stdout;
	int fd, n;

	cpu_set_t cpu0;

	if (argc > 1 && !(out = fopen(argv[1], "w")))
		die(argv[1]);
	/* The single-producer measurements use ring 0. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		die("sched_setaffinity");
	fd = kspan_open(O_RDWR | O_NONBLOCK);
	if (fd < 0 || kspan_consumer_open(&c))
		die("open /dev/kspan");

	bench_submit(fd, &c, out);
	bench_batch(fd, &c, out);
	bench_drain(fd, &c, out);
	for (n = 1; n <= 4; n *= 2)
		fprintf(out, "threads_%d_spans_per_s %.0f\n", n, throughput(&c, n));
	kspan_consumer_close(&c);
	close(fd);
	if (out != stdout)
		fclose(out);
	return 0;
}
