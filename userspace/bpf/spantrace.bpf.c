// SPDX-License-Identifier: GPL-2.0
/*
 * spantrace's BPF programs: kernel work as spans, handed to the kspan
 * module through its kfunc, as children of the application span the
 * thread is in (what libkspan publishes) when there is one.
 *
 *  - syscalls: a span per system call that lasts at least min_ns;
 *  - block I/O: a span per request, from issue to completion;
 *  - off-CPU: a span per interval a thread did not run, and why.
 *
 * CO-RE: built against one kernel's BTF (vmlinux.h), relocated by libbpf
 * to the running kernel's.
 */
#include "vmlinux.h"
/* vmlinux.h has the __u* types: the uapi header must not define them again. */
#define _LINUX_TYPES_H
#include <linux/kspan.h>
#include <asm-generic/errno-base.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "spantrace.h"

extern int kspan_bpf_submit(const void *rec, __u32 rec__sz) __ksym;
extern int kspan_bpf_current_span(void *out, __u32 out__sz, __u64 flags) __ksym;

/* Set by the loader before load. */
const volatile __u32 targ_tgid;
const volatile __u32 targ_tid;
const volatile __u64 targ_cgroup;
const volatile bool active_only;
const volatile __u64 min_ns;

/* CLOCK_REALTIME - CLOCK_MONOTONIC, kept current by the loader. */
__u64 realtime_offset_ns;
/* spantrace's own process (global id): learn_self sets it. */
__u32 self_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_SYSCALLS_MAX);
	__type(key, __u32);
	__type(value, struct spantrace_name);
} syscall_names SEC(".maps");

/* A system call in progress, by thread id. */
struct sys_start {
	__u64 ts;
	__s64 nr;
	__u64 arg0;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sys_start);
} sys_starts SEC(".maps");

/*
 * A block request, by its address: from its insertion (in the submitting
 * thread: whose it is, and its parent) or, issued directly, from its issue;
 * timed from its issue to its completion.
 */
struct io_start {
	__u64 ts;		/* 0 until issued */
	__u32 has_parent;
	__u32 filtered;		/* not one to trace: forgotten at its issue */
	__u64 bytes;
	struct kspan_span_context parent;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct io_start);
} io_starts SEC(".maps");

/*
 * A thread off CPU (by thread id): when it left, why, in which system
 * call, and the application span it was in. Once it runs again the
 * interval is complete and waits, as off_done, for the thread's next
 * switch out: the span is submitted from the thread's own context, so the
 * module stamps it with the thread's identity.
 */
struct off_cpu {
	__u64 start;
	__u64 end;
	__s64 nr;
	__u32 why;
	__u32 has_parent;
	/* The task's start time: a recycled thread id is another thread. */
	__u64 task_start;
	struct kspan_span_context parent;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct off_cpu);
} off_starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct off_cpu);
} off_done SEC(".maps");

/*
 * Records are built in a per-CPU buffer, one per level a program can run
 * at on a CPU: a tracepoint in a task, then an interrupt's (block I/O
 * completes there) nest above it and are done before it goes on.
 * Tracepoints run with preemption off (PREEMPT_RT too): two tasks never
 * share a level.
 */
#define REC_CAP		512
#define REC_NEST	4
/*
 * Attributes end below 256 (at most 235: a block span with all four), so
 * masking offsets with it only tells the verifier what is already true.
 */
#define ATTR_OFF_MASK	255

struct rec_bufs {
	__u32 depth;
	__u32 __pad;
	__u8 buf[REC_NEST][REC_CAP];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_bufs);
} rec_bufs SEC(".maps");

#define BODY_OFF	sizeof(struct kspan_record_header)
#define NAME_OFF	(BODY_OFF + sizeof(struct kspan_span))

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

/* Whether the current thread is one to trace (pid, tid, cgroup). */
static __always_inline bool wanted(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;

	if (!tgid || tgid == self_tgid)
		return false;
	if (targ_tgid && tgid != targ_tgid)
		return false;
	if (targ_tid && tid != targ_tid)
		return false;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return false;
	return true;
}

/* The application span the current thread is in: 1, or 0 when none. */
static __always_inline int current_parent(struct kspan_span_context *ctx)
{
	return kspan_bpf_current_span(ctx, sizeof(*ctx), 0) == 0;
}

/* A buffer for a record; NULL (counted as a drop) when nested too deep. */
static __always_inline __u8 *rec_get(struct rec_bufs **bufs)
{
	__u32 zero = 0, d;
	struct rec_bufs *b = bpf_map_lookup_elem(&rec_bufs, &zero);

	if (!b)
		return NULL;
	d = b->depth;
	if (d >= REC_NEST) {
		count(ST_DROPPED);
		return NULL;
	}
	b->depth = d + 1;
	*bufs = b;
	return b->buf[d];
}

