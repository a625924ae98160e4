// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: submission rings, written by a producer in its own memory and
 * moved by the module into the per-CPU rings (see <uapi/linux/kspan.h>).
 *
 * A submission ring belongs to one file. Its pages are the module's,
 * mapped into the producer: a head page the producer may only read, a tail
 * page and the data, both writable by it and so untrusted. The module
 * keeps the head itself (@head below) and publishes a copy; it reads the
 * tail once per move, bounds it, and copies records out of the data before
 * it looks at them, so that a producer rewriting them meanwhile changes
 * nothing the module checked.
 *
 * Movers: the file's own KSPAN_IOC_FLUSH, the worker (every flush
 * interval, and at once when a consumer frees space that a stalled move
 * waited for) and the file's release. @lock admits one at a time. A mover
 * never sleeps for space in a per-CPU ring, but KSPAN_IOC_FLUSH with
 * KSPAN_FLUSH_WAIT, outside @lock. Records it cannot move stay where they
 * are, so the producer's own ring fills.
 *
 * A ring whose file is released while records remain (the per-CPU rings
 * full) becomes an orphan: nobody maps it any more, and the worker moves
 * the rest and frees it. Module unload frees what is left.
 *
 * Barrier pairs:
 *  P  publish: the producer writes records, then store-releases tail;
 *     kspan_sring_move() load-acquires tail before copying them out.
 *  H  head: kspan_sring_move() copies records out, then store-releases
 *     head; the producer load-acquires head before reusing their space.
 *  W  EPOLLOUT: a mover stores head, then wq_has_sleeper() (full
 *     barrier); poll queues itself, then smp_mb(), then loads head. Either
 *     the mover sees the poller queued or the poller sees the new head.
 */
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "kspan.h"

struct kspan_sring {
	struct mutex lock;		/* one mover at a time; the fields below */
	u64 head;			/* the module's own; the page has a copy */
	u64 mask;
	bool corrupt;
	bool orphan;			/* its file is released */
	/* Who set it up: stamped into every record moved. */
	struct kspan_identity id;
	void *buf;			/* records are copied here, then checked */
	u32 buf_size;

	struct kspan_submit_head *head_page;
	struct kspan_submit_tail *tail_page;
	u8 *data;
	void *area;
	struct page **pages;
	unsigned int nr_pages;

	wait_queue_head_t space_wq;	/* pollers waiting for EPOLLOUT */
	struct list_head node;		/* on kspan_srings */
};

/* Every submission ring, for the worker; then each ring's own lock. */
static DEFINE_MUTEX(kspan_srings_lock);
static LIST_HEAD(kspan_srings);
static void kspan_sring_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kspan_sring_work, kspan_sring_work_fn);
/* A move stopped at a full per-CPU ring: freed space should kick the worker. */
static atomic_t kspan_srings_stalled = ATOMIC_INIT(0);

static u64 kspan_sring_size(const struct kspan_sring *sr)
{
	return sr->mask + 1;
}

static void kspan_sring_free(struct kspan_sring *sr)
{
	unsigned int i;

	vunmap(sr->area);
	for (i = 0; i < sr->nr_pages; i++)
		__free_page(sr->pages[i]);
	kvfree(sr->pages);
	kvfree(sr->buf);
	mutex_destroy(&sr->lock);
	kfree(sr);
}

/*
 * Pages charged to the producer's memory cgroup: the ring is its memory.
 * Laid out as the consumer rings are: two pages, then the data twice.
 */
