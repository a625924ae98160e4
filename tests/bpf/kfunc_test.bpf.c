// SPDX-License-Identifier: GPL-2.0
/*
 * BPF side of the guest suite bpf_kfunc: syscall programs that hand the
 * record in their map to kspan_bpf_submit(), or ask for the current span,
 * run through BPF_PROG_TEST_RUN; and a program in a hard interrupt (the
 * tick's hrtimer) that does both for the thread it interrupted.
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

/* What irq_probe saw, in the ticks that interrupted the target. */
struct irq_result {
	__u32 target_tgid;	/* in: the process whose ticks count */
	__u32 max_hits;		/* in */
	__u64 hits;
	__u64 plain_enoent;	/* without the flag: no answer in an interrupt */
	__u64 plain_other;
	__u64 flagged_ok;	/* with KSPAN_CURRENT_SPAN_IN_IRQ: its span */
	__u64 flagged_other;
	__u64 submitted;
	__u64 submit_failed;
	struct kspan_span_context last;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_result);
} irq_map SEC(".maps");

/* The tick's hrtimer expires in a hard interrupt (PREEMPT_RT too). */
SEC("tp_btf/hrtimer_expire_entry")
int irq_probe(void *ctx)
{
	struct kspan_span_context c = {};
	struct irq_result *res;
	struct rec_buf *r;
	__u32 key = 0;
	int ret;

	res = bpf_map_lookup_elem(&irq_map, &key);
	r = bpf_map_lookup_elem(&rec_map, &key);
	if (!res || !r || bpf_get_current_pid_tgid() >> 32 != res->target_tgid ||
	    res->hits >= res->max_hits)
		return 0;
	res->hits++;
	ret = kspan_bpf_current_span(&c, sizeof(c), 0);
	if (ret == -2)		/* -ENOENT */
		res->plain_enoent++;
	else
		res->plain_other++;
	ret = kspan_bpf_current_span(&c, sizeof(c), KSPAN_CURRENT_SPAN_IN_IRQ);
	if (!ret) {
		res->flagged_ok++;
		res->last = c;
	} else {
		res->flagged_other++;
	}
	if (kspan_bpf_submit(r->bytes, sizeof(r->bytes)))
		res->submit_failed++;
	else
		res->submitted++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
