// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the consumer. One file at a time, opened by a CAP_SYS_ADMIN
 * process or a member of the consumer group (module parameter
 * consumer_gid), attaches as consumer; it maps the rings, waits with poll
 * and releases what it has processed. Closing the file detaches it and
 * leaves the rings' contents for the next consumer.
 */
#include <linux/capability.h>
#include <linux/cred.h>
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

/* Members of the consumer group need no capability. */
static bool kspan_may_consume(void)
{
	if (gid_valid(kspan_dev.consumer_gid) && in_group_p(kspan_dev.consumer_gid))
		return true;
	return capable(CAP_SYS_ADMIN);
}

long kspan_ioctl_consumer_attach(struct file *file)
{
	struct kspan_file *kf = file->private_data;
	unsigned int i;
	long ret = 0;

	if (!kspan_may_consume())
		return -EPERM;
	mutex_lock(&kspan_dev.consumer_lock);
	if (kspan_dev.consumer == file) {
		ret = -EALREADY;
	} else if (kspan_file_has_sring(file)) {
		/* Its mmap offsets are taken by its submission ring. */
		ret = -EBUSY;
	} else if (kspan_dev.consumer) {
		ret = -EBUSY;
	} else {
		for (i = 0; i < kspan_dev.nr_rings; i++)
			if (kspan_dev.rings[i])
				kspan_ring_attach_consumer(kspan_dev.rings[i]);
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
 * never be made writable with mprotect. Producers write the data: no ring
 * mapping may ever be executable.
 */
int kspan_consumer_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 ring_idx = start / KSPAN_MMAP_RING_STRIDE;
	u64 off = start % KSPAN_MMAP_RING_STRIDE;
	struct kspan_ring *ring;

	if (!kspan_is_consumer(file))
		return -EPERM;
	/*
	 * VM_MAYSHARE, not VM_SHARED: a shared mapping of a file opened
	 * read-only has VM_SHARED cleared, and may still map read-only.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (ring_idx >= kspan_dev.nr_rings)
		return -EINVAL;
	ring = kspan_dev.rings[ring_idx];
	if (!ring)
		return -ENXIO;
	if (vma->vm_flags & VM_WRITE) {
		if (off != 0 || vma->vm_end - vma->vm_start != PAGE_SIZE)
			return -EPERM;
		kspan_vm_flags_clear(vma, VM_MAYEXEC);
	} else if (off == 0 && vma->vm_end - vma->vm_start == PAGE_SIZE) {
		/* The consumer page alone, read-only for now: may become rw. */
		kspan_vm_flags_clear(vma, VM_MAYEXEC);
	} else {
		kspan_vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
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
	/* Releases what the consumer page says was processed. */
	for (i = 0; i < kspan_dev.nr_rings; i++)
		if (kspan_dev.rings[i])
			kspan_ring_advance_consumer(kspan_dev.rings[i]);
	/*
	 * F (ring.c): the consumer's stores of read_pos (before this call) and
	 * of cons_view (just above), and our queueing on consumer_wq, come
	 * before the loads of producer_pos and record flags below. Pairs with
	 * the smp_mb() in kspan_ring_wake_reader().
	 */
	smp_mb();
	for (i = 0; i < kspan_dev.nr_rings; i++)
		if (kspan_dev.rings[i] && kspan_ring_readable(kspan_dev.rings[i]))
			mask |= EPOLLIN | EPOLLRDNORM;
	mutex_unlock(&kspan_dev.consumer_lock);
	return mask;
}
