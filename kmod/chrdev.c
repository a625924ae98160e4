// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the /dev/kspan character device and its ioctl dispatch.
 *
 * The device is world-accessible because any process may produce spans;
 * operations that need privilege (attaching as consumer) check it
 * themselves.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
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
	case KSPAN_IOC_SUBMIT:
		return kspan_ioctl_submit(file, uarg);
	case KSPAN_IOC_SUBMIT_BATCH:
		return kspan_ioctl_submit_batch(file, uarg);
	case KSPAN_IOC_SET_PRODUCER_OPTS:
		return kspan_ioctl_producer_opts(file, uarg);
	case KSPAN_IOC_CONSUMER_ATTACH:
		return kspan_ioctl_consumer_attach(file);
	case KSPAN_IOC_RING_INFO:
		return kspan_ioctl_ring_info(file, uarg);
	case KSPAN_IOC_RELEASE:
		return kspan_ioctl_release(file, arg);
	case KSPAN_IOC_STATS:
		return kspan_ioctl_stats(uarg);
	default:
		return -ENOTTY;
	}
}

static long kspan_compat_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	/* The one by-value argument must not be mangled as a pointer. */
	if (cmd == KSPAN_IOC_RELEASE)
		return kspan_unlocked_ioctl(file, cmd, arg);
	return compat_ptr_ioctl(file, cmd, arg);
}

static int kspan_open(struct inode *inode, struct file *file)
{
	struct kspan_file *kf;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL);
	if (!kf)
		return -ENOMEM;
	kf->policy = KSPAN_FULL_BLOCK;
	mutex_init(&kf->copy_lock);
	file->private_data = kf;
	return stream_open(inode, file);
}

static int kspan_release(struct inode *inode, struct file *file)
{
	struct kspan_file *kf = file->private_data;

	if (kf->consumer)
		kspan_consumer_detach(file);
	kspan_file_release_producer(kf);
	kfree(kf);
	return 0;
}

/* .owner pins the module while a file is open: rmmod then fails cleanly. */
static const struct file_operations kspan_fops = {
	.owner		= THIS_MODULE,
	.open		= kspan_open,
	.release	= kspan_release,
	.unlocked_ioctl	= kspan_unlocked_ioctl,
	.compat_ioctl	= kspan_compat_ioctl,
	.mmap		= kspan_consumer_mmap,
	.poll		= kspan_consumer_poll,
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
