// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the consumer. One file at a time, opened by a CAP_SYS_ADMIN
 * process, attaches as consumer; it maps the rings, waits with poll and
 * releases what it has processed. Closing the file detaches it and leaves
 * the rings' contents for the next consumer.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "kspan.h"

static bool kspan_is_consumer(struct file *file)
{
	struct kspan_file *kf = file->private_data;

	return READ_ONCE(kf->consumer);
}

long kspan_ioctl_consumer_attach(struct file *file)
{
	struct kspan_file *kf = file->private_data;
	long ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	mutex_lock(&kspan_dev.consumer_lock);
	if (kspan_dev.consumer == file) {
		ret = -EALREADY;
	} else if (kspan_dev.consumer) {
		ret = -EBUSY;
	} else {
		kspan_dev.consumer = file;
		WRITE_ONCE(kf->consumer, true);
	}
	mutex_unlock(&kspan_dev.consumer_lock);
	return ret;
}

/* From the file's release: the last reference is gone, mappings too. */
void kspan_consumer_detach(struct file *file)
{
	mutex_lock(&kspan_dev.consumer_lock);
	if (kspan_dev.consumer == file)
		kspan_dev.consumer = NULL;
	mutex_unlock(&kspan_dev.consumer_lock);
}

long kspan_ioctl_ring_info(struct file *file, void __user *uarg)
{
	struct kspan_ring_info info;

	if (!kspan_is_consumer(file))
		return -EPERM;
	memset(&info, 0, sizeof(info));
	info.nr_rings = kspan_dev.nr_rings;
	info.record_max = kspan_dev.record_max;
	info.data_size = kspan_dev.ring_size;
	info.page_size = PAGE_SIZE;
	info.consumer_off = 0;
	info.producer_off = PAGE_SIZE;
	info.data_off = 2 * PAGE_SIZE;
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static void kspan_release_one(struct kspan_ring *ring)
{
	if (ring)
		kspan_ring_advance_consumer(ring);
}

long kspan_ioctl_release(struct file *file, unsigned long arg)
{
	unsigned int i;

	if (!kspan_is_consumer(file))
		return -EPERM;
	if (arg != KSPAN_RELEASE_ALL &&
	    (arg >= kspan_dev.nr_rings || !kspan_dev.rings[arg]))
		return -EINVAL;

	mutex_lock(&kspan_dev.consumer_lock);
	if (arg == KSPAN_RELEASE_ALL) {
		for (i = 0; i < kspan_dev.nr_rings; i++)
			kspan_release_one(kspan_dev.rings[i]);
	} else {
		kspan_release_one(kspan_dev.rings[arg]);
	}
	mutex_unlock(&kspan_dev.consumer_lock);
	return 0;
}

/*
 * Ring i lives at offset i * KSPAN_MMAP_RING_STRIDE. Only its first page,
 * the consumer page, may be mapped writable; the rest is read-only and can
 * never be made writable with mprotect.
 */
int kspan_consumer_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 ring_idx = start / KSPAN_MMAP_RING_STRIDE;
	u64 off = start % KSPAN_MMAP_RING_STRIDE;
	struct kspan_ring *ring;

	if (!kspan_is_consumer(file))
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (ring_idx >= kspan_dev.nr_rings)
		return -EINVAL;
	ring = kspan_dev.rings[ring_idx];
	if (!ring)
		return -ENXIO;
	if (vma->vm_flags & VM_WRITE) {
		if (off != 0 || vma->vm_end - vma->vm_start != PAGE_SIZE)
			return -EPERM;
	} else if (off == 0 && vma->vm_end - vma->vm_start == PAGE_SIZE) {
		/* The consumer page alone, read-only for now: may become rw. */
	} else {
		kspan_vm_flags_clear(vma, VM_MAYWRITE);
	}
	/* Checks that the range lies within the ring's area. */
	return remap_vmalloc_range(vma, ring->area, off >> PAGE_SHIFT);
}

__poll_t kspan_consumer_poll(struct file *file, struct poll_table_struct *pt)
{
	__poll_t mask = 0;
	unsigned int i;

	if (!kspan_is_consumer(file))
		return EPOLLERR;

	poll_wait(file, &kspan_dev.consumer_wq, pt);
	mutex_lock(&kspan_dev.consumer_lock);
	for (i = 0; i < kspan_dev.nr_rings; i++) {
		struct kspan_ring *ring = kspan_dev.rings[i];

		if (!ring)
			continue;
		/* Releases what the consumer page says was processed. */
		kspan_ring_advance_consumer(ring);
		if (kspan_ring_readable(ring))
			mask |= EPOLLIN | EPOLLRDNORM;
	}
	mutex_unlock(&kspan_dev.consumer_lock);
	return mask;
}
