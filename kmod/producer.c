// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: producers through ioctl (KSPAN_IOC_SUBMIT, KSPAN_IOC_SUBMIT_BATCH)
 * and what they do when a ring is full.
 *
 * A record is copied from user memory into a kernel buffer and validated
 * there before any ring space is reserved: no reservation is ever held
 * across a user access or a sleep. Exactly the record's bytes are read.
 *
 * Full ring, blocking policy: the producer sleeps on the ring's space_wq
 * until kspan_ring_advance_consumer() frees space and wakes all waiters.
 * kspan_wait_for_room() queues the task before it re-evaluates the
 * condition, so a release racing with the check is never missed (barrier
 * E in ring.c). A woken producer starts over on whatever CPU it runs on by
 * then. A signal ends a timed wait with -EINTR (never restarted: a
 * timeout must not start over) and an untimed one with -ERESTARTSYS
 * (restarted under SA_RESTART: nothing was written); a timeout, already
 * passed or reached while waiting, with -ETIMEDOUT.
 *
 * Accounting: each record offered reaches one outcome, counted with its
 * offer on the ring where it happened (struct kspan_stats).
 */
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "kspan.h"

/* Where a refusal that involves no ring is counted: any ring will do. */
static struct kspan_ring *kspan_ring_here(void)
{
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
 * Sleep until @ring has room for a record of @len, at most until
 * @deadline (CLOCK_MONOTONIC; KTIME_MAX: no limit). Returns 0 when there
 * is room, -ETIMEDOUT once the deadline has passed (never before: an
 * hrtimer, not a jiffies count that may end up to a tick early), or -EINTR
 * when a signal is pending. Each time the task goes to sleep counts as
 * blocked, before it sleeps, so that the counter shows a producer that is
 * waiting now; a condition that holds at once does not count.
 */
int kspan_wait_for_room(struct kspan_ring *ring, u32 len, ktime_t deadline)
{
	bool timed = deadline != KTIME_MAX;
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		/* E: queued (full barrier) before the condition is read. */
		prepare_to_wait(&ring->space_wq, &wait, TASK_INTERRUPTIBLE);
		if (kspan_ring_has_room(ring, len))
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (timed && ktime_compare(ktime_get(), deadline) >= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		atomic64_inc(&ring->stats.blocked);
		if (timed)
			schedule_hrtimeout_range(&deadline, current->timer_slack_ns,
						 HRTIMER_MODE_ABS);
		else
			schedule();
	}
	finish_wait(&ring->space_wq, &wait);
	return ret;
}

/*
 * Write @n validated records, back to back at @recs, applying the file's
 * full-ring policy. @id is the caller's identity, filled once per ioctl and
 * refreshed after a wait, so the submit time is when a span was accepted.
 * Returns how many records were taken (written, or dropped by the drop
 * policy), or -errno when none was. Counts every record it took, and the
 * outcome of the one it refused, if any, on the ring that refused it.
 *
 * A signal ends a timed wait with -EINTR: restarting it would start its
 * timeout over. An untimed wait ends with -ERESTARTSYS, so that stop and
 * continue, the freezer or an SA_RESTART handler restart the call (which
 * offers the record again); without SA_RESTART the caller sees -EINTR.
 */
static long kspan_produce(struct file *file, const void *recs, unsigned int n,
			  ktime_t deadline, struct kspan_identity *id)
{
	struct kspan_file *kf = file->private_data;
	u32 policy = READ_ONCE(kf->policy);
	bool timed = deadline != KTIME_MAX;
	const struct kspan_record_header *hdr;
	struct kspan_ring *ring;
	long done = 0;
	int ret;

	for (;;) {
		done += kspan_ring_write_many(&recs, n - done, id, &ring, NULL);
		if (done == n)
			return n;
		hdr = recs;

		/* @ring is full for the record at @recs. */
		if (policy == KSPAN_FULL_DROP) {
			kspan_ring_drop(ring, KSPAN_DROP_POLICY);
			done++;
			recs = kspan_next_record(recs);
			if (done == n)
				return n;
			continue;
		}
		if (policy == KSPAN_FULL_EAGAIN || (file->f_flags & O_NONBLOCK)) {
			kspan_count(ring, &ring->stats.full_eagain);
			return done ? done : -EAGAIN;
		}

		ret = kspan_wait_for_room(ring, hdr->len, deadline);
		if (ret == -ETIMEDOUT) {
			kspan_count(ring, &ring->stats.full_timeout);
			return done ? done : ret;
		}
		if (ret == -EINTR) {
			kspan_count(ring, &ring->stats.interrupted);
			return done ? done : timed ? -EINTR : -ERESTARTSYS;
		}
		/* Retry from the top: the space may be gone, the CPU changed. */
		kspan_identity_fill(id);
	}
}

/* When the file's timed wait ends, or KTIME_MAX for an untimed one. */
ktime_t kspan_deadline(struct file *file)
{
	struct kspan_file *kf = file->private_data;
	u64 timeout_ns = READ_ONCE(kf->timeout_ns);

	if (!timeout_ns)
		return KTIME_MAX;
	/*
	 * ktime_add_safe() saturates below KTIME_MAX, the untimed sentinel:
	 * a timeout of centuries is still a timed wait (ended by a signal).
	 */
	return min(ktime_add_safe(ktime_get(),
				  ns_to_ktime(min_t(u64, timeout_ns, KTIME_MAX))),
		   KTIME_MAX - 1);
}

long kspan_ioctl_submit(struct file *file, void __user *uarg)
{
	struct kspan_ring *ring;
	/*
	 * Not cleared on entry (CONFIG_INIT_STACK_ALL_ZERO would clear it on
	 * every call): only bytes copied from the producer are ever read.
	 */
	u8 stack_buf[KSPAN_STACK_RECORD] __aligned(8) __uninitialized;
	struct kspan_record_header *hdr = (void *)stack_buf;
	struct kspan_file *kf = file->private_data;
	struct kspan_identity id;
	void *buf = stack_buf;
	bool shared = false;
	long ret;

	/*
	 * The header first, then exactly the rest of the record: not a byte
	 * past it is read, whatever lies there (on an architecture with
	 * tagged memory, reading past an object faults).
	 */
	if (copy_from_user(hdr, uarg, sizeof(*hdr))) {
		ret = -EFAULT;
		goto rejected;
	}
	ret = kspan_check_copied(hdr, sizeof(*hdr), U32_MAX);
	if (ret < 0)
		goto rejected;
	if (hdr->len > sizeof(stack_buf)) {
		buf = kspan_copy_buf_get(kf, &shared);
		if (!buf) {
			/* Counted with the refused: it was offered. */
			buf = stack_buf;
			ret = -ENOMEM;
			goto rejected;
		}
		memcpy(buf, hdr, sizeof(*hdr));
		hdr = buf;
	}
	if (copy_from_user(buf + sizeof(*hdr), uarg + sizeof(*hdr),
			   hdr->len - sizeof(*hdr))) {
		ret = -EFAULT;
		goto rejected;
	}
	ret = kspan_check_copied(buf, hdr->len, hdr->len);
	if (ret < 0)
		goto rejected;

	kspan_identity_fill(&id);
	ret = kspan_produce(file, buf, 1, kspan_deadline(file), &id);
	if (ret > 0)
		ret = 0;
	goto out;

rejected:
	ring = kspan_ring_here();
	kspan_count(ring, &ring->stats.rejected);
out:
	if (buf != stack_buf)
		kspan_copy_buf_put(kf, buf, shared);
	return ret;
}

long kspan_ioctl_submit_batch(struct file *file, void __user *uarg)
{
	struct kspan_submit_batch __user *ubatch = uarg;
	struct kspan_file *kf = file->private_data;
	ktime_t deadline = kspan_deadline(file);
	struct kspan_submit_batch batch;
	struct kspan_identity id;
	const u8 __user *records;
	struct kspan_ring *ring;
	u32 accepted = 0, n, cap;
	u64 off = 0, have, p, room;
	long len, ret = 0;
	bool shared;
	void *buf;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.__reserved0 || batch.__reserved[0] || batch.__reserved[1])
		return -EINVAL;
	records = u64_to_user_ptr(batch.records);

	buf = kspan_copy_buf_get(kf, &shared);
	if (!buf) {
		/* The first record was offered, and refused. */
		ring = kspan_ring_here();
		kspan_count(ring, &ring->stats.rejected);
		return -ENOMEM;
	}
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
			/* Past @len by padding: no room for a further record. */
			room = off + p < batch.len ? batch.len - off - p : 0;
			len = kspan_check_copied(buf + p, have - p, room);
			if (len <= 0)
				break;
		}
		if (!n) {
			/*
			 * The first record is bad, or not whole in a chunk
			 * that can hold any record: its memory faulted.
			 */
			ring = kspan_ring_here();
			kspan_count(ring, &ring->stats.rejected);
			ret = len ? len : -EFAULT;
			break;
		}

		ret = kspan_produce(file, buf, n, deadline, &id);
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
