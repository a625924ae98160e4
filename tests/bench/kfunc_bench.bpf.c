// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: the cost of a span through kspan's kfunc against the same
 * bytes through a BPF ring buffer (bpf_ringbuf_output). One syscall
 * program per way, each emitting cfg.n records in a bpf_loop(), run with
 * BPF_PROG_TEST_RUN by kfunc_bench.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define REC_CAP 256

extern int kspan_bpf_submit(const void *rec, __u32 rec__sz) __ksym;

struct rec_buf {
	__u8 b[REC_CAP];
};

struct cfg {
	__u32 n;	/* records per run */
	__u32 len;	/* bytes of the record */
	__u64 ok;	/* records the run emitted */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_buf);
} rec_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cfg);
} cfg_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");

struct loop_ctx {
	__u32 len;
	__u64 ok;
};

static long kfunc_one(__u32 i, struct loop_ctx *c)
{
	__u32 key = 0;
	struct rec_buf *r = bpf_map_lookup_elem(&rec_map, &key);

	if (!r)
		return 1;
	if (!kspan_bpf_submit(r, sizeof(*r)))
		c->ok++;
	return 0;
}

static long ringbuf_one(__u32 i, struct loop_ctx *c)
{
	__u32 key = 0, len = c->len;
	struct rec_buf *r = bpf_map_lookup_elem(&rec_map, &key);

	if (!r || !len || len > REC_CAP)
		return 1;
	if (!bpf_ringbuf_output(&rb, r, len, 0))
		c->ok++;
	return 0;
}

static int run(void *fn)
{
	__u32 key = 0;
	struct cfg *cfg = bpf_map_lookup_elem(&cfg_map, &key);
	struct loop_ctx c = {};

	if (!cfg)
		return -1;
	c.len = cfg->len;
	bpf_loop(cfg->n, fn, &c, 0);
	cfg->ok = c.ok;
	return 0;
}

SEC("syscall")
int kfunc_loop(void *ctx)
{
	return run(kfunc_one);
}

SEC("syscall")
int ringbuf_loop(void *ctx)
{
	return run(ringbuf_one);
}

char LICENSE[] SEC("license") = "GPL";