static struct kspan_sring *kspan_sring_alloc(u32 size)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN;
	unsigned int nr_data = size >> PAGE_SHIFT, i;
	struct kspan_sring *sr;
	struct page *page;

	sr = kzalloc(sizeof(*sr), GFP_KERNEL_ACCOUNT);
	if (!sr)
		return NULL;
	mutex_init(&sr->lock);
	init_waitqueue_head(&sr->space_wq);
	INIT_LIST_HEAD(&sr->node);
	sr->mask = size - 1;
	sr->buf_size = max_t(u32, SZ_8K, kspan_dev.record_max);
	sr->buf = kvmalloc(sr->buf_size, GFP_KERNEL_ACCOUNT);
	sr->pages = kvcalloc(2 + 2 * nr_data, sizeof(*sr->pages), GFP_KERNEL_ACCOUNT);
	if (!sr->buf || !sr->pages)
		goto err;
	for (i = 0; i < 2 + nr_data; i++) {
		page = alloc_page(gfp);
		if (!page)
			goto err;
		sr->pages[i] = page;
		sr->nr_pages++;
		if (i >= 2)
			sr->pages[i + nr_data] = page;
	}
	/* VM_USERMAP: remap_vmalloc_range() maps it into the producer. */
	sr->area = vmap(sr->pages, 2 + 2 * nr_data, VM_MAP | VM_USERMAP, PAGE_KERNEL);
	if (!sr->area)
		goto err;
	sr->head_page = sr->area;
	sr->tail_page = sr->area + PAGE_SIZE;
	sr->data = sr->area + 2 * PAGE_SIZE;
	return sr;
err:
	kspan_sring_free(sr);
	return NULL;
}

static struct kspan_sring *kspan_sring_of(struct file *file)
{
	struct kspan_file *kf = file->private_data;

	/* Pairs with the cmpxchg() that published it, fully set up. */
	return smp_load_acquire(&kf->sring);
}

/* Under sr->lock: nothing more is taken from the ring. */
static void kspan_sring_set_corrupt(struct kspan_sring *sr)
{
	sr->corrupt = true;
	WRITE_ONCE(sr->head_page->corrupt, 1);
	/* Pollers see EPOLLERR. */
	wake_up_all(&sr->space_wq);
}

/* Under sr->lock: the producer may reuse the space before @head. */
static void kspan_sring_publish_head(struct kspan_sring *sr, u64 head)
{
	WRITE_ONCE(sr->head, head);
	/* H: our copies of the records are done before it may reuse them. */
	smp_store_release(&sr->head_page->head, head);
	/* W: full barrier between the head store and the queue check. */
	if (wq_has_sleeper(&sr->space_wq))
		wake_up_all(&sr->space_wq);
}

/* Why a move stopped. */
struct kspan_move_stop {
	struct kspan_ring *ring;	/* the per-CPU ring found full, or NULL */
	u32 len;			/* the length of the record that did not fit */
};

/*
 * Write the @n checked records at @recs; returns how many went in and, if
 * not all, fills *@stop. The submit time is when they were moved.
 */
static unsigned int kspan_sring_put(struct kspan_sring *sr, const void *recs,
				    unsigned int n, struct kspan_move_stop *stop)
{
	const struct kspan_record_header *hdr;
	struct kspan_ring *ring;
	unsigned int done;

	sr->id.submit_time_ns = ktime_get_real_fast_ns();
	done = kspan_ring_write_many(&recs, n, &sr->id, &ring, NULL);
	if (done < n) {
		hdr = recs;
		stop->ring = ring;
		stop->len = hdr->len;
	}
	return done;
}

/*
 * Under sr->lock: check the records copied to sr->buf, @have bytes of
 * the @avail before the tail, and move the good ones. Returns the bytes
 * dealt with (moved, or refused and skipped), or -EBADMSG for a length
 * that cannot be right. Stops early at a full per-CPU ring (*@stop).
 */
static long kspan_sring_move_chunk(struct kspan_sring *sr, u64 have, u64 avail,
				   struct kspan_move_stop *stop)
{
	u32 record_max = kspan_dev.record_max;
	u64 p = 0, run = 0, moved = 0;
	const struct kspan_record_header *hdr;
	unsigned int n = 0, done;
	u32 total;

