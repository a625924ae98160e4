// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: produces spans through kspan_submit() from hard-IRQ
 * context (an hrtimer in HRTIMER_MODE_REL_HARD, hard IRQ on PREEMPT_RT too)
 * and from softirq context (a timer_list), "count" attempts each, one per
 * "period_us". The outcome of every attempt is counted; the guest suite
 * compares those counts with what the consumer finds.
 *
 * Each span is named "hardirq" or "softirq" and carries the attribute
 * "seq": the attempt's number within its source.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/timer.h>

#include <uapi/linux/kspan.h>

#include "kmod/kspan_api.h"

static unsigned int count = 1000;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "attempts per source");

static unsigned int period_us = 200;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "microseconds between hard-IRQ attempts");

/* Outcomes, read by the test through /sys/module/.../parameters. */
static unsigned long hard_ok, hard_dropped, soft_ok, soft_dropped;
module_param(hard_ok, ulong, 0444);
module_param(hard_dropped, ulong, 0444);
module_param(soft_ok, ulong, 0444);
module_param(soft_dropped, ulong, 0444);

#define NAME_LEN	7	/* "hardirq", "softirq" */
#define KEY_LEN		3	/* "seq" */
#define REC_LEN	(sizeof(struct kspan_record_header) + sizeof(struct kspan_span) + \
		 NAME_LEN + sizeof(struct kspan_attr) + KEY_LEN + sizeof(s64))

struct producer {
	const char *name;
	unsigned int seq;
	unsigned long *ok;
	unsigned long *dropped;
	u8 rec[REC_LEN] __aligned(8);
};

static struct producer hard = { "hardirq", 0, &hard_ok, &hard_dropped };
static struct producer soft = { "softirq", 0, &soft_ok, &soft_dropped };
static struct hrtimer hard_timer;
static struct timer_list soft_timer;

/* One span record: ids derived from the source and seq, "seq" attribute. */
static void build(struct producer *p)
{
	struct kspan_record_header *hdr = (void *)p->rec;
	struct kspan_span *span = (void *)(hdr + 1);
	u8 *name = (u8 *)(span + 1);
	struct kspan_attr attr = {
		.type = KSPAN_ATTR_INT64, .key_len = KEY_LEN, .value_len = 8,
	};
	s64 seq = p->seq;

	memset(p->rec, 0, sizeof(p->rec));
	hdr->len = REC_LEN;
	hdr->type = KSPAN_RECORD_SPAN;
	span->trace_id[0] = p->name[0];
	span->trace_id[15] = 1;
	memcpy(span->span_id, &seq, sizeof(seq));
	span->span_id[7] |= 0x40;
	span->start_time_ns = 1;
	span->end_time_ns = 2;
	span->kind = KSPAN_KIND_INTERNAL;
	span->name_len = NAME_LEN;
	span->attr_count = 1;
	span->attrs_len = sizeof(attr) + KEY_LEN + sizeof(seq);
	memcpy(name, p->name, NAME_LEN);
	memcpy(name + NAME_LEN, &attr, sizeof(attr));
	memcpy(name + NAME_LEN + sizeof(attr), "seq", KEY_LEN);
	memcpy(name + NAME_LEN + sizeof(attr) + KEY_LEN, &seq, sizeof(seq));
}

/* Returns whether more attempts remain. */
static bool attempt(struct producer *p)
{
	int ret;

	if (p->seq >= count)
		return false;
	build(p);
	ret = kspan_submit(p->rec, sizeof(p->rec));
	if (ret == 0)
		WRITE_ONCE(*p->ok, *p->ok + 1);
	else if (ret == -ENOSPC)
		WRITE_ONCE(*p->dropped, *p->dropped + 1);
	else
		pr_err("kspan_submit: %d\n", ret);
	p->seq++;
	return p->seq < count;
}

static enum hrtimer_restart hard_fire(struct hrtimer *t)
{
	if (!attempt(&hard))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void soft_fire(struct timer_list *t)
{
	if (attempt(&soft))
		mod_timer(t, jiffies + 1);
}

static int __init kspan_irq_producer_init(void)
{
	hrtimer_init(&hard_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	hard_timer.function = hard_fire;
	timer_setup(&soft_timer, soft_fire, 0);
	hrtimer_start(&hard_timer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	mod_timer(&soft_timer, jiffies + 1);
	return 0;
}

static void __exit kspan_irq_producer_exit(void)
{
	hrtimer_cancel(&hard_timer);
	del_timer_sync(&soft_timer);
}

module_init(kspan_irq_producer_init);
module_exit(kspan_irq_producer_exit);

MODULE_DESCRIPTION("kspan test-only producer from hard-IRQ and softirq context");
MODULE_LICENSE("GPL");
