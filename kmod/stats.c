// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: accounting, through KSPAN_IOC_STATS and the read-only debugfs
 * file kspan/stats.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kspan.h"
#include "testhooks.h"

static struct dentry *kspan_debugfs_dir;

/*
 * Adds @ring's counters to @sum. Lock-free: any user may ask as often as it
 * likes without slowing producers or the consumer (struct kspan_stats says
 * what a snapshot taken while they run may show).
 */
static void kspan_stats_add_ring(struct kspan_ring *ring, struct kspan_stats *sum)
{
	struct kspan_ring_stats *st = &ring->stats;

	sum->submitted += atomic64_read(&st->submitted);
	sum->committed += atomic64_read(&st->committed);
	sum->consumed += atomic64_read(&st->consumed);
	sum->rejected += atomic64_read(&st->rejected);
	sum->dropped_atomic += atomic64_read(&st->dropped_atomic);
	sum->dropped_policy += atomic64_read(&st->dropped_policy);
	sum->dropped_busy += atomic64_read(&st->dropped_busy);
	sum->full_eagain += atomic64_read(&st->full_eagain);
	sum->full_timeout += atomic64_read(&st->full_timeout);
	sum->interrupted += atomic64_read(&st->interrupted);
	sum->blocked += atomic64_read(&st->blocked);
	sum->wakeups += atomic64_read(&st->wakeups);
	sum->lost_records += atomic64_read(&st->lost_records);
	sum->bytes_committed += atomic64_read(&st->bytes_committed);
	sum->bytes_consumed += atomic64_read(&st->bytes_consumed);
	sum->bad_consumer_pos += atomic64_read(&st->bad_consumer_pos);
}

/* Fills @st for ring @idx, or the sum over all rings. */
static int kspan_stats_collect(u32 idx, struct kspan_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	if (idx != KSPAN_STATS_ALL) {
		struct kspan_ring *ring = kspan_ring_of(idx);

		if (!ring)
			return -EINVAL;
		kspan_stats_add_ring(ring, st);
		return 0;
	}
	for (i = 0; i < kspan_dev.nr_rings; i++)
		if (kspan_dev.rings[i])
			kspan_stats_add_ring(kspan_dev.rings[i], st);
	return 0;
}

long kspan_ioctl_stats(void __user *uarg)
{
	struct kspan_stats_query q;
	int ret;

	if (copy_from_user(&q, uarg, sizeof(q)))
		return -EFAULT;
	if (q.__reserved0)
		return -EINVAL;
	ret = kspan_stats_collect(q.ring, &q.stats);
	if (ret)
		return ret;
	return copy_to_user(uarg, &q, sizeof(q)) ? -EFAULT : 0;
}

static void kspan_stats_show_one(struct seq_file *m, const char *who,
				 const struct kspan_stats *st)
{
	seq_printf(m, "%-5s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
		   who, st->submitted, st->committed, st->consumed,
		   st->rejected, st->dropped_atomic, st->dropped_policy,
		   st->full_eagain, st->full_timeout, st->interrupted,
		   st->blocked, st->wakeups, st->lost_records,
		   st->bytes_committed, st->bytes_consumed,
		   st->bad_consumer_pos, st->dropped_busy);
}

static int kspan_stats_show(struct seq_file *m, void *unused)
{
	struct kspan_stats st;
	unsigned int i;
	char who[16];

	seq_puts(m, "ring submitted committed consumed rejected dropped_atomic dropped_policy full_eagain full_timeout interrupted blocked wakeups lost_records bytes_committed bytes_consumed bad_consumer_pos dropped_busy\n");
	for (i = 0; i < kspan_dev.nr_rings; i++) {
		if (kspan_stats_collect(i, &st))
			continue;
		snprintf(who, sizeof(who), "%u", i);
		kspan_stats_show_one(m, who, &st);
	}
	kspan_stats_collect(KSPAN_STATS_ALL, &st);
	kspan_stats_show_one(m, "total", &st);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kspan_stats);

int kspan_debugfs_init(void)
{
	/* debugfs is optional: its absence loses a view, not a function. */
	kspan_debugfs_dir = debugfs_create_dir("kspan", NULL);
	debugfs_create_file("stats", 0444, kspan_debugfs_dir, NULL,
			    &kspan_stats_fops);
	kspan_testhooks_init(kspan_debugfs_dir);
	return 0;
}

void kspan_debugfs_exit(void)
{
	debugfs_remove_recursive(kspan_debugfs_dir);
}
