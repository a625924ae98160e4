// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: producers through ioctl (KSPAN_IOC_SUBMIT, KSPAN_IOC_SUBMIT_BATCH)
 * and what they do when a ring is full.
 *
 * A record is copied from user memory into a kernel buffer and validated
 * there before any ring space is reserved: no reservation is ever held
 * across a user access or a sleep.
 *
 * Full ring, blocking policy: the producer sleeps on the ring's space_wq
 * until kspan_ring_advance_consumer() frees space and wakes all waiters.
 * wait_event_*() queues the task before it re-evaluates the condition, so
 * a release racing with the check is never missed (barrier E in ring.c).
 * A woken producer starts over on whatever CPU it runs on by then.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "kspan.h"

static struct kspan_ring *kspan_ring_here(void)
{
	/* Any ring is safe to write; this one is merely likely local. */
	return kspan_ring_of(raw_smp_processor_id());
}

/*
 * Records up to this size are copied to the stack: most spans are small,
 * and a heap buffer per call costs more than the rest of a submit (Debian
 * kernels zero every allocation: init_on_alloc).
 */
#define KSPAN_STACK_RECORD	256

/*
 * Fetch one record of at most @room bytes from @usrc into @buf of @cap
 * bytes and validate it. Returns its length, -ENOBUFS when it is longer
 * than @cap (the caller retries with a larger buffer), or -errno.
 */
static long kspan_fetch_record(const void __user *usrc, u64 room, void *buf,
			       u32 cap)
{
	struct kspan_record_header hdr;
	int ret;

	if (room < sizeof(hdr))
		return -EINVAL;
	if (copy_from_user(&hdr, usrc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.len > kspan_dev.record_max)
		return -EMSGSIZE;
	if (hdr.len < KSPAN_SPAN_MIN_LEN || hdr.len > room)
		return -EINVAL;
	if (hdr.len > cap)
		return -ENOBUFS;
	if (copy_from_user(buf, usrc, hdr.len))
		return -EFAULT;
	/* Validates the copy: a length changed since the first read fails. */
	ret = kspan_record_validate(buf, hdr.len, kspan_dev.record_max);
	if (ret)
		return ret;
	return hdr.len;
}

/*
 * Write one validated record, applying the file's full-ring policy. @id is
 * the caller's identity, filled once per ioctl; it is refreshed after a
 * wait, so the submit time is when the span was accepted.
 */
static int kspan_produce(struct file *file, const void *rec, u32 len,
			 unsigned long deadline, struct kspan_identity *id)
{
	struct kspan_file *kf = file->private_data;
	u32 policy = READ_ONCE(kf->policy);
	bool timed = READ_ONCE(kf->timeout_ns) != 0;
	struct kspan_ring *ring;
	long left;
	int ret;

	for (;;) {
		ring = kspan_ring_here();
		ret = kspan_ring_write(ring, rec, len, id);
		if (ret != -ENOSPC)
			return ret;

		if (policy == KSPAN_FULL_DROP) {
			kspan_ring_drop(ring, false);
			return 0;
		}
		if (policy == KSPAN_FULL_EAGAIN || (file->f_flags & O_NONBLOCK)) {
			atomic64_inc(&ring->stats.full_eagain);
			return -EAGAIN;
		}

		atomic64_inc(&ring->stats.blocked);
		if (timed) {
			left = (long)(deadline - jiffies);
			if (left > 0)
				left = wait_event_interruptible_timeout
					(ring->space_wq,
					 kspan_ring_has_room(ring, len), left);
			if (left == 0) {
				atomic64_inc(&ring->stats.full_timeout);
				return -ETIMEDOUT;
			}
		} else {
			left = wait_event_interruptible(ring->space_wq,
							kspan_ring_has_room(ring, len));
		}
		if (left < 0) {
			atomic64_inc(&ring->stats.interrupted);
			return -ERESTARTSYS;
		}
		/* Retry from the top: the space may be gone, the CPU changed. */
		kspan_identity_fill(id);
	}
}

static unsigned long kspan_deadline(struct file *file)
{
	struct kspan_file *kf = file->private_data;

	return jiffies + nsecs_to_jiffies(READ_ONCE(kf->timeout_ns));
}

long kspan_ioctl_submit(struct file *file, void __user *uarg)
{
	struct kspan_ring *ring = kspan_ring_here();
	u8 stack_buf[KSPAN_STACK_RECORD] __aligned(8);
	struct kspan_identity id;
	void *buf = stack_buf;
	long len;
	int ret;

	atomic64_inc(&ring->stats.submitted);
	len = kspan_fetch_record(uarg, U32_MAX, buf, sizeof(stack_buf));
	if (len == -ENOBUFS) {
		buf = kmalloc(kspan_dev.record_max, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		len = kspan_fetch_record(uarg, U32_MAX, buf, kspan_dev.record_max);
	}
	if (len < 0) {
		atomic64_inc(&ring->stats.rejected);
		ret = len;
	} else {
		kspan_identity_fill(&id);
		ret = kspan_produce(file, buf, len, kspan_deadline(file), &id);
	}
	if (buf != stack_buf)
		kfree(buf);
	return ret;
}

long kspan_ioctl_submit_batch(struct file *file, void __user *uarg)
{
	struct kspan_submit_batch __user *ubatch = uarg;
	struct kspan_submit_batch batch;
	unsigned long deadline = kspan_deadline(file);
	struct kspan_identity id;
	const u8 __user *records;
	struct kspan_ring *ring;
	u32 accepted = 0;
	u64 off = 0;
	long len = 0;
	void *buf;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.__reserved0 || batch.__reserved[0] || batch.__reserved[1])
		return -EINVAL;
	records = u64_to_user_ptr(batch.records);

	buf = kmalloc(kspan_dev.record_max, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kspan_identity_fill(&id);
	while (accepted < batch.count) {
		ring = kspan_ring_here();
		atomic64_inc(&ring->stats.submitted);
		len = kspan_fetch_record(records + off, batch.len - off, buf,
					 kspan_dev.record_max);
		if (len < 0) {
			atomic64_inc(&ring->stats.rejected);
			break;
		}
		len = kspan_produce(file, buf, len, deadline, &id);
		if (len < 0)
			break;
		accepted++;
		off += KSPAN_REC_TOTAL(((struct kspan_record_header *)buf)->len);
		if (off > batch.len)
			off = batch.len;
		if (!(accepted % 16))
			cond_resched();
	}
	kfree(buf);

	if (put_user(accepted, &ubatch->accepted))
		return -EFAULT;
	return accepted ? accepted : len;
}

long kspan_ioctl_producer_opts(struct file *file, void __user *uarg)
{
	struct kspan_file *kf = file->private_data;
	struct kspan_producer_opts opts;

	if (copy_from_user(&opts, uarg, sizeof(opts)))
		return -EFAULT;
	if (opts.__reserved0 || opts.__reserved[0] || opts.__reserved[1])
		return -EINVAL;
	if (opts.policy > KSPAN_FULL_DROP)
		return -EINVAL;
	if (opts.timeout_ns && opts.policy != KSPAN_FULL_BLOCK)
		return -EINVAL;
	WRITE_ONCE(kf->policy, opts.policy);
	WRITE_ONCE(kf->timeout_ns, opts.timeout_ns);
	return 0;
}
