// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: produces spans through kspan_submit() from NMI context.
 * At load, it sends "count" NMIs, one every "period_us", to CPU "cpu" (from
 * the CPU insmod runs on, which must be another one) and waits for each to
 * be handled; its handler submits one span per NMI. Meanwhile the guest
 * suite keeps a user producer writing on that CPU, whose ring lock the
 * test hooks hold for a while now and then: NMIs land inside the lock.
 *
 * Outcomes are counted per kspan_submit() result and read by the suite
 * through /sys/module/kspan_nmi_producer/parameters. Each span is named
 * "nmi" and carries the attribute "seq".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include <uapi/linux/kspan.h>

#include "kmod/kspan_api.h"

static unsigned int count = 1000;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "NMIs to send");

static unsigned int period_us = 200;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "microseconds between NMIs");

static unsigned int cpu;
module_param(cpu, uint, 0444);
MODULE_PARM_DESC(cpu, "CPU the NMIs are sent to");

/* Outcomes of kspan_submit() in the handler, read by the test. */
static unsigned long nmi_ok, nmi_full, nmi_busy, nmi_other, nmi_lost;
module_param(nmi_ok, ulong, 0444);
module_param(nmi_full, ulong, 0444);
module_param(nmi_busy, ulong, 0444);
module_param(nmi_other, ulong, 0444);
module_param(nmi_lost, ulong, 0444);

#define NAME_LEN	3	/* "nmi" */
#define KEY_LEN		3	/* "seq" */
#define REC_LEN	(sizeof(struct kspan_record_header) + sizeof(struct kspan_span) + \
		 NAME_LEN + sizeof(struct kspan_attr) + KEY_LEN + sizeof(s64))

/* NMIs sent and not yet handled: tells ours from anybody else's. */
static atomic_t expected = ATOMIC_INIT(0);
static unsigned int seq;
static u8 rec[REC_LEN] __aligned(8);

static void build(s64 n)
{
	struct kspan_record_header *hdr = (void *)rec;
	struct kspan_span *span = (void *)(hdr + 1);
	u8 *name = (u8 *)(span + 1);
	struct kspan_attr attr = {
		.type = KSPAN_ATTR_INT64, .key_len = KEY_LEN, .value_len = 8,
	};

	memset(rec, 0, sizeof(rec));
	hdr->len = REC_LEN;
	hdr->type = KSPAN_RECORD_SPAN;
	span->trace_id[0] = 'n';
	span->trace_id[15] = 1;
	memcpy(span->span_id, &n, sizeof(n));
	span->span_id[7] |= 0x20;
	span->start_time_ns = 1;
	span->end_time_ns = 2;
	span->kind = KSPAN_KIND_INTERNAL;
	span->name_len = NAME_LEN;
	span->attr_count = 1;
	span->attrs_len = sizeof(attr) + KEY_LEN + sizeof(n);
	memcpy(name, "nmi", NAME_LEN);
	memcpy(name + NAME_LEN, &attr, sizeof(attr));
	memcpy(name + NAME_LEN + sizeof(attr), "seq", KEY_LEN);
	memcpy(name + NAME_LEN + sizeof(attr) + KEY_LEN, &n, sizeof(n));
}

static int kspan_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	int ret;

	if (smp_processor_id() != cpu || atomic_dec_if_positive(&expected) < 0)
		return NMI_DONE;
	build(seq++);
	ret = kspan_submit(rec, sizeof(rec));
	if (ret == 0)
		WRITE_ONCE(nmi_ok, nmi_ok + 1);
	else if (ret == -ENOSPC)
		WRITE_ONCE(nmi_full, nmi_full + 1);
	else if (ret == -EBUSY)
		WRITE_ONCE(nmi_busy, nmi_busy + 1);
	else
		WRITE_ONCE(nmi_other, nmi_other + 1);
	return NMI_HANDLED;
}

static int __init kspan_nmi_producer_init(void)
{
	unsigned long deadline;
	unsigned int i;
	int ret;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu) || cpu == raw_smp_processor_id())
		return -EINVAL;
	ret = register_nmi_handler(NMI_LOCAL, kspan_nmi_handler, 0, "kspan_test");
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		atomic_inc(&expected);
		apic->send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
		/* One at a time: wait until the handler took it (10 s at most). */
		deadline = jiffies + 10 * HZ;
		while (atomic_read(&expected) && time_before(jiffies, deadline))
			cpu_relax();
		if (atomic_read(&expected)) {
			atomic_set(&expected, 0);
			nmi_lost++;
		}
		usleep_range(period_us, period_us + 50);
	}
	unregister_nmi_handler(NMI_LOCAL, "kspan_test");
	pr_info("%u NMIs: %lu written, %lu full, %lu busy, %lu other, %lu lost\n",
		count, nmi_ok, nmi_full, nmi_busy, nmi_other, nmi_lost);
	return 0;
}

static void __exit kspan_nmi_producer_exit(void)
{
}

module_init(kspan_nmi_producer_init);
module_exit(kspan_nmi_producer_exit);

MODULE_DESCRIPTION("kspan test-only producer from NMI context");
MODULE_LICENSE("GPL");
