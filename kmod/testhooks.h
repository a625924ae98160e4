/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan: test hooks, built only into the module the test suites load
 * (Kbuild defines KSPAN_TEST_HOOKS when KSPAN_TESTS is set). A shipped
 * module has none: the calls below compile to nothing.
 *
 * A hook holds a writer at one point of its reservation for a while, so
 * that the suites can make the races the design must survive happen on
 * purpose: an NMI landing while the ring lock is held, a consumer meeting
 * a busy record, counters read while a ring is locked.
 */
#ifndef _KSPAN_KMOD_TESTHOOKS_H
#define _KSPAN_KMOD_TESTHOOKS_H

struct dentry;
struct kspan_ring;

enum kspan_hold_point {
	KSPAN_HOLD_LOCKED,	/* ring lock held, interrupts off */
	KSPAN_HOLD_WINDOW,	/* records reserved (busy), not yet committed */
	KSPAN_HOLD_NR,
};

#ifdef KSPAN_TEST_HOOKS
void kspan_test_hold(struct kspan_ring *ring, enum kspan_hold_point where);
void kspan_testhooks_init(struct dentry *dir);
#else
static inline void kspan_test_hold(struct kspan_ring *ring,
				   enum kspan_hold_point where)
{
}

static inline void kspan_testhooks_init(struct dentry *dir)
{
}
#endif

#endif /* _KSPAN_KMOD_TESTHOOKS_H */
