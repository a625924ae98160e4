// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: submission rings, written by a producer in its own memory and
 * moved by the module into the per-CPU rings (see <uapi/linux/kspan.h>).
 *
 * A submission ring belongs to one producer file (never the consumer's)
 * and is mapped only into the address space that set it up. Its pages are
 * the module's: a head page the producer may only read, a tail page and
 * the data, both writable by it and so untrusted. The module keeps the
 * head itself (@head below) and publishes a copy; it reads the tail once
 * per move, bounds it, and copies records out of the data before it looks
 * at them, so that a producer rewriting them meanwhile changes nothing the
 * module checked.
 *
 * Movers: the file's own KSPAN_IOC_FLUSH, the worker (every flush
 * interval, and at once when a consumer frees space in a per-CPU ring a
 * move stopped at) and the file's release. @lock admits one at a time. A
 * mover never sleeps for space in a per-CPU ring, but KSPAN_IOC_FLUSH with
 * KSPAN_FLUSH_WAIT, outside @lock. Records it cannot move stay where they
 * are, so the producer's own ring fills. The worker runs unbound: what it
 * moves goes to the ring of the CPU it happens to run on.
 *
 * A ring whose file is released while records remain (the per-CPU rings
 * full) becomes an orphan: nobody maps it any more, and the worker moves
 * the rest and frees it. Orphans are bounded (module parameter
 * orphan_max): past that, a release drops what it cannot move, counts it
 * as dropped_atomic, and the consumer sees a lost-records record. Module
 * unload frees what is left.
 *
 * Barrier pairs:
 *  P  publish: the producer writes records, then store-releases tail;
 *     kspan_sring_move() load-acquires tail before copying them out.
 *  H  head: kspan_sring_move() copies records out, then store-releases
 *     head; the producer load-acquires head before reusing their space.
 *  W  EPOLLOUT: a mover stores head, then wq_has_sleeper() (full
 *     barrier); poll queues itself, then smp_mb(), then loads head. Either
 *     the mover sees the poller queued or the poller sees the new head.
 *  C  current span (a seqcount in user-writable memory): the producer
 *     makes seq odd, writes the context, makes it even (release each);
 *     kspan_sring_current_span() loads seq (acquire), copies, smp_rmb(),
 *     loads seq again, and keeps the copy only if both were the same even.
 *  S  stall: a move that stopped at a full per-CPU ring sets the ring's
 *     sring_stalled, smp_mb__after_atomic(), then looks for room once
 *     more; kspan_ring_advance_consumer() stores cons_view, then the full
 *     barrier of E (ring.c), then reads sring_stalled. Either the mover
 *     sees the space, or the consumer sees the flag and kicks the worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "compat.h"
#include "kspan.h"

struct kspan_sring {
	struct mutex lock;		/* one mover at a time; the fields below */
	u64 head;			/* the module's own; the page has a copy */
	u64 mask;
	bool corrupt;
	bool orphan;			/* its file is released */
	/*
	 * Drained after its release: freed by the worker once the grace
	 * period that began when it left the thread index (@rcu_cookie) is
	 * over, as kspan_sring_current_span() may still be reading it.
	 */
	bool retired;
	unsigned long rcu_cookie;
	/* Who set it up: stamped into every record moved. */
	struct kspan_identity id;
	/* The address space that set it up: the only one that may map it. */
	struct mm_struct *mm;
	/* The thread that set it up (a reference): its current span (BPF). */
	struct pid *pid;
	void *buf;			/* records are copied here, then checked */
	u32 buf_size;
	/* Where the last move stopped for want of space, and for how much. */
	struct kspan_ring *stall_ring;
	u32 stall_len;

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
/*
 * The ring each thread set up last, by thread id, for
 * kspan_sring_current_span(): looked up under RCU from any context (BPF
 * programs run in NMI too). A ring leaves it at its release; the worker
 * frees it after a grace period (retired), so that a release never waits
 * for one: a process with many threads exits at the speed it would
 * without the module.
 */
static DEFINE_XARRAY(kspan_sring_by_tid);

/* Bytes of data of the orphans on the list (kspan_srings_lock). */
static u64 kspan_orphan_bytes;
static void kspan_sring_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kspan_sring_work, kspan_sring_work_fn);

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
	if (sr->mm)
		mmdrop(sr->mm);
	put_pid(sr->pid);
	mutex_destroy(&sr->lock);
	kfree(sr);
}

