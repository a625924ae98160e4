// SPDX-License-Identifier: GPL-2.0
/*
 * BPF side of the guest suite bpf_kfunc: a syscall program that hands the
 * record in its map to kspan_bpf_submit(), run through BPF_PROG_TEST_RUN.
 */
#include <linux/bpf.h>
#include <linux/kspan.h>
#include <bpf/bpf_helpers.h>

#define REC_SIZE 1024

extern int kspan_bpf_submit(const void *rec, __u32 rec__sz) __ksym;
extern int kspan_bpf_current_span(void *out, __u32 out__sz, __u64 flags) __ksym;

struct rec_buf {
	__u8 bytes[REC_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_buf);
} rec_map SEC(".maps");

/* Returns what the kfunc returned: BPF_PROG_TEST_RUN's retval. */
SEC("syscall")
int submit(void *ctx)
{
	__u32 key = 0;
	struct rec_buf *r = bpf_map_lookup_elem(&rec_map, &key);

	if (!r)
		return -1;
	return kspan_bpf_submit(r->bytes, sizeof(r->bytes));
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_buf);
} empty_map SEC(".maps");

/*
 * A lookup that finds nothing, not checked: the verifier lets a possibly
 * NULL pointer through to a kfunc's memory argument, the kfunc refuses it.
 */
SEC("syscall")
int submit_unchecked(void *ctx)
{
	__u32 key = 1;

	return kspan_bpf_submit(bpf_map_lookup_elem(&empty_map, &key),
				sizeof(struct rec_buf));
}

/* A context, and room past it that a larger struct would take. */
struct ctx_buf {
	struct kspan_span_context c;
	__u8 more[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ctx_buf);
} ctx_map SEC(".maps");

/* What the next run of current_span passes as flags. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flags_map SEC(".maps");

/* The span the calling thread is in, into ctx_map; returns the kfunc's. */
SEC("syscall")
int current_span(void *ctx)
{
	__u32 key = 0;
	struct ctx_buf *c = bpf_map_lookup_elem(&ctx_map, &key);
	__u64 *flags = bpf_map_lookup_elem(&flags_map, &key);

	if (!c || !flags)
		return -1;
	return kspan_bpf_current_span(c, sizeof(*c), *flags);
}

/* Too little room for a context. */
SEC("syscall")
int current_span_short(void *ctx)
{
	__u32 key = 0;
	struct ctx_buf *c = bpf_map_lookup_elem(&ctx_map, &key);

	if (!c)
		return -1;
	return kspan_bpf_current_span(c, sizeof(c->c) - 8, 0);
}

char LICENSE[] SEC("license") = "GPL";
