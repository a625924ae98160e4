// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the /dev/kspan character device and its ioctl dispatch.
 *
 * The device is world-accessible because any process may produce spans;
 * operations that need privilege check it themselves.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kspan.h"

static long kspan_ioctl_version(struct kspan_version __user *uver)
{
	struct kspan_version ver;

	/* Zero everything first: no stack bytes may reach user space. */
	memset(&ver, 0, sizeof(ver));
	ver.abi_major = KSPAN_ABI_MAJOR;
	ver.abi_minor = KSPAN_ABI_MINOR;
	strscpy(ver.module_version, KSPAN_MODULE_VERSION,
		sizeof(ver.module_version));

	if (copy_to_user(uver, &ver, sizeof(ver)))
		return -EFAULT;
	return 0;
}

static long kspan_unlocked_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KSPAN_IOC_VERSION:
		return kspan_ioctl_version(uarg);
	default:
		return -ENOTTY;
	}
}

static int kspan_open(struct inode *inode, struct file *file)
{
	return stream_open(inode, file);
}

/* .owner pins the module while a file is open: rmmod then fails cleanly. */
static const struct file_operations kspan_fops = {
	.owner		= THIS_MODULE,
	.open		= kspan_open,
	.unlocked_ioctl	= kspan_unlocked_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kspan_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "kspan",
	.fops	= &kspan_fops,
	.mode	= 0666,
};

int kspan_chrdev_register(void)
{
	return misc_register(&kspan_miscdev);
}

void kspan_chrdev_unregister(void)
{
	misc_deregister(&kspan_miscdev);
}