	while (p < have) {
		hdr = sr->buf + p;
		if (have - p < sizeof(*hdr))
			break;
		if (hdr->len < KSPAN_SPAN_MIN_LEN || hdr->len > record_max ||
		    KSPAN_REC_TOTAL(hdr->len) > avail - p)
			return -EBADMSG;
		total = KSPAN_REC_TOTAL(hdr->len);
		/* Whole in the next chunk: it starts that chunk. */
		if (total > have - p)
			break;
		if (kspan_record_validate(hdr, hdr->len, record_max)) {
			struct kspan_ring *here = kspan_ring_of(raw_smp_processor_id());

			/* Move the run before it, then skip it. */
			done = n ? kspan_sring_put(sr, sr->buf + run, n, stop) : 0;
			moved += done;
			if (done < n)
				goto out;
			kspan_count(here, &here->stats.rejected);
			WRITE_ONCE(sr->head_page->rejected, sr->head_page->rejected + 1);
			p += total;
			run = p;
			n = 0;
			continue;
		}
		n++;
		p += total;
	}
	done = n ? kspan_sring_put(sr, sr->buf + run, n, stop) : 0;
	moved += done;
	if (done == n)
		run = p;
out:
	WRITE_ONCE(sr->head_page->moved, sr->head_page->moved + moved);
	if (stop->ring) {
		/* Where the run stopped: past the records it took. */
		const void *rec = sr->buf + run;

		while (done--)
			rec = kspan_next_record(rec);
		return rec - sr->buf;
	}
	return run;
}

/**
 * kspan_sring_move - move what a submission ring holds into the rings
 * @sr: the ring, its lock held
 * @stop: out: the per-CPU ring that was full, if one was
 *
 * Never sleeps for space. Returns 0 when the ring is empty, -EAGAIN when
 * a per-CPU ring was full (*@stop says which, for what), -EBADMSG when
 * the ring is, or is now found, corrupt.
 */
static int kspan_sring_move(struct kspan_sring *sr, struct kspan_move_stop *stop)
{
	u64 head = sr->head, tail, avail, have, off;
	long done;

	lockdep_assert_held(&sr->lock);
	stop->ring = NULL;
	if (sr->corrupt)
		return -EBADMSG;
	/* P: pairs with the producer's store-release of tail. */
	tail = smp_load_acquire(&sr->tail_page->tail);
	if (tail - head > kspan_sring_size(sr) || !IS_ALIGNED(tail, KSPAN_RECORD_ALIGN)) {
		kspan_sring_set_corrupt(sr);
		return -EBADMSG;
	}
	while (head != tail) {
		avail = tail - head;
		have = min_t(u64, avail, sr->buf_size);
		off = head & sr->mask;
		/* The data is mapped twice: a chunk that wraps is contiguous. */
		memcpy(sr->buf, sr->data + off, have);
		done = kspan_sring_move_chunk(sr, have, avail, stop);
		if (done < 0) {
			kspan_sring_set_corrupt(sr);
			return done;
		}
		/* The first record of a chunk is always whole: progress. */
		if (WARN_ON_ONCE(!done && !stop->ring)) {
			kspan_sring_set_corrupt(sr);
			return -EBADMSG;
		}
		if (done)
			kspan_sring_publish_head(sr, head + done);
		head += done;
		if (stop->ring) {
			atomic_set(&kspan_srings_stalled, 1);
			return -EAGAIN;
		}
		cond_resched();
	}
	return 0;
}

/* From a worker or a release: whatever fits now; false if some is left. */
static bool kspan_sring_drain(struct kspan_sring *sr)
{
	struct kspan_move_stop stop;
	int ret;

	mutex_lock(&sr->lock);
	ret = kspan_sring_move(sr, &stop);
	mutex_unlock(&sr->lock);
	return ret != -EAGAIN;
}