static __always_inline void rec_put(struct rec_bufs *b)
{
	b->depth--;
}

static __always_inline __u64 random_id(void)
{
	__u64 id = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();

	return id ? id : 1;
}

/*
 * Starts a span record in @r: ids (a child of @parent when there is one,
 * otherwise the root of a new trace), times and the name, @name_len bytes
 * of the ST_NAME_MAX at @name. Returns where the attributes go.
 */
static __always_inline __u32 span_begin(__u8 *r, __u64 start, __u64 end,
					const struct kspan_span_context *parent,
					const char *name, __u32 name_len)
{
	struct kspan_span *s = (void *)(r + BODY_OFF);
	/* Once: the loader may change it between two reads. */
	__u64 id, offset = realtime_offset_ns;

	__builtin_memset(r, 0, NAME_OFF);
	if (parent) {
		__builtin_memcpy(s->trace_id, parent->trace_id, sizeof(s->trace_id));
		__builtin_memcpy(s->parent_span_id, parent->span_id, sizeof(s->parent_span_id));
		s->flags = parent->flags & KSPAN_CONTEXT_SAMPLED ? KSPAN_SPAN_SAMPLED : 0;
	} else {
		id = random_id();
		__builtin_memcpy(s->trace_id, &id, sizeof(id));
		id = random_id();
		__builtin_memcpy(s->trace_id + 8, &id, sizeof(id));
		s->flags = KSPAN_SPAN_SAMPLED;
	}
	id = random_id();
	__builtin_memcpy(s->span_id, &id, sizeof(id));
	s->start_time_ns = start + offset;
	s->end_time_ns = end + offset;
	s->kind = KSPAN_KIND_INTERNAL;
	if (name_len > ST_NAME_MAX || !name_len)
		name_len = ST_NAME_MAX;
	s->name_len = name_len;
	bpf_probe_read_kernel(r + NAME_OFF, ST_NAME_MAX, name);
	return NAME_OFF + name_len;
}

/* An INT64 attribute at @off; returns the offset after it. */
static __always_inline __u32 attr_int(__u8 *r, __u32 off, const char *key,
				      __u32 key_len, __s64 v)
{
	struct kspan_attr a = {
		.type = KSPAN_ATTR_INT64, .key_len = key_len, .value_len = 8,
	};

	off &= ATTR_OFF_MASK;
	__builtin_memcpy(r + off, &a, sizeof(a));
	bpf_probe_read_kernel(r + off + sizeof(a), key_len & 31, key);
	__builtin_memcpy(r + off + sizeof(a) + (key_len & 31), &v, sizeof(v));
	return off + sizeof(a) + key_len + sizeof(v);
}

/*
 * A STRING attribute of the NUL-terminated @value (kernel memory, at most
 * @max bytes, NUL included); *@n counts it when there is one.
 */
static __always_inline __u32 attr_str(__u8 *r, __u32 off, __u32 *n, const char *key,
				      __u32 key_len, const void *value, __u32 max)
{
	struct kspan_attr a = { .type = KSPAN_ATTR_STRING, .key_len = key_len };
	__u32 voff;
	long len;

	off &= ATTR_OFF_MASK;
	voff = off + sizeof(a) + (key_len & 31);
	len = bpf_probe_read_kernel_str(r + voff, max & 63, value);
	if (len <= 1)
		return off;		/* nothing to say */
	(*n)++;
	a.value_len = len - 1;
	__builtin_memcpy(r + off, &a, sizeof(a));
	bpf_probe_read_kernel(r + off + sizeof(a), key_len & 31, key);
	return voff + a.value_len;
}

#define ATTR_INT(r, off, n, key, v) \
	do { off = attr_int(r, off, key, sizeof(key) - 1, v); n++; } while (0)

/* Finishes the record in @r at @end with @n attributes, and submits it. */
static __always_inline void span_submit(__u8 *r, __u32 end, __u16 n, __u8 status)
{
	struct kspan_record_header *h = (void *)r;
	struct kspan_span *s = (void *)(r + BODY_OFF);
	__u32 len = end & (REC_CAP - 1);
	__u64 parent;
	int ret;

	if (len < NAME_OFF)
		return;
	h->len = len;
	h->type = KSPAN_RECORD_SPAN;
	s->status = status;
	s->attr_count = n;
	s->attrs_len = len - NAME_OFF - s->name_len;
	__builtin_memcpy(&parent, s->parent_span_id, sizeof(parent));
	/* Only the record's bytes: the module copies what it is given. */
	ret = kspan_bpf_submit(r, len);
	if (!ret) {
		count(ST_SPANS);
		if (parent)
			count(ST_CHILDREN);
	}
	else if (ret == -ENOSPC || ret == -EBUSY)
		count(ST_DROPPED);
	else
		count(ST_REFUSED);
}