/*
 * A ring leaves the thread index at its release (or was overwritten there
 * by a newer ring of its thread, earlier); readers that found it are done
 * once the grace period started now is over. Started, not only noted: an
 * idle system might otherwise not run one for a long time.
 */
static void kspan_sring_unindex(struct kspan_sring *sr)
{
	/* Storing NULL allocates nothing. */
	xa_cmpxchg(&kspan_sring_by_tid, sr->id.tid, sr, NULL, 0);
	sr->rcu_cookie = start_poll_synchronize_rcu();
}

/* Frees a drained ring now if no reader can hold it, or leaves it to the worker. */
static void kspan_sring_retire(struct kspan_sring *sr)
{
	lockdep_assert_held(&kspan_srings_lock);
	if (poll_state_synchronize_rcu(sr->rcu_cookie)) {
		list_del(&sr->node);
		kspan_sring_free(sr);
	} else {
		sr->retired = true;
	}
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
	/* Any record, padded, fits a chunk from its start: moves progress. */
	sr->buf_size = max_t(u32, SZ_8K, KSPAN_REC_TOTAL(kspan_dev.record_max));
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

/* Whether the file has a submission ring: then it is a producer's. */
bool kspan_file_has_sring(struct file *file)
{
	return !!kspan_sring_of(file);
}

/* Under sr->lock: nothing more is taken from the ring. */
static void kspan_sring_set_corrupt(struct kspan_sring *sr)
{
	WRITE_ONCE(sr->corrupt, true);
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

/* How a chunk of records was dealt with. */
struct kspan_move_stop {
	struct kspan_ring *ring;	/* the per-CPU ring found full, or NULL */
	u32 len;			/* the length of the record that did not fit */
	bool corrupt;			/* stopped at a length that cannot be right */
	bool drop;			/* in: drop the records instead of moving them */
};

/* Counts a record refused as invalid, on this CPU's ring and the page. */
static void kspan_sring_reject(struct kspan_sring *sr)
{
	struct kspan_ring *here = kspan_ring_of(raw_smp_processor_id());

	kspan_count(here, &here->stats.rejected);
	WRITE_ONCE(sr->head_page->rejected, sr->head_page->rejected + 1);
}

/*
 * Write the @n checked records at @recs; returns how many went in and, if
 * not all, fills *@stop. The submit time is when they were moved. With
 * @stop->drop, drops them all, counted as spans a caller that cannot wait
 * dropped: the consumer sees a lost-records record.
 */
static unsigned int kspan_sring_put(struct kspan_sring *sr, const void *recs,
				    unsigned int n, struct kspan_move_stop *stop)
{
	const struct kspan_record_header *hdr;
	struct kspan_ring *ring;
	unsigned int done;

	if (stop->drop) {
		ring = kspan_ring_of(raw_smp_processor_id());
		for (done = 0; done < n; done++)
			kspan_ring_drop(ring, KSPAN_DROP_ATOMIC);
		return n;
	}
	sr->id.submit_time_ns = ktime_get_real_fast_ns();
	done = kspan_ring_write_many(&recs, n, &sr->id, &ring, NULL);
	WRITE_ONCE(sr->head_page->moved, sr->head_page->moved + done);
	if (done < n) {
		hdr = recs;
		stop->ring = ring;
		stop->len = hdr->len;
	}
	return done;
}

/*
 * Under sr->lock: check the records copied to sr->buf, @have bytes of the
 * @avail before the tail, and move the good ones in runs. Returns the
 * bytes dealt with (moved, or refused and skipped); stops early at a full
 * per-CPU ring or at a length that cannot be right (*@stop says which).
 */
static u64 kspan_sring_move_chunk(struct kspan_sring *sr, u64 have, u64 avail,
				  struct kspan_move_stop *stop)
{
	const struct kspan_record_header *hdr;
	u32 record_max = kspan_dev.record_max;
	u64 p = 0, run = 0;
	unsigned int n = 0, done;
	u32 total;

	while (p < have && have - p >= sizeof(*hdr)) {
		hdr = sr->buf + p;
		if (hdr->len < KSPAN_SPAN_MIN_LEN || hdr->len > record_max ||
		    KSPAN_REC_TOTAL(hdr->len) > avail - p) {
			stop->corrupt = true;
			break;
		}
		total = KSPAN_REC_TOTAL(hdr->len);
		/* Whole in the next chunk: it starts that chunk. */
		if (total > have - p)
			break;
		if (!kspan_record_validate(hdr, hdr->len, record_max)) {
			n++;
			p += total;
			continue;
		}
		/* Move the run before it, then skip it. */
		done = n ? kspan_sring_put(sr, sr->buf + run, n, stop) : 0;
		if (done < n)
			goto stopped;
		kspan_sring_reject(sr);
		p += total;
		run = p;
		n = 0;
	}
	done = n ? kspan_sring_put(sr, sr->buf + run, n, stop) : 0;
	if (done == n)
		return p;
stopped:
	/* Past the records of the run that went in. */
	while (done--)
		run += KSPAN_REC_TOTAL(((struct kspan_record_header *)(sr->buf + run))->len);
	stop->corrupt = false;
	return run;
}

/*
 * A move stopped at @ring, full: flag it for the consumer (S), then look
 * once more. True when there is room now, and the move should go on.
 */
static bool kspan_sring_stalled(struct kspan_sring *sr, struct kspan_ring *ring,
				u32 len)
{
	WRITE_ONCE(sr->stall_ring, ring);
	WRITE_ONCE(sr->stall_len, len);
	atomic_set(&ring->sring_stalled, 1);
	/* S: the flag before the room check; pairs with the consumer's E. */
	smp_mb__after_atomic();
	return kspan_ring_has_room(ring, len);
}

/**
 * kspan_sring_move - move what a submission ring holds into the rings
 * @sr: the ring, its lock held
 * @stop: in: @stop->drop to drop instead; out: the per-CPU ring that was
 *	full, if one was
 *
 * Never sleeps for space.
 *
 * Return: 0 when the ring is empty, -EAGAIN when a per-CPU ring was full
 * (*@stop says which, for what), -EBADMSG when the ring is, or is now
 * found, corrupt; what came before the corruption was moved.
 */
static int kspan_sring_move(struct kspan_sring *sr, struct kspan_move_stop *stop)
{
	u64 head = sr->head, tail, avail, have, done;

	lockdep_assert_held(&sr->lock);
	stop->ring = NULL;
	stop->corrupt = false;
	if (sr->corrupt)
		return -EBADMSG;
	/* P: pairs with the producer's store-release of tail. */
	tail = smp_load_acquire(&sr->tail_page->tail);
	if (tail - head > kspan_sring_size(sr) || !IS_ALIGNED(tail, KSPAN_RECORD_ALIGN)) {
		kspan_sring_set_corrupt(sr);
		return -EBADMSG;
	}
	WRITE_ONCE(sr->stall_ring, NULL);
	while (head != tail) {
		avail = tail - head;
		have = min_t(u64, avail, sr->buf_size);
		/* The data is mapped twice: a chunk that wraps is contiguous. */
		memcpy(sr->buf, sr->data + (head & sr->mask), have);
		done = kspan_sring_move_chunk(sr, have, avail, stop);
		if (done) {
			head += done;
			kspan_sring_publish_head(sr, head);
		}
		if (stop->corrupt) {
			/* The record that cannot be parsed is refused, and the rest. */
			kspan_sring_reject(sr);
			kspan_sring_set_corrupt(sr);
			return -EBADMSG;
		}
		if (stop->ring) {
			if (!kspan_sring_stalled(sr, stop->ring, stop->len))
				return -EAGAIN;
			stop->ring = NULL;
		}
		cond_resched();
	}
	return 0;
}

/* Whatever can be moved now, without waiting; false if some is left. */
static bool kspan_sring_drain(struct kspan_sring *sr, bool drop)
{
	struct kspan_move_stop stop = { .drop = drop };
	int ret;

	mutex_lock(&sr->lock);
	ret = kspan_sring_move(sr, &stop);
	mutex_unlock(&sr->lock);
	return ret != -EAGAIN;
}

/* A ring stalled at a per-CPU ring that still has no room is skipped. */
static bool kspan_sring_still_stalled(struct kspan_sring *sr)
{
	struct kspan_ring *ring = READ_ONCE(sr->stall_ring);

	return ring && !kspan_ring_has_room(ring, READ_ONCE(sr->stall_len));
}

static void kspan_sring_work_fn(struct work_struct *work)
{
	struct kspan_move_stop stop = { };
	struct kspan_sring *sr, *tmp;
	int ret;

	mutex_lock(&kspan_srings_lock);
	list_for_each_entry_safe(sr, tmp, &kspan_srings, node) {
		if (sr->retired) {
			kspan_sring_retire(sr);
			continue;
		}
		/* A flush holds it: it is being moved anyway. */
		if (kspan_sring_still_stalled(sr) || !mutex_trylock(&sr->lock))
			continue;
		ret = kspan_sring_move(sr, &stop);
		mutex_unlock(&sr->lock);
		/* Only the worker frees an orphan: once drained, or corrupt. */
		if (sr->orphan && ret != -EAGAIN) {
			kspan_orphan_bytes -= kspan_sring_size(sr);
			sr->orphan = false;
			kspan_sring_retire(sr);
		}
		cond_resched();
	}
	/* Producers do not ring: while rings exist, look at them. */
	if (!list_empty(&kspan_srings))
		queue_delayed_work(system_unbound_wq, &kspan_sring_work,
				   kspan_dev.flush_jiffies);
	mutex_unlock(&kspan_srings_lock);
}

/**
 * kspan_sring_space_freed - a consumer freed space a move stopped at
 *
 * Called from the consumer path: the move is retried now rather than a
 * flush interval later.
 */
void kspan_sring_space_freed(void)
{
	mod_delayed_work(system_unbound_wq, &kspan_sring_work, 0);
}

long kspan_ioctl_setup_submit_ring(struct file *file, void __user *uarg)
{
	struct kspan_file *kf = file->private_data;
	struct kspan_submit_setup setup;
	struct kspan_sring *sr;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&setup, uarg, sizeof(setup)))
		return -EFAULT;
	if (setup.flags || setup.__reserved0 || setup.__reserved[0] ||
	    setup.__reserved[1] || setup.mmap_offset || setup.page_size ||
	    setup.record_max)
		return -EINVAL;
	if (!is_power_of_2(setup.size) || setup.size < KSPAN_SUBMIT_RING_MIN ||
	    setup.size < PAGE_SIZE || setup.size > KSPAN_SUBMIT_RING_MAX)
		return -EINVAL;
	/* The consumer's file maps the per-CPU rings at the same offsets. */
	if (READ_ONCE(kf->consumer))
		return -EBUSY;
	if (READ_ONCE(kf->sring))
		return -EBUSY;

	sr = kspan_sring_alloc(setup.size);
	if (!sr)
		return -ENOMEM;
	kspan_identity_fill(&sr->id);
	mmgrab(current->mm);
	sr->mm = current->mm;
	sr->pid = get_pid(task_pid(current));

	setup.mmap_offset = KSPAN_MMAP_SUBMIT_OFF;
	setup.page_size = PAGE_SIZE;
	setup.record_max = kspan_dev.record_max;
	if (copy_to_user(uarg, &setup, sizeof(setup))) {
		kspan_sring_free(sr);
		return -EFAULT;
	}
	/*
	 * Two threads may race here (one ring per file), and an attach: both
	 * take the consumer lock, so a file is never both.
	 */
	/*
	 * The index entry now, so that storing into it later does not
	 * allocate (unless a release of an older ring of this thread frees
	 * it meanwhile: then the store may, and failing only hides the
	 * thread's span from BPF).
	 */
	if (xa_reserve(&kspan_sring_by_tid, sr->id.tid, GFP_KERNEL_ACCOUNT)) {
		kspan_sring_free(sr);
		return -ENOMEM;
	}
	mutex_lock(&kspan_dev.consumer_lock);
	if (kf->consumer || cmpxchg(&kf->sring, NULL, sr)) {
		mutex_unlock(&kspan_dev.consumer_lock);
		/* Only if still reserved: another ring of the thread stays. */
		xa_release(&kspan_sring_by_tid, sr->id.tid);
		kspan_sring_free(sr);
		return -EBUSY;
	}
	mutex_unlock(&kspan_dev.consumer_lock);
	mutex_lock(&kspan_srings_lock);
	if (list_empty(&kspan_srings))
		queue_delayed_work(system_unbound_wq, &kspan_sring_work,
				   kspan_dev.flush_jiffies);
	list_add_tail(&sr->node, &kspan_srings);
	/* The thread's latest ring: only BPF's view of its span depends on it. */
	if (xa_is_err(xa_store(&kspan_sring_by_tid, sr->id.tid, sr, GFP_KERNEL_ACCOUNT)))
		pr_warn_once("no memory to index a submission ring: BPF sees no span for its thread\n");
	mutex_unlock(&kspan_srings_lock);
	return 0;
}

