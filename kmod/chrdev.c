// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the /dev/kspan character device and its ioctl dispatch.
 *
 * By default the device is world-accessible because any process may
 * produce spans; operations that need privilege (attaching as consumer)
 * check it themselves. Its mode and group are module parameters, applied
 * by devtmpfs when the node is created (see kspan_devnode()).
 */
#include <linux/cdev.h>
#include <linux/compat.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
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

	/* A corrupt submission ring fails every later producer call. */
	switch (cmd) {
	case KSPAN_IOC_SUBMIT:
	case KSPAN_IOC_SUBMIT_BATCH:
	case KSPAN_IOC_SET_PRODUCER_OPTS:
	case KSPAN_IOC_SETUP_SUBMIT_RING:
	case KSPAN_IOC_FLUSH:
		if (kspan_sring_broken(file))
			return -EBADMSG;
		break;
	}

	switch (cmd) {
	case KSPAN_IOC_VERSION:
		return kspan_ioctl_version(uarg);
	case KSPAN_IOC_SUBMIT:
		return kspan_ioctl_submit(file, uarg);
	case KSPAN_IOC_SUBMIT_BATCH:
		return kspan_ioctl_submit_batch(file, uarg);
	case KSPAN_IOC_SET_PRODUCER_OPTS:
		return kspan_ioctl_producer_opts(file, uarg);
	case KSPAN_IOC_SETUP_SUBMIT_RING:
		return kspan_ioctl_setup_submit_ring(file, uarg);
	case KSPAN_IOC_FLUSH:
		return kspan_ioctl_flush(file, arg);
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

#ifdef CONFIG_COMPAT
static long kspan_compat_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	/* By-value arguments must not be mangled as pointers. */
	if (cmd == KSPAN_IOC_RELEASE || cmd == KSPAN_IOC_FLUSH)
		return kspan_unlocked_ioctl(file, cmd, arg);
	return compat_ptr_ioctl(file, cmd, arg);
}
#else
#define kspan_compat_ioctl NULL
#endif

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
	kspan_sring_release(kf);
	kspan_file_release_producer(kf);
	kfree(kf);
	return 0;
}

/* A producer's submission ring, or the consumer's rings: never both. */
static int kspan_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (kspan_file_has_sring(file))
		return kspan_sring_mmap(file, vma);
	return kspan_consumer_mmap(file, vma);
}

/* The consumer waits for records, a producer for submission ring space. */
static __poll_t kspan_poll(struct file *file, struct poll_table_struct *pt)
{
	struct kspan_file *kf = file->private_data;

	if (READ_ONCE(kf->consumer))
		return kspan_consumer_poll(file, pt);
	return kspan_sring_poll(file, pt);
}

/* .owner pins the module while a file is open: rmmod then fails cleanly. */
static const struct file_operations kspan_fops = {
	.owner		= THIS_MODULE,
	.open		= kspan_open,
	.release	= kspan_release,
	.unlocked_ioctl	= kspan_unlocked_ioctl,
	.compat_ioctl	= kspan_compat_ioctl,
	.mmap		= kspan_mmap,
	.poll		= kspan_poll,
	.llseek		= noop_llseek,
};

static dev_t kspan_devt;
static struct cdev kspan_cdev;
static struct device *kspan_device;
static umode_t kspan_node_mode;
static kgid_t kspan_node_gid;

/* devtmpfs asks this for the node's mode and owner when it creates it. */
static char *kspan_devnode(KSPAN_DEVNODE_CONST struct device *dev,
			   umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	if (mode)
		*mode = kspan_node_mode;
	if (gid)
		*gid = kspan_node_gid;
	return NULL;
}

static const struct device_type kspan_device_type = {
	.name = "kspan",
	.devnode = kspan_devnode,
};

static struct class kspan_class = {
	.name = "kspan",
};

static void kspan_device_release(struct device *dev)
{
	kfree(dev);
}

/**
 * kspan_chrdev_register - create /dev/kspan
 * @mode: permission bits of the node
 * @gid: group of the node
 *
 * Return: 0 or -errno.
 */
int kspan_chrdev_register(umode_t mode, kgid_t gid)
{
	int ret;

	kspan_node_mode = mode;
	kspan_node_gid = gid;
	ret = alloc_chrdev_region(&kspan_devt, 0, 1, "kspan");
	if (ret)
		return ret;
	ret = class_register(&kspan_class);
	if (ret)
		goto err_region;

	kspan_device = kzalloc(sizeof(*kspan_device), GFP_KERNEL);
	if (!kspan_device) {
		ret = -ENOMEM;
		goto err_class;
	}
	device_initialize(kspan_device);
	kspan_device->devt = kspan_devt;
	kspan_device->class = &kspan_class;
	kspan_device->type = &kspan_device_type;
	kspan_device->release = kspan_device_release;
	ret = dev_set_name(kspan_device, "kspan");
	if (ret)
		goto err_device;

	cdev_init(&kspan_cdev, &kspan_fops);
	kspan_cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&kspan_cdev, kspan_device);
	if (ret)
		goto err_device;
	return 0;

err_device:
	put_device(kspan_device);
err_class:
	class_unregister(&kspan_class);
err_region:
	unregister_chrdev_region(kspan_devt, 1);
	return ret;
}

void kspan_chrdev_unregister(void)
{
	cdev_device_del(&kspan_cdev, kspan_device);
	put_device(kspan_device);
	class_unregister(&kspan_class);
	unregister_chrdev_region(kspan_devt, 1);
}