/* Syscalls ------------------------------------------------------------- */

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_start st = {};

	count(ST_EVENTS);
	if (!wanted()) {
		count(ST_FILTERED);
		return 0;
	}
	st.ts = bpf_ktime_get_ns();
	st.nr = nr;
	st.arg0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (bpf_map_update_elem(&sys_starts, &tid, &st, BPF_ANY))
		count(ST_LOST_STATE);
	return 0;
}

static const char unknown_syscall[ST_NAME_MAX] = "syscall";

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), nr, off, n = 0;
	const struct spantrace_name *name;
	struct kspan_span_context parent;
	struct sys_start *st;
	struct rec_bufs *b;
	int has_parent;
	__u64 now;
	__u8 *r;

	st = bpf_map_lookup_elem(&sys_starts, &tid);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - st->ts < min_ns)
		goto out;
	has_parent = current_parent(&parent);
	if (active_only && !has_parent) {
		count(ST_FILTERED);
		goto out;
	}
	r = rec_get(&b);
	if (!r)
		goto out;
	nr = (__u32)st->nr;
	name = bpf_map_lookup_elem(&syscall_names, &nr);
	if (name && name->len)
		off = span_begin(r, st->ts, now, has_parent ? &parent : NULL,
				 name->name, name->len);
	else
		off = span_begin(r, st->ts, now, has_parent ? &parent : NULL,
				 unknown_syscall, 7);
	ATTR_INT(r, off, n, "syscall.nr", st->nr);
	if (name && (name->flags & ST_FD_ARG0))
		ATTR_INT(r, off, n, "syscall.fd", (__s32)st->arg0);
	if (ret < 0 && ret >= -4095) {
		ATTR_INT(r, off, n, "syscall.errno", -ret);
	} else if (name && (name->flags & ST_BYTES_RET)) {
		ATTR_INT(r, off, n, "syscall.bytes", ret);
	}
	span_submit(r, off, n, ret < 0 && ret >= -4095 ? KSPAN_STATUS_ERROR : KSPAN_STATUS_UNSET);
	rec_put(b);
out:
	bpf_map_delete_elem(&sys_starts, &tid);
	return 0;
}

/* Block I/O ------------------------------------------------------------ */

/* Whose request it is, taken where it is submitted. */
static __always_inline void io_note(struct request *rq, struct io_start *st)
{
	st->filtered = !wanted();
	if (!st->filtered) {
		st->has_parent = current_parent(&st->parent);
		st->filtered = active_only && !st->has_parent;
	}
	if (st->filtered)
		count(ST_FILTERED);
}

/* Into an I/O scheduler: still in the submitting thread. */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct io_start st = {};

	count(ST_EVENTS);
	io_note(rq, &st);
	if (bpf_map_update_elem(&io_starts, &key, &st, BPF_ANY))
		count(ST_LOST_STATE);
	return 0;
}

/*
 * To the driver: maybe from kblockd or another thread running the queue,
 * so whose it is comes from its insertion when it had one; issued
 * directly, this is still the submitting thread.
 */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct io_start st = {}, *e;

	e = bpf_map_lookup_elem(&io_starts, &key);
	if (e) {
		if (e->filtered) {
			bpf_map_delete_elem(&io_starts, &key);
			return 0;
		}
		e->ts = bpf_ktime_get_ns();
		e->bytes = BPF_CORE_READ(rq, __data_len);
		return 0;
	}
	count(ST_EVENTS);
	io_note(rq, &st);
	if (st.filtered)
		return 0;
	st.ts = bpf_ktime_get_ns();
	st.bytes = BPF_CORE_READ(rq, __data_len);
	if (bpf_map_update_elem(&io_starts, &key, &st, BPF_ANY))
		count(ST_LOST_STATE);
	return 0;
}

static const char block_names[4][ST_NAME_MAX] = {
	"block read", "block write", "block flush", "block discard",
};
static const char block_other[ST_NAME_MAX] = "block other";

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now;
	struct gendisk *disk;
	struct io_start *st;
	struct rec_bufs *b;
	__u32 op, off, n = 0;
	const char *name;
	__u8 *r;

	st = bpf_map_lookup_elem(&io_starts, &key);
	if (!st)
		return 0;
	/* A partial completion: the rest follows. */
	if (nr_bytes < BPF_CORE_READ(rq, __data_len))
		return 0;
	if (!st->ts)			/* completed without an issue seen */
		goto out;
	now = bpf_ktime_get_ns();
	if (now - st->ts < min_ns)
		goto out;
	r = rec_get(&b);
	if (!r)
		goto out;
	op = BPF_CORE_READ(rq, cmd_flags) & 0xff;	/* REQ_OP_MASK */
	name = op < 4 ? block_names[op] : block_other;
	off = span_begin(r, st->ts, now, st->has_parent ? &st->parent : NULL, name,
			 op == 0 ? 10 : op == 1 ? 11 : op == 2 ? 11 : op == 3 ? 13 : 11);
	/* Queues without a disk exist (an NVMe admin queue, SCSI scans). */
	disk = BPF_CORE_READ(rq, q, disk);
	if (disk)
		off = attr_str(r, off, &n, "block.device", 12, disk->disk_name, 32);
	ATTR_INT(r, off, n, "block.sector", BPF_CORE_READ(rq, __sector));
	ATTR_INT(r, off, n, "block.bytes", st->bytes);
	if (error)
		ATTR_INT(r, off, n, "block.status", error);
	span_submit(r, off, n, error ? KSPAN_STATUS_ERROR : KSPAN_STATUS_UNSET);
	rec_put(b);
