// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: test hooks (see testhooks.h), set through debugfs:
 *
 *   kspan/test/hold_us	  how long to hold, in microseconds, at most
 *			  KSPAN_HOLD_MAX_US; writing it arms the hook, 0
 *			  disarms it and ends a hold in progress within a
 *			  millisecond (wait for holding to read 0 before
 *			  arming the next)
 *   kspan/test/hold_point   0: with the ring lock held, 1: between
 *			  reservation and commit
 *   kspan/test/hold_ring    the ring whose writers are held (default 0)
 *   kspan/test/hold_count   how many writers to hold, one after another
 *   kspan/test/holding	  1 while a writer is being held (read-only)
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/minmax.h>
#include <linux/preempt.h>
#include <linux/time64.h>

#include "kspan.h"
#include "testhooks.h"

/*
 * A hold spins with interrupts or preemption off: a test that died before
 * ending its hold must not leave one long enough for the soft-lockup (20 s)
 * or RCU stall (21 s) detectors.
 */
#define KSPAN_HOLD_MAX_US	(5 * USEC_PER_SEC)

static u32 hold_us;
static u32 hold_point;
static u32 hold_ring;
static atomic_t hold_count = ATOMIC_INIT(0);
static u32 holding;

void kspan_test_hold(struct kspan_ring *ring, enum kspan_hold_point where)
{
	u32 us = min_t(u32, READ_ONCE(hold_us), KSPAN_HOLD_MAX_US);

	/* Writers in NMI are what the holds are there to meet, not to hold. */
	if (!us || READ_ONCE(hold_point) != where ||
	    ring->cpu != READ_ONCE(hold_ring) || in_nmi())
		return;
	if (atomic_dec_if_positive(&hold_count) < 0)
		return;
	WRITE_ONCE(holding, 1);
	/*
	 * A busy wait: nothing here may sleep (interrupts or preemption are
	 * off). A test that must see the hold outlast something arms a long
	 * one and ends it itself, rather than guessing how long that
	 * something takes.
	 */
	while (us && READ_ONCE(hold_us)) {
		u32 step = min_t(u32, us, 1000);

		udelay(step);
		us -= step;
	}
	WRITE_ONCE(holding, 0);
}

static int kspan_hold_count_get(void *data, u64 *val)
{
	*val = atomic_read(&hold_count);
	return 0;
}

static int kspan_hold_count_set(void *data, u64 val)
{
	atomic_set(&hold_count, (int)min_t(u64, val, INT_MAX));
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(kspan_hold_count_fops, kspan_hold_count_get,
			 kspan_hold_count_set, "%llu\n");

void kspan_testhooks_init(struct dentry *dir)
{
	struct dentry *test = debugfs_create_dir("test", dir);

	debugfs_create_u32("hold_us", 0600, test, &hold_us);
	debugfs_create_u32("hold_point", 0600, test, &hold_point);
	debugfs_create_u32("hold_ring", 0600, test, &hold_ring);
	debugfs_create_file_unsafe("hold_count", 0600, test, NULL,
				   &kspan_hold_count_fops);
	debugfs_create_u32("holding", 0400, test, &holding);
}
