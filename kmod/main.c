// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: carries spans (timed, named units of work with trace ids and
 * attributes) from producers in user space, the kernel and BPF to a
 * user-space exporter.
 *
 * This file holds the module parameters, load and unload; every concern
 * lives in a file of its own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "kspan.h"

/* The uapi layouts, pinned here as in user space (userspace/lib). */
#define KSPAN_ASSERT_LAYOUT(expr) static_assert(expr)
#include <uapi/kspan_layout.h>

static unsigned long ring_size = 1UL << 20;
module_param(ring_size, ulong, 0444);
MODULE_PARM_DESC(ring_size, "bytes of span data per CPU, a power of two (default 1 MiB)");

static unsigned int record_max = KSPAN_RECORD_MAX_DEFAULT;
module_param(record_max, uint, 0444);
MODULE_PARM_DESC(record_max, "longest span record accepted, in bytes (default 4096)");

static unsigned int watermark = 1;
module_param(watermark, uint, 0444);
MODULE_PARM_DESC(watermark, "bytes of unread data that make a ring readable for poll (default 1: any record)");

static unsigned int flush_interval_ms = 100;
module_param(flush_interval_ms, uint, 0444);
MODULE_PARM_DESC(flush_interval_ms, "longest a record below the watermark waits before poll reports it, in ms (default 100)");

static int consumer_gid = -1;
module_param(consumer_gid, int, 0444);
MODULE_PARM_DESC(consumer_gid, "group whose members may attach as consumer without CAP_SYS_ADMIN (default -1: none)");

static unsigned long orphan_max = 64UL << 20;
module_param(orphan_max, ulong, 0444);
MODULE_PARM_DESC(orphan_max, "bytes of released submission rings kept until the consumer frees space; past it, what cannot move is dropped and counted (default 64 MiB)");

static unsigned int dev_mode = 0666;
module_param(dev_mode, uint, 0444);
MODULE_PARM_DESC(dev_mode, "permissions of /dev/kspan (default 0666: anyone may produce)");

static unsigned int dev_gid;
module_param(dev_gid, uint, 0444);
MODULE_PARM_DESC(dev_gid, "group of /dev/kspan (default 0)");

/* Rings are mapped KSPAN_MMAP_RING_STRIDE apart: two pages plus two copies. */
#define KSPAN_RING_SIZE_MAX	((KSPAN_MMAP_RING_STRIDE - 2 * PAGE_SIZE) / 2 / 2)

struct kspan_dev kspan_dev = {
	.consumer_lock = __MUTEX_INITIALIZER(kspan_dev.consumer_lock),
	.consumer_wq = __WAIT_QUEUE_HEAD_INITIALIZER(kspan_dev.consumer_wq),
};

static int kspan_check_params(void)
{
	if (!is_power_of_2(ring_size) || ring_size < PAGE_SIZE ||
	    ring_size > KSPAN_RING_SIZE_MAX) {
		pr_err("ring_size %lu: must be a power of two from %lu to %llu\n",
		       ring_size, PAGE_SIZE, (u64)KSPAN_RING_SIZE_MAX);
		return -EINVAL;
	}
	if (record_max < KSPAN_SPAN_MIN_LEN || record_max > U16_MAX ||
	    record_max > ring_size / 4) {
		pr_err("record_max %u: must be from %zu to min(65535, ring_size / 4)\n",
		       record_max, KSPAN_SPAN_MIN_LEN);
		return -EINVAL;
	}
	/* Above half a ring, a full ring could stay below it. */
	if (!watermark || watermark > ring_size / 2) {
		pr_err("watermark %u: must be from 1 to ring_size / 2\n", watermark);
		return -EINVAL;
	}
	if (!flush_interval_ms || flush_interval_ms > 60000) {
		pr_err("flush_interval_ms %u: must be from 1 to 60000\n",
		       flush_interval_ms);
		return -EINVAL;
	}
	if (consumer_gid < -1 ||
	    (consumer_gid >= 0 && !gid_valid(make_kgid(&init_user_ns, consumer_gid)))) {
		pr_err("consumer_gid %d: must be a group id or -1\n", consumer_gid);
		return -EINVAL;
	}
	/* 0 would leave devtmpfs its default, 0600: not what was asked. */
	if (!dev_mode || dev_mode & ~0777) {
		pr_err("dev_mode %#o: permission bits, from 01 to 0777\n", dev_mode);
		return -EINVAL;
	}
	if (!gid_valid(make_kgid(&init_user_ns, dev_gid))) {
		pr_err("dev_gid %u: not a valid group id\n", dev_gid);
		return -EINVAL;
	}
	return 0;
}

static void kspan_rings_free(void)
{
	unsigned int i;

	for (i = 0; i < kspan_dev.nr_rings; i++)
		kspan_ring_free(kspan_dev.rings[i]);
	kfree(kspan_dev.rings);
	kspan_dev.rings = NULL;
}

/* One ring per possible CPU: an offline CPU's ring stays and drains. */
static int kspan_rings_alloc(void)
{
	unsigned int cpu;

	kspan_dev.nr_rings = nr_cpu_ids;
	kspan_dev.ring_size = ring_size;
	kspan_dev.record_max = record_max;
	kspan_dev.watermark = watermark;
	kspan_dev.flush_jiffies = max(msecs_to_jiffies(flush_interval_ms), 1UL);
	kspan_dev.orphan_max = orphan_max;
	kspan_dev.consumer_gid = consumer_gid < 0 ? INVALID_GID :
				 make_kgid(&init_user_ns, consumer_gid);
	kspan_dev.rings = kcalloc(nr_cpu_ids, sizeof(*kspan_dev.rings),
				  GFP_KERNEL);
	if (!kspan_dev.rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		kspan_dev.rings[cpu] = kspan_ring_alloc(cpu, ring_size);
		if (!kspan_dev.rings[cpu]) {
			kspan_rings_free();
			return -ENOMEM;
		}
	}
	return 0;
}

static int __init kspan_init(void)
{
	int ret;

	ret = kspan_check_params();
	if (ret)
		return ret;
	ret = kspan_rings_alloc();
	if (ret)
		return ret;
	kspan_bpf_init();
	kspan_debugfs_init();
	ret = kspan_chrdev_register(dev_mode, make_kgid(&init_user_ns, dev_gid));
	if (ret) {
		kspan_debugfs_exit();
		kspan_bpf_exit();
		kspan_rings_free();
		return ret;
	}

	pr_info("version %s loaded, ABI %u.%u, %u rings of %lu bytes\n",
		KSPAN_MODULE_VERSION, KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR,
		num_possible_cpus(), ring_size);
	return 0;
}

static void __exit kspan_exit(void)
{
	/* Open files pin the module: no producer or consumer is left. */
	kspan_chrdev_unregister();
	kspan_sring_exit();
	kspan_debugfs_exit();
	kspan_bpf_exit();
	kspan_rings_free();
}

module_init(kspan_init);
module_exit(kspan_exit);

MODULE_DESCRIPTION("kspan: span transport from producers to a tracing exporter");
MODULE_LICENSE("GPL");
MODULE_VERSION(KSPAN_MODULE_VERSION);
