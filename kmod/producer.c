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
#include <linux/mm.h>
#include <linux/sizes.h>
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
 * A batch is copied from user memory this many bytes at a time (more if
 * record_max is larger, so that any record fits): one user copy and one
 * ring lock acquisition serve a run of records.
 */
#define KSPAN_COPY_CHUNK	SZ_8K

static u32 kspan_copy_buf_size(void)
{
	return max_t(u32, KSPAN_COPY_CHUNK, kspan_dev.record_max);
}

/*
 * The file's copy buffer, or, while another thread of the same file holds
 * it, a buffer of the caller's own. *@shared says which; release with
 * kspan_copy_buf_put().
 */
static void *kspan_copy_buf_get(struct kspan_file *kf, bool *shared)
{
	*shared = mutex_trylock(&kf->copy_lock);
	if (!*shared)
		return kvmalloc(kspan_copy_buf_size(), GFP_KERNEL_ACCOUNT);
	if (!kf->copy_buf)
		kf->copy_buf = kvmalloc(kspan_copy_buf_size(), GFP_KERNEL_ACCOUNT);
	if (!kf->copy_buf) {
		mutex_unlock(&kf->copy_lock);
		*shared = false;
	}
	return kf->copy_buf;
}

static void kspan_copy_buf_put(struct kspan_file *kf, void *buf, bool shared)
{
	if (shared)
		mutex_unlock(&kf->copy_lock);
	else
		kvfree(buf);
}

void kspan_file_release_producer(struct kspan_file *kf)
{
	kvfree(kf->copy_buf);
	mutex_destroy(&kf->copy_lock);
}

/*
 * Check the record at @rec, of which @have bytes were copied from user
 * memory, with @room bytes left in what the producer handed in. Returns its
 * length, 0 when it is not all in @have, or -errno.
 */
static long kspan_check_copied(const void *rec, u64 have, u64 room)
{
	const struct kspan_record_header *hdr = rec;
	int ret;

	if (room < sizeof(*hdr))
		return -EINVAL;
	if (have < sizeof(*hdr))
		return 0;
	if (hdr->len > kspan_dev.record_max)
		return -EMSGSIZE;
	if (hdr->len < KSPAN_SPAN_MIN_LEN || hdr->len > room)
		return -EINVAL;
	if (hdr->len > have)
		return 0;
	ret = kspan_record_validate(rec, hdr->len, kspan_dev.record_max);
	if (ret)
		return ret;
	return hdr->len;
}

/*
 * Write @n validated records, back to back at @recs, applying the file's
 * full-ring policy. @id is the caller's identity, filled once per ioctl and
 * refreshed after a wait, so the submit time is when a span was accepted.
 * Returns how many records were taken (written, or dropped by the drop
 * policy), or -errno when none was.
 */
static long kspan_produce(struct file *file, const void *recs, unsigned int n,
			  unsigned long deadline, struct kspan_identity *id)
{
	struct kspan_file *kf = file->private_data;
	u32 policy = READ_ONCE(kf->policy);
	bool timed = READ_ONCE(kf->timeout_ns) != 0;
	const struct kspan_record_header *hdr;
	struct kspan_ring *ring;
	long done = 0;
	long left;

	for (;;) {
		ring = kspan_ring_here();
		done += kspan_ring_write_many(ring, &recs, n - done, id);
		if (done == n)
			return n;
		hdr = recs;

		/* The ring is full for the record at @recs. */
		if (policy == KSPAN_FULL_DROP) {
			kspan_ring_drop(ring, false);
			done++;
			recs = kspan_next_record(recs);
			if (done == n)
				return n;
			continue;
		}
		if (policy == KSPAN_FULL_EAGAIN || (file->f_flags & O_NONBLOCK)) {
			atomic64_inc(&ring->stats.full_eagain);
			return done ? done : -EAGAIN;
		}

		atomic64_inc(&ring->stats.blocked);
		if (timed) {
			left = (long)(deadline - jiffies);
			if (left > 0)
				left = wait_event_interruptible_timeout
					(ring->space_wq,
					 kspan_ring_has_room(ring, hdr->len), left);
			if (left == 0) {
				atomic64_inc(&ring->stats.full_timeout);
				return done ? done : -ETIMEDOUT;
			}
		} else {
			left = wait_event_interruptible(ring->space_wq,
							kspan_ring_has_room(ring, hdr->len));
		}
		if (left < 0) {
			atomic64_inc(&ring->stats.interrupted);
			return done ? done : -ERESTARTSYS;
		}
		/* Retry from the top: the space may be gone, the CPU changed. */
		kspan_identity_fill(id);
	}
}

static unsigned long kspan_deadline(struct file *file)
{
	struct kspan_file *kf = file->private_data;
	u64 timeout_ns = READ_ONCE(kf->timeout_ns);

	/* Only timed waits use it: skip the conversion for the others. */
	return jiffies + (timeout_ns ? nsecs_to_jiffies(timeout_ns) : 0);
}

/*
 * How much of a single record to copy before its length is known: what the
 * stack buffer holds, but never past the page the record starts in (unless
 * the header itself crosses into the next one). Bytes past the record in
 * that page are the caller's own and are not used; a page that holds the
 * header cannot fault where the header did not. strncpy_from_user() reads
 * ahead within a page for the same reason: one user access, not two.
 */