/**
 * kspan_sring_current_span - the span the current thread says it is in
 * @ctx: out: a stable copy of what its submission ring publishes
 * @in_irq: in an interrupt, answer for the thread it interrupted
 *
 * Any context, NMI included: a lookup under RCU, and reads of the ring's
 * page (kernel memory) only. Softirq and hard IRQ work is mostly done for
 * others, so only callers that sample the interrupted thread (perf
 * events) ask with @in_irq. The producer writes the page at will: a copy
 * counts when its sequence was even and unchanged around it; unknown flag
 * bits are cleared, and zero ids are no span.
 *
 * Return: 0, or -ENOENT when the thread set up no ring in this address
 * space, is in no span, or was itself interrupted mid-publication.
 */
int kspan_sring_current_span(struct kspan_span_context *ctx, bool in_irq)
{
	const struct kspan_span_context *pub;
	struct kspan_sring *sr;
	int tries, ret = -ENOENT;
	u32 seq;

	/* Kernel threads have no ring. */
	if ((!in_task() && !in_irq) || !current->mm)
		return -ENOENT;
	rcu_read_lock();
	sr = xa_load(&kspan_sring_by_tid, task_pid_nr(current));
	/*
	 * A recycled thread id is not this thread (struct pid is never reused
	 * while referenced); after an execve() that kept the file open, the
	 * new program is not in the old one's span.
	 */
	if (!sr || sr->pid != task_pid(current) || sr->mm != current->mm)
		goto out;
	pub = &sr->tail_page->active;
	/*
	 * The only writer is this thread: a copy is torn only when we
	 * interrupted it mid-publication, which a retry does not cure. The
	 * second try is for a writer elsewhere (the application's choice).
	 */
	for (tries = 0; tries < 2; tries++) {
		/* C1: pairs with the writer's release of an even sequence. */
		seq = smp_load_acquire(&pub->seq);
		if (seq & 1)
			continue;
		memcpy(ctx, pub, sizeof(*ctx));
		/* C2: the copy before the second look at the sequence. */
		smp_rmb();
		if (READ_ONCE(pub->seq) != seq)
			continue;
		ctx->seq = seq;
		ctx->flags &= KSPAN_CONTEXT_ACTIVE | KSPAN_CONTEXT_SAMPLED;
		if ((ctx->flags & KSPAN_CONTEXT_ACTIVE) &&
		    memchr_inv(ctx->trace_id, 0, sizeof(ctx->trace_id)) &&
		    memchr_inv(ctx->span_id, 0, sizeof(ctx->span_id)))
			ret = 0;
		break;
	}
out:
	rcu_read_unlock();
	return ret;
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
	ktime_t deadline = kspan_deadline(file);
	bool timed = deadline != KTIME_MAX;
	struct kspan_move_stop stop = { };
	u64 target;
	int ret;

	if (flags & ~(unsigned long)KSPAN_FLUSH_WAIT)
		return -EINVAL;
	if (!sr)
		return -ENXIO;
	/* Everything written before the call; bounded by the move. */
	target = smp_load_acquire(&sr->tail_page->tail);
	for (;;) {
		/* A timed wait is never restarted: its timeout would start over. */
		if (mutex_lock_interruptible(&sr->lock))
			return timed ? -EINTR : -ERESTARTSYS;
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
		ret = kspan_wait_for_room(stop.ring, stop.len, deadline);
		if (ret == -EINTR)
			return timed ? -EINTR : -ERESTARTSYS;
		if (ret)
			return ret;
	}
}