static void kspan_sring_work_fn(struct work_struct *work)
{
	struct kspan_sring *sr, *tmp;

	atomic_set(&kspan_srings_stalled, 0);
	mutex_lock(&kspan_srings_lock);
	list_for_each_entry_safe(sr, tmp, &kspan_srings, node) {
		/* An orphan is only ever moved here: it goes once drained. */
		if (kspan_sring_drain(sr) && sr->orphan) {
			list_del(&sr->node);
			kspan_sring_free(sr);
		}
		cond_resched();
	}
	if (!list_empty(&kspan_srings))
		queue_delayed_work(system_unbound_wq, &kspan_sring_work,
				   kspan_dev.flush_jiffies);
	mutex_unlock(&kspan_srings_lock);
}

/**
 * kspan_sring_space_freed - a consumer freed per-CPU ring space
 *
 * Called from the consumer path after it freed space: a move that stopped
 * at a full ring is retried now rather than a flush interval later.
 */
void kspan_sring_space_freed(void)
{
	if (atomic_read(&kspan_srings_stalled) && atomic_xchg(&kspan_srings_stalled, 0))
		mod_delayed_work(system_unbound_wq, &kspan_sring_work, 0);
}

long kspan_ioctl_setup_submit_ring(struct file *file, void __user *uarg)
{
	struct kspan_file *kf = file->private_data;
	struct kspan_submit_setup setup;
	struct kspan_sring *sr;

	if (copy_from_user(&setup, uarg, sizeof(setup)))
		return -EFAULT;
	if (setup.flags || setup.__reserved0 || setup.__reserved[0] ||
	    setup.__reserved[1] || setup.mmap_offset || setup.page_size ||
	    setup.record_max)
		return -EINVAL;
	if (!is_power_of_2(setup.size) || setup.size < KSPAN_SUBMIT_RING_MIN ||
	    setup.size < PAGE_SIZE || setup.size > KSPAN_SUBMIT_RING_MAX)
		return -EINVAL;
	if (READ_ONCE(kf->sring))
		return -EBUSY;

	sr = kspan_sring_alloc(setup.size);
	if (!sr)
		return -ENOMEM;
	kspan_identity_fill(&sr->id);

	setup.mmap_offset = KSPAN_MMAP_SUBMIT_OFF;
	setup.page_size = PAGE_SIZE;
	setup.record_max = kspan_dev.record_max;
	if (copy_to_user(uarg, &setup, sizeof(setup))) {
		kspan_sring_free(sr);
		return -EFAULT;
	}
	/* Two threads may race here: one ring per file. */
	if (cmpxchg(&kf->sring, NULL, sr)) {
		kspan_sring_free(sr);
		return -EBUSY;
	}
	mutex_lock(&kspan_srings_lock);
	if (list_empty(&kspan_srings))
		queue_delayed_work(system_unbound_wq, &kspan_sring_work,
				   kspan_dev.flush_jiffies);
	list_add_tail(&sr->node, &kspan_srings);
	mutex_unlock(&kspan_srings_lock);
	return 0;
}

/* Whether the file's producer calls must fail: its ring is corrupt. */
bool kspan_sring_broken(struct file *file)
{
	struct kspan_sring *sr = kspan_sring_of(file);

	return sr && READ_ONCE(sr->corrupt);
}

