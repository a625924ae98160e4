// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the identity the module stamps into every span, so that no
 * producer can pass for another.
 */
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>

#include "kspan.h"

/*
 * Process context: the calling task, ids from the initial namespaces.
 * Interrupt context: no task is responsible, so everything but the time
 * is zero. The CPU is set by the ring the span lands in.
 */
void kspan_identity_fill(struct kspan_identity *id)
{
	memset(id, 0, sizeof(*id));
	/* The NMI-safe clock: callers may be in NMI. */
	id->submit_time_ns = ktime_get_real_fast_ns();
	if (!in_task())
		return;

	id->pid = task_tgid_nr(current);
	id->tid = task_pid_nr(current);
	/*
	 * A kuid is the uid in the initial namespace: from_kuid() on
	 * init_user_ns would only look that up in its identity map.
	 */
	id->uid = __kuid_val(current_uid());
#ifdef CONFIG_CGROUPS
	rcu_read_lock();
	id->cgroup_id = cgroup_id(task_dfl_cgroup(current));
	rcu_read_unlock();
#endif
}