/*
 * The head page at KSPAN_MMAP_SUBMIT_OFF, alone and never writable; the
 * tail page and the data after it, writable. Only into the address space
 * that set the ring up: its records carry that thread's identity, so a
 * process the file was passed to must not write them. Not inherited
 * across fork(): a ring has one writer.
 */
int kspan_sring_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kspan_sring *sr = kspan_sring_of(file);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (current->mm != sr->mm)
		return -EACCES;
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
	/* remap_vmalloc_range() adds VM_DONTEXPAND and checks the range. */
	kspan_vm_flags_set(vma, VM_DONTCOPY);
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
 * The file is released (its mappings went before it): move what can be
 * moved now. What cannot is left to the worker, which frees the ring once
 * it is empty, unless orphans already hold orphan_max bytes: then it is
 * dropped, and counted.
 */
void kspan_sring_release(struct kspan_file *kf)
{
	struct kspan_sring *sr = kf->sring;
	bool drained;

	if (!sr)
		return;
	kspan_sring_unindex(sr);
	/* Not under kspan_srings_lock: other releases need not wait for it. */
	drained = kspan_sring_drain(sr, false);
	mutex_lock(&kspan_srings_lock);
	if (!drained && kspan_orphan_bytes + kspan_sring_size(sr) > kspan_dev.orphan_max)
		drained = kspan_sring_drain(sr, true);
	/* The worker is not walking the list: it holds the lock to do so. */
	if (drained) {
		kspan_sring_retire(sr);
	} else {
		sr->orphan = true;
		kspan_orphan_bytes += kspan_sring_size(sr);
	}
	mutex_unlock(&kspan_srings_lock);
}

/*
 * Module unload: no file is left, and the per-CPU rings go too. Orphans
 * still waiting for space are given up, and said so. No lock: the worker
 * is cancelled and no file can set up or release a ring any more.
 */
void kspan_sring_exit(void)
{
	struct kspan_sring *sr, *tmp;
	u64 left = 0;

	cancel_delayed_work_sync(&kspan_sring_work);
	/* Every ring left it at its release; retired ones wait for readers. */
	WARN_ON_ONCE(!xa_empty(&kspan_sring_by_tid));
	xa_destroy(&kspan_sring_by_tid);
	synchronize_rcu();
	list_for_each_entry_safe(sr, tmp, &kspan_srings, node) {
		if (!sr->retired)
			left += min_t(u64, READ_ONCE(sr->tail_page->tail) - sr->head,
				      kspan_sring_size(sr));
		list_del(&sr->node);
		kspan_sring_free(sr);
	}
	kspan_orphan_bytes = 0;
	if (left)
		pr_warn("%llu bytes of released submission rings not moved at unload\n", left);
}