long kspan_ioctl_flush(struct file *file, unsigned long flags)
{
	struct kspan_file *kf = file->private_data;
	struct kspan_sring *sr = kspan_sring_of(file);
	bool timed = READ_ONCE(kf->timeout_ns) != 0;
	unsigned long deadline = kspan_deadline(file);
	struct kspan_move_stop stop;
	u64 target;
	long left;
	int ret;

	if (!sr)
		return -ENXIO;
	if (flags & ~(unsigned long)KSPAN_FLUSH_WAIT)
		return -EINVAL;
	/* Everything written before the call; bounded by the move. */
	target = smp_load_acquire(&sr->tail_page->tail);
	for (;;) {
		if (mutex_lock_interruptible(&sr->lock))
			return -ERESTARTSYS;
		ret = kspan_sring_move(sr, &stop);
		/* Done once the head passed the target (a later tail is fine). */
		if (ret == -EAGAIN && (s64)(sr->head - target) >= 0)
			ret = 0;
		mutex_unlock(&sr->lock);
		if (ret != -EAGAIN)
			return ret;

		if (!(flags & KSPAN_FLUSH_WAIT) || (file->f_flags & O_NONBLOCK) ||
		    READ_ONCE(kf->policy) != KSPAN_FULL_BLOCK)
			return -EAGAIN;
		left = MAX_SCHEDULE_TIMEOUT;
		if (timed)
			left = max_t(long, (long)(deadline - jiffies), 0);
		ret = kspan_wait_for_room(stop.ring, stop.len, left);
		if (ret == -EINTR)
			return timed ? -EINTR : -ERESTARTSYS;
		if (ret)
			return ret;
	}
}

/*
 * The head page at KSPAN_MMAP_SUBMIT_OFF, alone and never writable; the
 * tail page and the data after it, writable. Not inherited across fork():
 * a ring has one writer.
 */
int kspan_sring_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kspan_sring *sr = kspan_sring_of(file);
	u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT) - KSPAN_MMAP_SUBMIT_OFF;

	if (!sr)
		return -ENXIO;
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (off == 0) {
		if (vma->vm_end - vma->vm_start != PAGE_SIZE)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		kspan_vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
	} else {
		kspan_vm_flags_clear(vma, VM_MAYEXEC);
	}
	kspan_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND);
	/* Checks that the range lies within the ring's area. */
	return remap_vmalloc_range(vma, sr->area, off >> PAGE_SHIFT);
}

__poll_t kspan_sring_poll(struct file *file, struct poll_table_struct *pt)
{
	struct kspan_sring *sr = kspan_sring_of(file);
	u64 used, want;

	if (!sr)
		return EPOLLERR;
	poll_wait(file, &sr->space_wq, pt);
	/* W: queued before head is loaded; pairs with the mover. */
	smp_mb();
	if (READ_ONCE(sr->corrupt))
		return EPOLLERR;
	/* The tail is the producer's: a wrong one only makes a wrong answer. */
	used = READ_ONCE(sr->tail_page->tail) - READ_ONCE(sr->head);
	want = min_t(u64, KSPAN_REC_TOTAL(kspan_dev.record_max), kspan_sring_size(sr));
	if (used <= kspan_sring_size(sr) && kspan_sring_size(sr) - used >= want)
		return EPOLLOUT | EPOLLWRNORM;
	return 0;
}

/*
 * The file is released (its mappings are gone with it): move what can be
 * moved now; what cannot is left to the worker, which frees the ring once
 * it is empty.
 */
void kspan_sring_release(struct kspan_file *kf)
{
	struct kspan_sring *sr = kf->sring;

	if (!sr)
		return;
	mutex_lock(&kspan_srings_lock);
	if (kspan_sring_drain(sr)) {
		list_del(&sr->node);
		kspan_sring_free(sr);
	} else {
		sr->orphan = true;
	}
	mutex_unlock(&kspan_srings_lock);
}

/*
 * Module unload: no file is left, and the per-CPU rings go too. Orphans
 * still waiting for space are given up, and said so.
 */
void kspan_sring_exit(void)
{
	struct kspan_sring *sr, *tmp;
	u64 left = 0;

	cancel_delayed_work_sync(&kspan_sring_work);
	list_for_each_entry_safe(sr, tmp, &kspan_srings, node) {
		left += min_t(u64, READ_ONCE(sr->tail_page->tail) - sr->head,
			      kspan_sring_size(sr));
		list_del(&sr->node);
		kspan_sring_free(sr);
	}
	if (left)
		pr_warn("kspan: %llu bytes of released submission rings not moved at unload\n",
			left);
}
