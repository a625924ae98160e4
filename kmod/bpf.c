// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: BPF programs submit spans through a kfunc,
 *
 *	int kspan_bpf_submit(const void *rec, u32 rec__sz);
 *
 * and learn the application span the current thread is in (what libkspan
 * publishes in its submission ring), to make theirs its children:
 *
 *	int kspan_bpf_current_span(void *out, u32 out__sz, u64 flags);
 *
 * registered for tracing programs (fentry/fexit, tp_btf; on 6.12 also
 * tracepoint, perf_event and LSM programs, which share their hook), kprobe
 * programs where the kernel allows it (6.12: kprobes, uprobes, USDT), and
 * the syscall program type. @rec is a span record laid out as in
 * <uapi/linux/kspan.h> at the start of @rec__sz bytes the verifier has
 * checked (a map value, the stack; 6.12 wants them writable); its header
 * says how long it is. The kfunc never sleeps: on a full ring it drops the
 * span and counts it as the in-kernel API does, and the consumer finds a
 * lost-records record. A verified program may still pass NULL (a map
 * lookup it did not check): that is refused and counted.
 *
 * The record is copied before it is checked: a map value may be rewritten
 * by another CPU meanwhile. The copy goes into a per-CPU buffer, one per
 * nesting level on a CPU (task, softirq, hard IRQ, NMI: a program that
 * re-enters at the same level, e.g. attached to a function kspan calls,
 * takes a level too), with preemption off so that a preempting program
 * cannot take the same one. That is up to two copies of record_max bytes
 * with preemption off, PREEMPT_RT included.
 *
 * A module without BTF (built against headers with no vmlinux) registers
 * nothing that BPF can call: the verifier then refuses programs that use
 * the kfunc, and the rest of the module works as before.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/percpu.h>
#include <linux/preempt.h>

#include "kspan.h"
#include "kspan_api.h"

/* Levels a program can run at on one CPU: task, softirq, hard IRQ, NMI. */
#define KSPAN_BPF_NEST	4

struct kspan_bpf_cpu {
	int nest;
	void *buf[KSPAN_BPF_NEST];
};

static struct kspan_bpf_cpu __percpu *kspan_bpf_cpus;

#ifdef __bpf_kfunc_start_defs
__bpf_kfunc_start_defs();
#else
__diag_push();
__diag_ignore_all("-Wmissing-prototypes", "kfuncs are declared in BTF");
#endif

/**
 * kspan_bpf_submit - submit a span record from a BPF program
 * @rec: the record, at the start of @rec__sz bytes
 * @rec__sz: bytes at @rec, at least the record's length
 *
 * Any context a tracing program runs in, NMI included; never sleeps.
 *
 * Return: 0 when written; -ENOSPC (full) or -EBUSY (in NMI, the ring's
 * lock taken; or programs nested deeper than a CPU's levels) when dropped
 * and counted; -EINVAL or -EMSGSIZE for a malformed record (refused,
 * counted as rejected).
 */
#ifdef __bpf_kfunc
__bpf_kfunc
#else
/* 6.1 has no marker: keep the function whole, and so its BTF. */
__used __noclone noinline
#endif
int kspan_bpf_submit(const void *rec, u32 rec__sz)
{
	const struct kspan_record_header *hdr;
	struct kspan_bpf_cpu *cpu;
	struct kspan_ring *ring;
	u32 have;
	int nest, ret;

	preempt_disable();
	/*
	 * One instruction on x86 (xadd): an interrupt or NMI nests strictly
	 * above it, and undoes its own increment before we run again.
	 */
	nest = this_cpu_inc_return(kspan_bpf_cpus->nest);
	cpu = this_cpu_ptr(kspan_bpf_cpus);
	if (unlikely(!rec)) {
		/* A map lookup the program did not check. */
		ring = kspan_ring_of(smp_processor_id());
		kspan_count(ring, &ring->stats.rejected);
		ret = -EINVAL;
		goto out;
	}
	/* Dropped before it is looked at: counted as a drop, not a refusal. */
	if (nest > KSPAN_BPF_NEST) {
		ring = kspan_ring_of(smp_processor_id());
		kspan_ring_drop(ring, KSPAN_DROP_BUSY);
		ret = -EBUSY;
		goto out;
	}
	have = min(rec__sz, kspan_dev.record_max);
	memcpy(cpu->buf[nest - 1], rec, have);
	hdr = cpu->buf[nest - 1];
	/* Only what was copied is looked at, and written. */
	if (have < sizeof(*hdr) || hdr->len > have) {
		ring = kspan_ring_of(smp_processor_id());
		kspan_count(ring, &ring->stats.rejected);
		ret = have >= sizeof(*hdr) && hdr->len > kspan_dev.record_max ?
		      -EMSGSIZE : -EINVAL;
		goto out;
	}
	ret = kspan_submit(hdr, hdr->len);
out:
	this_cpu_dec(kspan_bpf_cpus->nest);
	preempt_enable();
	return ret;
}