static size_t kspan_first_copy(const void __user *uarg, size_t cap)
{
	size_t in_page = PAGE_SIZE - offset_in_page(uarg);

	return max(min(cap, in_page), sizeof(struct kspan_record_header));
}

long kspan_ioctl_submit(struct file *file, void __user *uarg)
{
	struct kspan_ring *ring = kspan_ring_here();
	/*
	 * Not cleared on entry (CONFIG_INIT_STACK_ALL_ZERO would clear it on
	 * every call): only bytes copied from the producer are ever read.
	 */
	u8 stack_buf[KSPAN_STACK_RECORD] __aligned(8) __uninitialized;
	struct kspan_record_header *hdr = (void *)stack_buf;
	size_t have = kspan_first_copy(uarg, sizeof(stack_buf));
	struct kspan_file *kf = file->private_data;
	struct kspan_identity id;
	void *buf = stack_buf;
	bool shared = false;
	long ret;

	atomic64_inc(&ring->stats.submitted);
	/*
	 * Mostly the whole buffer: a copy of constant size is bounds-checked
	 * when compiled, and skips the hardened-usercopy check at run time.
	 */
	if (have == sizeof(stack_buf))
		ret = copy_from_user(stack_buf, uarg, sizeof(stack_buf));
	else
		ret = copy_from_user(stack_buf, uarg, have);
	if (ret) {
		ret = -EFAULT;
		goto rejected;
	}
	ret = kspan_check_copied(stack_buf, have, U32_MAX);
	if (ret < 0)
		goto rejected;
	if (!ret) {
		/* Longer than the first copy: fetch the rest after it. */
		if (hdr->len > sizeof(stack_buf)) {
			buf = kspan_copy_buf_get(kf, &shared);
			if (!buf) {
				/* Counted with the refused: it was offered. */
				buf = stack_buf;
				ret = -ENOMEM;
				goto rejected;
			}
			memcpy(buf, stack_buf, have);
			hdr = buf;
		}
		if (copy_from_user(buf + have, uarg + have, hdr->len - have)) {
			ret = -EFAULT;
			goto rejected;
		}
		ret = kspan_check_copied(buf, hdr->len, hdr->len);
		if (ret < 0)
			goto rejected;
	}
	kspan_identity_fill(&id);
	ret = kspan_produce(file, buf, 1, kspan_deadline(file), &id);
	if (ret > 0)
		ret = 0;
	goto out;

rejected:
	atomic64_inc(&ring->stats.rejected);
out:
	if (buf != stack_buf)
		kspan_copy_buf_put(kf, buf, shared);
	return ret;
}

long kspan_ioctl_submit_batch(struct file *file, void __user *uarg)
{
	struct kspan_submit_batch __user *ubatch = uarg;
	struct kspan_file *kf = file->private_data;
	unsigned long deadline = kspan_deadline(file);
	struct kspan_submit_batch batch;
	struct kspan_identity id;
	const u8 __user *records;
	struct kspan_ring *ring;
	u32 accepted = 0, n, cap;
	u64 off = 0, have, p;
	long len, taken, ret = 0;
	bool shared;
	void *buf;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.__reserved0 || batch.__reserved[0] || batch.__reserved[1])
		return -EINVAL;
	records = u64_to_user_ptr(batch.records);

	buf = kspan_copy_buf_get(kf, &shared);
	if (!buf)
		return -ENOMEM;
	cap = kspan_copy_buf_size();
	kspan_identity_fill(&id);
	while (accepted < batch.count) {
		/*
		 * Copy a chunk starting at the first record not yet taken. A
		 * fault ends the chunk early: the records before it still count.
		 */
		have = off < batch.len ? min_t(u64, cap, batch.len - off) : 0;
		have -= copy_from_user(buf, records + off, have);

		/*
		 * Validate the records that are whole in the chunk. @p stays
		 * 8-aligned: it may pass @have by the last record's padding.
		 */
		len = 0;
		for (n = 0, p = 0; accepted + n < batch.count && (!n || p < have);
		     n++, p += KSPAN_REC_TOTAL(len)) {
			len = kspan_check_copied(buf + p, have - p,
						 batch.len - off - p);
			if (len <= 0)
				break;
		}
		if (!n) {
			/*
			 * The first record is bad, or not whole in a chunk
			 * that can hold any record: its memory faulted.
			 */
			ring = kspan_ring_here();
			atomic64_inc(&ring->stats.submitted);
			atomic64_inc(&ring->stats.rejected);
			ret = len ? len : -EFAULT;
			break;
		}

		ret = kspan_produce(file, buf, n, deadline, &id);
		taken = max(ret, 0L);
		/* Those taken, and the one that met a full ring, if any. */
		atomic64_add(taken + (taken < n), &kspan_ring_here()->stats.submitted);
		if (ret < 0)
			break;
		accepted += ret;
		if (ret < n)
			break;
		/* A bad record after these is copied again and reported. */
		off += p;
		/* A batch may be gigabytes: a killed producer stops here. */
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kspan_copy_buf_put(kf, buf, shared);

	if (put_user(accepted, &ubatch->accepted))
		return -EFAULT;
	return accepted ? accepted : ret;
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