out:
	bpf_map_delete_elem(&io_starts, &key);
	return 0;
}

/* Off-CPU -------------------------------------------------------------- */

enum { WHY_PREEMPTED, WHY_SLEEPING, WHY_BLOCKED, WHY_OTHER };

static const char why_names[4][12] = { "preempted", "sleeping", "blocked", "other" };
static const char off_cpu_name[ST_NAME_MAX] = "off-cpu";

/* The interval that ended when the current thread last ran again. */
static __always_inline void off_cpu_submit(__u32 tid)
{
	const struct spantrace_name *name;
	struct off_cpu *oc;
	struct rec_bufs *b;
	__u32 off, n = 0, nr;
	__u8 *r;

	oc = bpf_map_lookup_elem(&off_done, &tid);
	if (!oc)
		return;
	r = rec_get(&b);
	if (r) {
		off = span_begin(r, oc->start, oc->end, oc->has_parent ? &oc->parent : NULL,
				 off_cpu_name, 7);
		off = attr_str(r, off, &n, "thread.state", 12, why_names[oc->why & 3],
			       sizeof(why_names[0]));
		if (oc->nr >= 0) {
			ATTR_INT(r, off, n, "syscall.nr", oc->nr);
			nr = (__u32)oc->nr;
			name = bpf_map_lookup_elem(&syscall_names, &nr);
			if (name && name->len)
				off = attr_str(r, off, &n, "syscall.name", 12, name->name,
					       ST_NAME_MAX);
		}
		span_submit(r, off, n, KSPAN_STATUS_UNSET);
		rec_put(b);
	}
	bpf_map_delete_elem(&off_done, &tid);
}

#define TASK_DEAD_STATE	0x80	/* TASK_DEAD: its last switch out */

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 prev_tid = prev->pid, next_tid = next->pid;
	struct off_cpu oc = {}, *left;
	struct sys_start *sys;
	__u64 now = bpf_ktime_get_ns();

	count(ST_EVENTS);
	/* Current is @prev: its finished interval gets its own identity. */
	off_cpu_submit(prev_tid);
	/*
	 * @prev_state is what the scheduler saw (a remote wake-up may already
	 * have changed prev->__state). A dead task never runs again.
	 */
	if (!(prev_state & TASK_DEAD_STATE) && wanted()) {
		oc.has_parent = current_parent(&oc.parent);
		if (!active_only || oc.has_parent) {
			oc.why = preempt || !prev_state ? WHY_PREEMPTED :
				 prev_state & 2 ? WHY_BLOCKED :	/* TASK_UNINTERRUPTIBLE */
				 prev_state & 1 ? WHY_SLEEPING :	/* TASK_INTERRUPTIBLE */
				 WHY_OTHER;
			sys = bpf_map_lookup_elem(&sys_starts, &prev_tid);
			oc.nr = sys ? sys->nr : -1;
			oc.start = now;
			oc.task_start = prev->start_time;
			if (bpf_map_update_elem(&off_starts, &prev_tid, &oc, BPF_ANY))
				count(ST_LOST_STATE);
		} else {
			count(ST_FILTERED);
		}
	}
	left = bpf_map_lookup_elem(&off_starts, &next_tid);
	if (!left)
		return 0;
	/* Not left by an earlier thread of the same id. */
	if (left->task_start == next->start_time && now - left->start >= min_ns) {
		left->end = now;
		if (bpf_map_update_elem(&off_done, &next_tid, left, BPF_ANY))
			count(ST_LOST_STATE);
	}
	bpf_map_delete_elem(&off_starts, &next_tid);
	return 0;
}

/* A thread that exits submits what it still has, from its own context. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_exit, struct task_struct *task)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	off_cpu_submit(tid);
	bpf_map_delete_elem(&off_starts, &tid);
	bpf_map_delete_elem(&sys_starts, &tid);
	return 0;
}

/* Run once by the loader: its own process, as the programs see ids. */
SEC("syscall")
int learn_self(void *ctx)
{
	self_tgid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