/**
 * kspan_bpf_current_span - the application span the current thread is in
 * @out: out: a struct kspan_span_context
 * @out__sz: bytes at @out, at least sizeof(struct kspan_span_context);
 *	bytes past it (a later, larger struct) are zeroed
 * @flags: KSPAN_CURRENT_SPAN_* (uapi)
 *
 * What libkspan publishes for the thread in its submission ring's page: a
 * program makes its kernel spans children of it (same trace id, parent
 * span id = @out->span_id). Any context. In an interrupt there is no
 * answer unless @flags has KSPAN_CURRENT_SPAN_IN_IRQ (a perf event that
 * samples the interrupted thread): softirq and hard IRQ work is mostly
 * done for other threads.
 *
 * Return: 0, -ENOENT when the thread is in no span (or set up no ring),
 * -EINVAL for a short or NULL @out or unknown @flags.
 */
#ifdef __bpf_kfunc
__bpf_kfunc
#else
__used __noclone noinline
#endif
int kspan_bpf_current_span(void *out, u32 out__sz, u64 flags)
{
	struct kspan_span_context c;
	int ret;

	if (!out || out__sz < sizeof(c) || (flags & ~KSPAN_CURRENT_SPAN_IN_IRQ))
		return -EINVAL;
	ret = kspan_sring_current_span(&c, flags & KSPAN_CURRENT_SPAN_IN_IRQ);
	if (ret)
		return ret;
	memcpy(out, &c, sizeof(c));
	memset(out + sizeof(c), 0, out__sz - sizeof(c));
	return 0;
}

#ifdef __bpf_kfunc_end_defs
__bpf_kfunc_end_defs();
#else
__diag_pop();
#endif

/* 6.8 and later want kfunc sets marked as such (BTF_SET8_KFUNCS). */
#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(kspan_kfunc_ids)
BTF_ID_FLAGS(func, kspan_bpf_submit)
BTF_ID_FLAGS(func, kspan_bpf_current_span)
BTF_KFUNCS_END(kspan_kfunc_ids)
#else
BTF_SET8_START(kspan_kfunc_ids)
BTF_ID_FLAGS(func, kspan_bpf_submit)
BTF_ID_FLAGS(func, kspan_bpf_current_span)
BTF_SET8_END(kspan_kfunc_ids)
#endif

static const struct btf_kfunc_id_set kspan_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &kspan_kfunc_ids,
};

static void kspan_bpf_free_bufs(void)
{
	unsigned int cpu, i;

	for_each_possible_cpu(cpu)
		for (i = 0; i < KSPAN_BPF_NEST; i++)
			kvfree(per_cpu_ptr(kspan_bpf_cpus, cpu)->buf[i]);
	free_percpu(kspan_bpf_cpus);
	kspan_bpf_cpus = NULL;
}

/* Whether the module carries BTF: without it no program finds the kfunc. */
static bool kspan_bpf_have_btf(void)
{
#ifdef CONFIG_DEBUG_INFO_BTF_MODULES
	return THIS_MODULE->btf_data_size != 0;
#else
	return false;
#endif
}

/*
 * The copy buffers; vmalloc'ed memory is fine in NMI on x86-64, and a
 * large record_max needs no high-order pages. Allocated up front: the
 * kfunc cannot allocate.
 */
static int kspan_bpf_alloc_bufs(void)
{
	unsigned int cpu, i;

	kspan_bpf_cpus = alloc_percpu(struct kspan_bpf_cpu);
	if (!kspan_bpf_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct kspan_bpf_cpu *c = per_cpu_ptr(kspan_bpf_cpus, cpu);

		for (i = 0; i < KSPAN_BPF_NEST; i++) {
			c->buf[i] = kvmalloc_node(kspan_dev.record_max, GFP_KERNEL,
						  cpu_to_node(cpu));
			if (!c->buf[i]) {
				kspan_bpf_free_bufs();
				return -ENOMEM;
			}
		}
	}
	return 0;
}

static void kspan_bpf_register(enum bpf_prog_type type, const char *name)
{
	int ret = register_btf_kfunc_id_set(type, &kspan_kfunc_set);

	if (ret)
		pr_info("%s programs cannot call kspan_bpf_submit(): %d\n", name, ret);
}

/**
 * kspan_bpf_init - make kspan_bpf_submit() callable from BPF programs
 *
 * Never fails the module: without BTF, or without memory for the copy
 * buffers, the kfunc is not registered (the verifier refuses programs that
 * call it), and the log says why. Programs reach it only once the module
 * is live, after this.
 */
void kspan_bpf_init(void)
{
	if (!kspan_bpf_have_btf()) {
		pr_info("no module BTF: BPF programs cannot call kspan_bpf_submit()\n");
		return;
	}
	if (kspan_bpf_alloc_bufs()) {
		pr_warn("no memory for BPF copy buffers: kspan_bpf_submit() not registered\n");
		return;
	}
	/*
	 * First: 6.1 has no kfunc hook for kprobe programs, and a failed
	 * registration there frees the module's whole kfunc table, the sets
	 * registered before it included. Not an error.
	 */
	if (register_btf_kfunc_id_set(BPF_PROG_TYPE_KPROBE, &kspan_kfunc_set))
		pr_debug("kprobe programs cannot call kspan_bpf_submit()\n");
	kspan_bpf_register(BPF_PROG_TYPE_TRACING, "tracing");
	kspan_bpf_register(BPF_PROG_TYPE_SYSCALL, "syscall");
}

/* Module unload: no program holds the kfunc any more (it pins the module). */
void kspan_bpf_exit(void)
{
	if (kspan_bpf_cpus)
		kspan_bpf_free_bufs();
}
