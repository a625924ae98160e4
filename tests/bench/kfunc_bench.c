// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_bench: the cost of emitting a span from a BPF program through
 * kspan's kfunc (kspan_bpf_submit) against the same bytes through a BPF
 * ring buffer (bpf_ringbuf_output), side by side in one guest run, with
 * kspan.ko loaded (scripts/bench). Each run emits N records in a
 * bpf_loop() on CPU 0 and is timed around BPF_PROG_TEST_RUN; both rings
 * are drained between runs, outside the timing. The two ways alternate;
 * the medians of the rounds are reported, and their ratio.
 *
 *   kfunc_bench OUT BPF_OBJ
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kspan_consumer.h"
#include "kspan_record.h"

#define ROUNDS 15
#define PER_RUN 4096
#define REC_LEN 200
#define REC_CAP 256

struct cfg {
	__u32 n;
	__u32 len;
	__u64 ok;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "kfunc_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* A valid span of exactly REC_LEN bytes, as spantrace builds them. */
static void make_record(uint8_t *buf)
{
	char pad[REC_LEN];
	struct kspan_builder b;
	struct kspan_span *s;
	size_t cur;

	kspan_build_begin(&b, buf, REC_CAP, "clock_nanosleep", 15);
	s = kspan_build_span(&b);
	memset(s->trace_id, 0x5a, sizeof(s->trace_id));
	memset(s->span_id, 0xa5, sizeof(s->span_id));
	s->start_time_ns = 1;
	s->end_time_ns = 2;
	kspan_build_int(&b, "syscall.nr", 230);
	cur = b.len + 4 + 1;
	memset(pad, 'x', REC_LEN - cur);
	pad[REC_LEN - cur] = '\0';
	kspan_build_str(&b, "p", pad);
	if (kspan_build_end(&b) != REC_LEN)
		die("record", EINVAL);
}

static int drop_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static void drain_kspan(struct kspan_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++)
		while (c->rings[i].cons && kspan_consumer_next(c, i))
			;
	kspan_consumer_release_all(c);
}

/* One run of @prog: ns per record emitted. */
static double run(int prog, int cfg_fd)
{
	struct cfg cfg = { .n = PER_RUN, .len = REC_LEN };
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	__u32 key = 0;
	double t0, t1;
	int err;

	if (bpf_map_update_elem(cfg_fd, &key, &cfg, BPF_ANY))
		die("cfg", errno);
	t0 = now_ns();
	err = bpf_prog_test_run_opts(prog, &opts);
	t1 = now_ns();
	if (err || opts.retval || bpf_map_lookup_elem(cfg_fd, &key, &cfg))
		die("test run", err ? -err : EINVAL);
	if (cfg.ok != PER_RUN) {
		fprintf(stderr, "kfunc_bench: %llu of %u records emitted\n",
			(unsigned long long)cfg.ok, PER_RUN);
		exit(1);
	}
	return (t1 - t0) / PER_RUN;
}

int main(int argc, char **argv)
{
	double kf[ROUNDS], rbv[ROUNDS];
	uint8_t rec[REC_CAP] = { 0 };
	struct kspan_consumer c;
	struct ring_buffer *rb;
	struct bpf_object *obj;
	int kprog, rprog, cfg_fd, i, err;
	__u32 key = 0;
	cpu_set_t cpus;
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: kfunc_bench OUT BPF_OBJ\n");
		return 2;
	}
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		die("affinity", errno);
	if (kspan_consumer_open(&c))
		die("consumer", errno);
	obj = bpf_object__open_file(argv[2], NULL);
	if (!obj)
		die("open", errno);
	err = bpf_object__load(obj);
	if (err)
		die("load", -err);
	kprog = bpf_program__fd(bpf_object__find_program_by_name(obj, "kfunc_loop"));
	rprog = bpf_program__fd(bpf_object__find_program_by_name(obj, "ringbuf_loop"));
	cfg_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "cfg_map"));
	make_record(rec);
	if (bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "rec_map")),
				&key, rec, BPF_ANY))
		die("rec_map", errno);
	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")),
			      drop_record, NULL, NULL);
	if (!rb)
		die("ring buffer", errno);

	/* A warm-up round each, then the two ways alternate. */
	run(kprog, cfg_fd);
	drain_kspan(&c);
	run(rprog, cfg_fd);
	ring_buffer__consume(rb);
	for (i = 0; i < ROUNDS; i++) {
		kf[i] = run(kprog, cfg_fd);
		drain_kspan(&c);
		rbv[i] = run(rprog, cfg_fd);
		ring_buffer__consume(rb);
	}
	qsort(kf, ROUNDS, sizeof(double), cmp_double);
	qsort(rbv, ROUNDS, sizeof(double), cmp_double);

	out = fopen(argv[1], "w");
	if (!out)
		die(argv[1], errno);
	fprintf(out, "bpf   kfunc      %7.0f ns/span  (kspan_bpf_submit, %d-byte span, median of %d x %d)\n",
		kf[ROUNDS / 2], REC_LEN, ROUNDS, PER_RUN);
	fprintf(out, "bpf   ringbuf    %7.0f ns/span  (bpf_ringbuf_output of the same bytes)\n",
		rbv[ROUNDS / 2]);
	fprintf(out, "bpf   ratio      %7.2fx kfunc/ringbuf\n", kf[ROUNDS / 2] / rbv[ROUNDS / 2]);
	fclose(out);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	kspan_consumer_close(&c);
	return 0;
}
