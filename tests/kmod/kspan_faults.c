// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: commits one deliberate kernel bug at load time, chosen
 * by the "fault" parameter, so that the test runner's own tests can show
 * that each class of bug fails a guest run.
 *
 *   warn    WARN_ON (caught on every kernel)
 *   uaf     use after free (KASAN)
 *   abba    lock order inversion A->B then B->A (lockdep, no real deadlock)
 *   atomic  a sleeping lock taken under a spinlock (DEBUG_ATOMIC_SLEEP)
 *   leak    unreferenced allocation (kmemleak)
 *   race    plain stores to one variable from two CPUs at once (KCSAN)
 *   none    nothing: the control case
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *fault = "none";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "bug to commit at load: none, warn, uaf, abba, atomic, leak, race");

static DEFINE_MUTEX(lock_a);
static DEFINE_MUTEX(lock_b);
static DEFINE_SPINLOCK(atomic_lock);

static void fault_uaf(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return;
	kfree(p);
	/* Hide the pointer from the compiler's own use-after-free check. */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("read after free: %d\n", READ_ONCE(p[8]));
}

static void fault_abba(void)
{
	mutex_lock(&lock_a);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	mutex_unlock(&lock_a);

	mutex_lock(&lock_b);
	mutex_lock(&lock_a);
	mutex_unlock(&lock_a);
	mutex_unlock(&lock_b);
}

static void fault_atomic(void)
{
	/* The mutex is free: might_sleep() complains, nothing really sleeps. */
	spin_lock(&atomic_lock);
	mutex_lock(&lock_a);
	mutex_unlock(&lock_a);
	spin_unlock(&atomic_lock);
}

static void fault_leak(void)
{
	void *p = kmalloc(128, GFP_KERNEL);

	pr_info("leaking %p\n", p);
}

static unsigned long racy_counter;

/* Increments racy_counter with plain accesses for a second. */
static int fault_race_thread(void *done)
{
	unsigned long end = jiffies + HZ;

	while (time_before(jiffies, end)) {
		racy_counter++;
		cpu_relax();
	}
	complete(done);
	return 0;
}

static void fault_race(void)
{
	DECLARE_COMPLETION_ONSTACK(done0);
	DECLARE_COMPLETION_ONSTACK(done1);
	struct task_struct *t0, *t1;

	t0 = kthread_create(fault_race_thread, &done0, "kspan_race0");
	t1 = kthread_create(fault_race_thread, &done1, "kspan_race1");
	if (IS_ERR(t0) || IS_ERR(t1)) {
		if (!IS_ERR(t0))
			kthread_stop(t0);
		if (!IS_ERR(t1))
			kthread_stop(t1);
		return;
	}
	kthread_bind(t0, 0);
	kthread_bind(t1, 1);
	wake_up_process(t0);
	wake_up_process(t1);
	wait_for_completion(&done0);
	wait_for_completion(&done1);
	pr_info("racy counter: %lu\n", READ_ONCE(racy_counter));
}

static int __init kspan_faults_init(void)
{
	pr_info("fault=%s\n", fault);
	if (!strcmp(fault, "warn"))
		WARN_ON(1);
	else if (!strcmp(fault, "uaf"))
		fault_uaf();
	else if (!strcmp(fault, "abba"))
		fault_abba();
	else if (!strcmp(fault, "atomic"))
		fault_atomic();
	else if (!strcmp(fault, "leak"))
		fault_leak();
	else if (!strcmp(fault, "race"))
		fault_race();
	else if (strcmp(fault, "none"))
		return -EINVAL;
	return 0;
}

static void __exit kspan_faults_exit(void)
{
}

module_init(kspan_faults_init);
module_exit(kspan_faults_exit);

MODULE_DESCRIPTION("kspan test-only fault injector for the test runner's own tests");
MODULE_LICENSE("GPL");
