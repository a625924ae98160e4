// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: BPF programs submit spans through a kfunc,
 *
 *	int kspan_bpf_submit(const void *rec, u32 rec__sz);
 *
 * registered for tracing programs (fentry/fexit, tp_btf, ...) and for the
 * syscall program type. @rec is a span record laid out as in
 * <uapi/linux/kspan.h> at the start of @rec__sz bytes the verifier has
 * checked (a map value, the stack); its header says how long it is. The
 * kfunc never sleeps: on a full ring it drops the span and counts it as
 * the in-kernel API does, and the consumer finds a lost-records record.
 *
 * The record is copied before it is checked: a map value may be rewritten
 * by another CPU meanwhile. The copy goes into a per-CPU buffer, one per
 * level a program can run at on a CPU (task, softirq, hard IRQ, NMI), with
 * preemption off so that a preempting program cannot take the same one.
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
	/* One instruction: an interrupt or NMI nests strictly above it. */
	nest = this_cpu_inc_return(kspan_bpf_cpus->nest);
	cpu = this_cpu_ptr(kspan_bpf_cpus);
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

#ifdef __bpf_kfunc_end_defs
__bpf_kfunc_end_defs();
#else
__diag_pop();
#endif

/* 6.8 and later want kfunc sets marked as such (BTF_SET8_KFUNCS). */
#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(kspan_kfunc_ids)
BTF_ID_FLAGS(func, kspan_bpf_submit)
BTF_KFUNCS_END(kspan_kfunc_ids)
#else
BTF_SET8_START(kspan_kfunc_ids)
BTF_ID_FLAGS(func, kspan_bpf_submit)
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
			kfree(per_cpu_ptr(kspan_bpf_cpus, cpu)->buf[i]);
	free_percpu(kspan_bpf_cpus);
	kspan_bpf_cpus = NULL;
}

/**
 * kspan_bpf_init - make kspan_bpf_submit() callable from BPF programs
 *
 * Return: 0, or -ENOMEM. A kernel or module without BTF is not an error:
 * the registration then does nothing BPF can use, and says so.
 */
int kspan_bpf_init(void)
{
	unsigned int cpu, i;
	int ret;

	kspan_bpf_cpus = alloc_percpu(struct kspan_bpf_cpu);
	if (!kspan_bpf_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct kspan_bpf_cpu *c = per_cpu_ptr(kspan_bpf_cpus, cpu);

		for (i = 0; i < KSPAN_BPF_NEST; i++) {
			c->buf[i] = kmalloc_node(kspan_dev.record_max, GFP_KERNEL,
						 cpu_to_node(cpu));
			if (!c->buf[i]) {
				kspan_bpf_free_bufs();
				return -ENOMEM;
			}
		}
	}
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &kspan_kfunc_set);
	if (!ret)
		ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kspan_kfunc_set);
	if (ret)
		pr_info("BPF programs cannot call kspan_bpf_submit(): %d\n", ret);
	return 0;
}

/* Module unload: no program holds the kfunc any more (it pins the module). */
void kspan_bpf_exit(void)
{
	kspan_bpf_free_bufs();
}
