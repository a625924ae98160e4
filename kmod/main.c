// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: carries spans (timed, named units of work with trace ids and
 * attributes) from producers in user space, the kernel and BPF to a
 * user-space exporter.
 *
 * This file holds module load and unload; every concern lives in a file
 * of its own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "kspan.h"

static int __init kspan_init(void)
{
	int ret;

	ret = kspan_chrdev_register();
	if (ret)
		return ret;

	pr_info("version %s loaded, ABI %u.%u\n", KSPAN_MODULE_VERSION,
		KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR);
	return 0;
}

static void __exit kspan_exit(void)
{
	kspan_chrdev_unregister();
}

module_init(kspan_init);
module_exit(kspan_exit);

MODULE_DESCRIPTION("kspan: span transport from producers to a tracing exporter");
MODULE_LICENSE("GPL");
MODULE_VERSION(KSPAN_MODULE_VERSION);
