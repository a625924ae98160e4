// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: one CPU's span ring.
 *
 * Writers (ioctl callers, in-kernel callers in any context) reserve space
 * under a raw spinlock with interrupts off, copy their records outside the
 * lock, and commit each by clearing its busy flag with release ordering.
 * A reservation covers a run of at most KSPAN_RESERVE_MAX records and
 * KSPAN_RUN_BYTES bytes, and preemption stays off from the reservation to
 * the last commit: the window in which the consumer and every producer of
 * the ring may have to wait for this writer is bounded, and no writer is
 * ever preempted inside it. The copy reads kernel memory only, so nothing
 * in the window can sleep or fault.
 *
 * Contexts: any, NMI included. Only a CPU takes its own ring's lock, so
 * the lock is found taken only by code that re-entered the holder on the
 * same CPU (an NMI, or a BPF program attached inside the locked section):
 * the lock is only ever tried, and when it is taken the span is dropped
 * as busy. Drops are counted without the lock (atomics), and the next
 * reservation writes them out as a lost-records record.
 *
 * The consumer reads records in place through its mapping and reports its
 * position through the consumer page. That page is user-writable, so the
 * module never uses its values directly: kspan_ring_advance_consumer()
 * walks the module's own view forward record by record, up to the reported
 * position and never past a busy record, and only that view frees space;
 * read_pos is used only between that view and producer_pos.
 *
 * Barrier pairs (A..G are referred to below):
 *  A  reservation: header written, then producer_pos store-release;
 *     consumers (user space, kspan_ring_advance_consumer(), poll) load
 *     producer_pos with acquire before reading headers.
 *  B  commit: record body written, then flags store-release; consumers
 *     load flags with acquire before reading the body.
 *  C  user consumer: reads records, then consumer_pos store-release;
 *     kspan_ring_advance_consumer() loads it with acquire before it lets
 *     producers reuse the space.
 *  D  kspan_ring_advance_consumer(): header reads, then cons_view
 *     store-release; reservations load cons_view with acquire before they
 *     write into the freed space.
 *  E  space wake-up: cons_view store, then wq_has_sleeper() (full barrier);
 *     a waiter queues itself (prepare_to_wait()'s set_current_state(),
 *     full barrier) before it re-reads cons_view in its wait condition.
 *     Either the waker sees the waiter queued or the waiter sees the view.
 *  F  consumer wake-up, a store-buffering pattern: a writer stores its
 *     commits (B), then smp_mb(), then loads the reader position (cons_view,
 *     read_pos) to decide whether the consumer may wait on its records; the
 *     consumer stores read_pos (before its poll call) and cons_view (in
 *     poll), queues itself on consumer_wq, then smp_mb() in poll, then
 *     loads producer_pos and the flags at the reader position. Without
 *     both full barriers each side could read the other's old value: the
 *     writer would skip the wake-up and the consumer sleep on a committed
 *     record. With them, either the writer sees the consumer at (or inside)
 *     its run and wakes it, or the consumer sees the commit and stays up.
 *  G  flush: the flush timer stores flush_pos, then wakes consumer_wq (its
 *     lock); poll queues itself under that lock before it loads flush_pos.
 *  S  submission rings (see submit_ring.c): the cons_view store, the full
 *     barrier of E, then the load of sring_stalled.
 */
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "kspan.h"
#include "testhooks.h"

/*
 * Bounds the work under the ring lock (interrupts off): a longer run of
 * records is reserved in several acquisitions.
 */
#define KSPAN_RESERVE_MAX	64
/*
 * Bounds the bytes copied with preemption off per reservation (one record
 * may be longer: a run always takes at least one).
 */
#define KSPAN_RUN_BYTES		SZ_8K

static u64 kspan_ring_size(const struct kspan_ring *ring)
{
	return ring->mask + 1;
}

static struct kspan_record_header *kspan_ring_hdr(struct kspan_ring *ring,
						  u64 pos)
{
	return (struct kspan_record_header *)(ring->data + (pos & ring->mask));
}

/*
 * The consumer's reading position as writers judge it, without the
 * consumer lock: the larger of the module's view of consumer_pos and the
 * consumer's read_pos, the latter only when it lies within a ring's size
 * ahead of the view. Only whether to wake the consumer depends on it.
 */
static u64 kspan_ring_reader(struct kspan_ring *ring)
{
	u64 view = READ_ONCE(ring->cons_view);
	u64 rd = READ_ONCE(ring->cons_page->read_pos);

	return rd - view <= kspan_ring_size(ring) ? rd : view;
}

/* Whether data has waited a flush interval ahead of @reader (see G). */
static bool kspan_ring_flush_due(struct kspan_ring *ring, u64 reader)
{
	return reader < READ_ONCE(ring->flush_pos);
}

/*
 * Runs after a writer committed records the consumer may wait on (see
 * kspan_ring_wake_reader()), in hard IRQ or, on PREEMPT_RT, thread context:
 * wakes the consumer once a watermark of data waits (or a flush is due), or
 * else makes sure the flush timer runs, so that data below the watermark
 * waits at most a flush interval.
 */
static void kspan_ring_notify(struct irq_work *work)
{
	struct kspan_ring *ring = container_of(work, struct kspan_ring, notify);
	u64 prod, reader = kspan_ring_reader(ring);

	/* A: pairs with the store-release in kspan_ring_reserve(). */
	prod = smp_load_acquire(&ring->prod_page->producer_pos);
	if (prod - reader >= kspan_dev.watermark || kspan_ring_flush_due(ring, reader))
		wake_up_all(&kspan_dev.consumer_wq);
	else
		timer_reduce(&ring->flush_timer, jiffies + kspan_dev.flush_jiffies);
}

/*
 * The flush timer: data that waited a flush interval becomes readable
 * whatever the watermark, up to where the producer was now.
 */
static void kspan_ring_flush(struct timer_list *t)
{
	struct kspan_ring *ring = from_timer(ring, t, flush_timer);
	u64 prod = READ_ONCE(ring->prod_pos);

	/* Nothing waits any more: the consumer read it meanwhile. */
	if (kspan_ring_reader(ring) == prod)
		return;
	/* G: flush_pos before the wake-up (its lock). */
	WRITE_ONCE(ring->flush_pos, prod);
	wake_up_all(&kspan_dev.consumer_wq);
}

struct kspan_ring *kspan_ring_alloc(unsigned int cpu, size_t data_size)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;
	unsigned int nr_data = data_size >> PAGE_SHIFT;
	unsigned int nr_meta = 2, i;
	int node = cpu_to_node(cpu);
	struct kspan_ring *ring;
	struct page *page;

	ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, node);
	if (!ring)
		return NULL;
	ring->nr_pages = nr_meta + nr_data;
	ring->pages = kvcalloc(nr_meta + 2 * nr_data, sizeof(*ring->pages),
			       GFP_KERNEL);
	if (!ring->pages)
		goto err_ring;

	for (i = 0; i < ring->nr_pages; i++) {
		page = alloc_pages_node(node, gfp, 0);
		if (!page) {
			ring->nr_pages = i;
			goto err_pages;
		}
		ring->pages[i] = page;
		if (i >= nr_meta)
			ring->pages[i + nr_data] = page;
	}

	/* VM_USERMAP: remap_vmalloc_range() maps it into the consumer. */
	ring->area = vmap(ring->pages, nr_meta + 2 * nr_data,
			  VM_MAP | VM_USERMAP, PAGE_KERNEL);
	if (!ring->area)
		goto err_pages;

	ring->cons_page = ring->area;
	ring->prod_page = ring->area + PAGE_SIZE;
	ring->data = ring->area + 2 * PAGE_SIZE;
	ring->mask = data_size - 1;
	ring->cpu = cpu;
	raw_spin_lock_init(&ring->lock);
	init_waitqueue_head(&ring->space_wq);
	init_irq_work(&ring->notify, kspan_ring_notify);
	timer_setup(&ring->flush_timer, kspan_ring_flush, 0);
	return ring;

err_pages:
	for (i = 0; i < ring->nr_pages; i++)
		__free_page(ring->pages[i]);
	kvfree(ring->pages);
err_ring:
	kfree(ring);
	return NULL;
}

void kspan_ring_free(struct kspan_ring *ring)
{
	unsigned int i;

	if (!ring)
		return;
	/* No writer is left; the notify work may still arm the timer. */
	irq_work_sync(&ring->notify);
	del_timer_sync(&ring->flush_timer);
	vunmap(ring->area);
	for (i = 0; i < ring->nr_pages; i++)
		__free_page(ring->pages[i]);
	kvfree(ring->pages);
	kfree(ring);
}

/* Adds one to a u64 of the producer page, from any context, lock-free. */
static void kspan_page_inc(u64 *counter)
{
	u64 old = READ_ONCE(*counter);

	while (!try_cmpxchg64(counter, &old, old + 1))
		;
}

/**
 * kspan_ring_drop - count a span dropped on a ring
 * @ring: the ring
 * @why: which dropped_* counter
 *
 * Any context, NMI included: takes no lock. The next record written on
 * this ring is preceded by a lost-records record counting this drop.
 */
void kspan_ring_drop(struct kspan_ring *ring, enum kspan_drop_reason why)
{
	u64 now = ktime_get_real_fast_ns();
	atomic64_t *counter;

	atomic64_set(&ring->lost_last_ns, now);
	/* The drop that makes the count non-zero is the first of a record's. */
	if (atomic64_inc_return(&ring->lost_pending) == 1)
		atomic64_set(&ring->lost_first_ns, now);
	switch (why) {
	case KSPAN_DROP_POLICY:
		counter = &ring->stats.dropped_policy;
		break;
	case KSPAN_DROP_BUSY:
		counter = &ring->stats.dropped_busy;
		break;
	default:
		counter = &ring->stats.dropped_atomic;
		break;
	}
	kspan_count(ring, counter);
	kspan_page_inc(&ring->prod_page->lost);
}

/* Under ring->lock: the pending lost-records record, committed at once. */
static void kspan_ring_put_lost(struct kspan_ring *ring, u64 pos)
{
	struct kspan_record_header *hdr = kspan_ring_hdr(ring, pos);
	struct kspan_lost *lost = (struct kspan_lost *)(hdr + 1);
	u64 first, last;

	/*
	 * Drops that race with this take their count into the next record;
	 * their times may show here. Keep the two times in order.
	 */
	lost->count = atomic64_xchg(&ring->lost_pending, 0);
	last = atomic64_read(&ring->lost_last_ns);
	first = atomic64_read(&ring->lost_first_ns);
	lost->first_ns = min(first, last);
	lost->last_ns = last;
	lost->cpu = ring->cpu;
	lost->__reserved0 = 0;
	hdr->len = sizeof(*hdr) + sizeof(*lost);
	hdr->type = KSPAN_RECORD_LOST;
	hdr->flags = 0;
	atomic64_inc(&ring->stats.lost_records);
}

/*
 * Under ring->lock: reserve space for as many of the @n records at @recs
 * as fit, up to KSPAN_RUN_BYTES (but at least one), preceded by the
 * lost-records record if spans were dropped, and write their headers with
 * the busy flag set. Returns how many were reserved; *full says whether it
 * stopped because the next record does not fit (rather than at the end of
 * a run). *first_pos is where the first record written starts (the
 * lost-records record, if any), *span_pos where the first span starts,
 * *end_pos where the run ends.
 */
static unsigned int kspan_ring_reserve(struct kspan_ring *ring,
				       const void *recs, unsigned int n,
				       u64 *first_pos, u64 *span_pos,
				       u64 *end_pos, bool *full)
{
	const struct kspan_record_header *src = recs;
	bool lost = atomic64_read(&ring->lost_pending) != 0;
	struct kspan_record_header *hdr;
	u64 prod = ring->prod_pos, pos, end, bytes = 0;
	unsigned int fit;
	u32 total;

	/* D: pairs with the store-release in kspan_ring_advance_consumer(). */
	end = smp_load_acquire(&ring->cons_view) + kspan_ring_size(ring);
	pos = prod + (lost ? KSPAN_LOST_TOTAL : 0);
	/*
	 * One pass: a header is written only once its record is known to
	 * fit, into free space that nobody reads before producer_pos covers it.
	 */
	*full = false;
	for (fit = 0; fit < n; fit++, src = kspan_next_record(src)) {
		total = KSPAN_REC_TOTAL(src->len);
		if (pos + total > end) {
			*full = true;
			break;
		}
		/* Not full: the run is long enough, the rest comes next. */
		if (fit && bytes + total > KSPAN_RUN_BYTES)
			break;
		hdr = kspan_ring_hdr(ring, pos);
		hdr->len = src->len;
		hdr->type = KSPAN_RECORD_SPAN;
		hdr->flags = KSPAN_RECORD_BUSY;
		pos += total;
		bytes += total;
	}
	if (!fit)
		return 0;

	*first_pos = prod;
	*span_pos = prod;
	if (lost) {
		kspan_ring_put_lost(ring, prod);
		*span_pos += KSPAN_LOST_TOTAL;
	}
	*end_pos = pos;
	atomic64_add(fit, &ring->stats.submitted);
	atomic64_add(fit, &ring->stats.committed);
	atomic64_add(bytes, &ring->stats.bytes_committed);
	/* Read locklessly by kspan_ring_has_room() and the flush timer. */
	WRITE_ONCE(ring->prod_pos, pos);
	/* A: the headers above are visible before the new producer_pos. */
	smp_store_release(&ring->prod_page->producer_pos, pos);
	return fit;
}

/*
 * After a writer committed [@start, @end): wake the consumer if it may be
 * waiting on these records (its reader position inside the run), or if
 * they bring the data waiting ahead of it to the watermark. The notify
 * work decides between a wake-up and the flush timer.
 */
static void kspan_ring_wake_reader(struct kspan_ring *ring, u64 start, u64 end)
{
	u64 reader;

	/* F: the commits before the reader position; pairs with poll. */
	smp_mb();
	reader = kspan_ring_reader(ring);
	if (reader - start < end - start ||
	    (start - reader < kspan_dev.watermark &&
	     end - reader >= kspan_dev.watermark))
		irq_work_queue(&ring->notify);
}

/* Why kspan_ring_write_run() stopped short. */
enum kspan_run_stop {
	KSPAN_RUN_MORE,		/* took all, or as many as a run may */
	KSPAN_RUN_FULL,		/* the next record does not fit */
	KSPAN_RUN_BUSY,		/* NMI: the ring's lock is taken */
};

/*
 * Reserve, copy and commit as many as fit of the @n (at most
 * KSPAN_RESERVE_MAX) records at *@recs into the ring of the CPU this runs
 * on; returns how many, moves *@recs past them, and says in *@ring which
 * ring it was and in *@stop why it stopped.
 */
static unsigned int kspan_ring_write_run(const void **recs, unsigned int n,
					 const struct kspan_identity *id,
					 struct kspan_ring **ringp,
					 enum kspan_run_stop *stop)
{
	const size_t hdr_len = sizeof(struct kspan_record_header);
	const struct kspan_record_header *src = *recs;
	u64 first_pos = 0, pos = 0, end_pos = 0;
	struct kspan_record_header *hdr;
	struct kspan_ring *ring;
	struct kspan_span *span;
	unsigned int i, done;
	unsigned long flags;
	bool full;

	/*
	 * Not preempted from here to the wake-up: the window is bounded (see
	 * the top), and the ring written is this CPU's own. Only this CPU
	 * takes its ring's lock, with preemption and interrupts off, so the
	 * lock is taken only when this CPU re-entered while holding it: an NMI,
	 * or a BPF program run from inside the section. Spinning would never
	 * end: the lock is only tried, and the span dropped as busy.
	 */
	preempt_disable();
	ring = kspan_ring_of(smp_processor_id());
	*ringp = ring;
	if (!raw_spin_trylock_irqsave(&ring->lock, flags)) {
		preempt_enable();
		*stop = KSPAN_RUN_BUSY;
		return 0;
	}
	done = kspan_ring_reserve(ring, src, n, &first_pos, &pos, &end_pos, &full);
	kspan_test_hold(ring, KSPAN_HOLD_LOCKED);
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	kspan_test_hold(ring, KSPAN_HOLD_WINDOW);

	for (i = 0; i < done; i++, src = kspan_next_record(src)) {
		hdr = kspan_ring_hdr(ring, pos);
		memcpy(hdr + 1, src + 1, src->len - hdr_len);
		/* No stale bytes of an older record in the padding. */
		memset((u8 *)hdr + src->len, 0, KSPAN_REC_TOTAL(src->len) - src->len);
		span = (struct kspan_span *)(hdr + 1);
		span->id = *id;
		span->id.cpu = ring->cpu;
		/* B: the body is visible before the busy flag clears. */
		smp_store_release(&hdr->flags, 0);
		pos += KSPAN_REC_TOTAL(src->len);
	}
	if (done)
		kspan_ring_wake_reader(ring, first_pos, end_pos);
	preempt_enable();
	*recs = src;
	*stop = full ? KSPAN_RUN_FULL : KSPAN_RUN_MORE;
	return done;
}

/**
 * kspan_ring_write_many - append validated span records to this CPU's ring
 * @recs: in: @n span records in kernel memory, already validated, back to
 *	back as in a batch (each padded to KSPAN_RECORD_ALIGN); out: the first
 *	record not written
 * @n: how many
 * @id: identity to stamp into each; the CPU is set to the ring's
 * @ring: out: the ring last written, or found full or busy
 * @busy: out, may be NULL: true when it stopped because it runs in NMI and
 *	the ring's lock is taken, false when the ring is full (or all went in)
 *
 * Reserves space for runs of records under one lock acquisition each, in
 * the ring of the CPU each run executes on, then copies and commits them
 * outside the lock. Never sleeps; callable from any context. Counts each
 * record written as submitted and committed; the caller counts the outcome
 * of the first one not written, on *@ring.
 *
 * Return: how many records, from the first, were written.
 */
unsigned int kspan_ring_write_many(const void **recs, unsigned int n,
				   const struct kspan_identity *id,
				   struct kspan_ring **ring, bool *busy)
{
	enum kspan_run_stop stop = KSPAN_RUN_MORE;
	unsigned int done = 0, want;

	while (done < n && stop == KSPAN_RUN_MORE) {
		want = min_t(unsigned int, n - done, KSPAN_RESERVE_MAX);
		done += kspan_ring_write_run(recs, want, id, ring, &stop);
	}
	if (busy)
		*busy = stop == KSPAN_RUN_BUSY;
	return done;
}

/**
 * kspan_ring_write - append one validated span record to this CPU's ring
 * @rec: the record, in kernel memory, already validated
 * @id: identity to stamp into it
 * @ring: out: the ring written, or found full or busy
 *
 * As kspan_ring_write_many() for one record.
 *
 * Return: 0, -ENOSPC when the ring is full, or -EBUSY when its lock is
 * taken.
 */
int kspan_ring_write(const void *rec, const struct kspan_identity *id,
		     struct kspan_ring **ring)
{
	bool busy;

	if (kspan_ring_write_many(&rec, 1, id, ring, &busy))
		return 0;
	return busy ? -EBUSY : -ENOSPC;
}

/*
 * Whether a record of @len would fit now: the wait condition of blocked
 * producers. Reads without the lock; a wrong "yes" only costs a retry.
 */
bool kspan_ring_has_room(struct kspan_ring *ring, u32 len)
{
	/* D and E: see the top of this file. */
	u64 cons = smp_load_acquire(&ring->cons_view);
	u64 prod = READ_ONCE(ring->prod_pos);
	u64 need = KSPAN_REC_TOTAL(len);

	if (atomic64_read(&ring->lost_pending))
		need += KSPAN_LOST_TOTAL;
	return prod + need - cons <= kspan_ring_size(ring);
}

/*
 * Consumer path: count a position the consumer wrote and the module
 * ignores, once per value however often it meets it in a row.
 */
static void kspan_ring_bad_pos(struct kspan_ring *ring,
			       struct kspan_bad_pos *last, u64 pos)
{
	if (last->seen && last->pos == pos)
		return;
	last->seen = true;
	last->pos = pos;
	atomic64_inc(&ring->stats.bad_consumer_pos);
}

/*
 * Consumer path: from @from, walk committed records up to @want (never past
 * it, never into a busy record) and return where the walk stopped. With
 * @spans, counts the span records and their bytes walked over.
 */
static u64 kspan_ring_walk(struct kspan_ring *ring, u64 from, u64 want,
			   u64 *spans, u64 *bytes)
{
	struct kspan_record_header *hdr;
	unsigned int n = 0;
	u64 pos;
	u32 total;
	u16 flags;

	for (pos = from; pos < want; pos += total) {
		hdr = kspan_ring_hdr(ring, pos);
		/* B: pairs with the store-release in kspan_ring_write_run(). */
		flags = smp_load_acquire(&hdr->flags);
		if (flags & KSPAN_RECORD_BUSY)
			break;
		total = KSPAN_REC_TOTAL(READ_ONCE(hdr->len));
		if (pos + total > want)
			break;
		if (spans && READ_ONCE(hdr->type) == KSPAN_RECORD_SPAN &&
		    !(flags & KSPAN_RECORD_DISCARD)) {
			(*spans)++;
			*bytes += total;
		}
		/* A huge ring released at once: let others run meanwhile. */
		if (!(++n % 4096))
			cond_resched();
	}
	return pos;
}

/**
 * kspan_ring_advance_consumer - free what the consumer has released
 * @ring: the ring
 *
 * Called with kspan_dev.consumer_lock held. Moves the module's view of the
 * consumer position towards the position in the consumer page, record by
 * record, stopping at a busy record or at a position inside a record. A
 * position behind the view, past the producer, or misaligned is ignored and
 * counted. Wakes every producer waiting for space when space was freed.
 * Return: the bytes freed.
 */
u64 kspan_ring_advance_consumer(struct kspan_ring *ring)
{
	u64 view = ring->cons_view, want, prod, pos, spans = 0, bytes = 0;

	lockdep_assert_held(&kspan_dev.consumer_lock);

	/*
	 * C: pairs with the consumer's store-release of consumer_pos. Load it
	 * before producer_pos: the consumer saw a producer_pos at least as
	 * large as its own position, so ours is too.
	 */
	want = smp_load_acquire(&ring->cons_page->consumer_pos);
	/* A: pairs with the store-release in kspan_ring_reserve(). */
	prod = smp_load_acquire(&ring->prod_page->producer_pos);
	if (want != view &&
	    (want < view || want > prod || !IS_ALIGNED(want, KSPAN_RECORD_ALIGN))) {
		kspan_ring_bad_pos(ring, &ring->bad_cons, want);
		return 0;
	}
	ring->bad_cons.seen = false;
	if (want == view)
		return 0;

	pos = kspan_ring_walk(ring, view, want, &spans, &bytes);
	if (pos == view)
		return 0;

	atomic64_add(spans, &ring->stats.consumed);
	atomic64_add(bytes, &ring->stats.bytes_consumed);
	/* D: our header reads are done before producers may overwrite them. */
	smp_store_release(&ring->cons_view, pos);
	WRITE_ONCE(ring->prod_page->consumer_pos, pos);

	/* E: full barrier between the cons_view store and the queue check. */
	if (wq_has_sleeper(&ring->space_wq)) {
		atomic64_inc(&ring->stats.wakeups);
		wake_up_all(&ring->space_wq);
	}
	/*
	 * A submission ring's move stopped here: retry it now. The full
	 * barrier of E orders the cons_view store before this load; pairs
	 * with S in submit_ring.c.
	 */
	if (atomic_read(&ring->sring_stalled) && atomic_xchg(&ring->sring_stalled, 0))
		kspan_sring_space_freed();
	return pos - view;
}

/*
 * Consumer path: the reader position, the larger of the view and read_pos,
 * on a record boundary the module found itself: read_pos is walked to,
 * record by record, as consumer_pos is. 0, or anything at or behind the
 * view, means "read up to the view"; a read_pos past @prod or misaligned is
 * ignored (and counted).
 */
static u64 kspan_ring_reader_pos(struct kspan_ring *ring, u64 rd, u64 prod)
{
	u64 view = ring->cons_view;

	if (rd <= view) {
		ring->read_view = view;
	} else if (rd > prod || !IS_ALIGNED(rd, KSPAN_RECORD_ALIGN)) {
		kspan_ring_bad_pos(ring, &ring->bad_read, rd);
		ring->read_view = max(ring->read_view, view);
	} else {
		ring->bad_read.seen = false;
		/* Walk on from where the last walk stopped, unless rewound. */
		if (rd < ring->read_view || ring->read_view < view)
			ring->read_view = view;
		ring->read_view = kspan_ring_walk(ring, ring->read_view, rd, NULL, NULL);
	}
	return ring->read_view;
}

/**
 * kspan_ring_attach_consumer - a new consumer takes over the ring
 * @ring: the ring
 *
 * Called with kspan_dev.consumer_lock held. Applies what the previous
 * consumer released but did not report, so that the new one starts at a
 * settled position, publishes how far the previous one had read (what the
 * new one will read again), and forgets the old read_pos: a consumer that
 * never writes one (ABI 1.0) reads from consumer_pos.
 */
void kspan_ring_attach_consumer(struct kspan_ring *ring)
{
	u64 prod, prev;

	lockdep_assert_held(&kspan_dev.consumer_lock);
	kspan_ring_advance_consumer(ring);
	/*
	 * A: producer_pos before the records the walk reads. The old read_pos
	 * needs no ordering against it (C does in readable()): its writer is
	 * gone, the file that mapped it released before this attach.
	 */
	prod = smp_load_acquire(&ring->prod_page->producer_pos);
	prev = kspan_ring_reader_pos(ring, READ_ONCE(ring->cons_page->read_pos), prod);
	WRITE_ONCE(ring->prod_page->prev_read_pos, prev);
	WRITE_ONCE(ring->cons_page->read_pos, 0);
	ring->read_view = ring->cons_view;
	ring->bad_cons.seen = false;
	ring->bad_read.seen = false;
}

/**
 * kspan_ring_readable - whether poll should report the ring readable
 * @ring: the ring
 *
 * Called with kspan_dev.consumer_lock held, after the smp_mb() of F. Data
 * below the watermark arms the flush timer.
 *
 * Return: true when a committed record starts at the reader position and
 * either a watermark of data lies ahead of it or a flush is due.
 */
bool kspan_ring_readable(struct kspan_ring *ring)
{
	struct kspan_record_header *hdr;
	u64 rd, prod, reader;

	lockdep_assert_held(&kspan_dev.consumer_lock);
	/*
	 * C: read_pos before producer_pos, as consumer_pos in
	 * kspan_ring_advance_consumer(): a consumer that read up to some
	 * position saw a producer_pos at least as large.
	 */
	rd = smp_load_acquire(&ring->cons_page->read_pos);
	/* A: pairs with the store-release in kspan_ring_reserve(). */
	prod = smp_load_acquire(&ring->prod_page->producer_pos);
	reader = kspan_ring_reader_pos(ring, rd, prod);
	if (reader == prod)
		return false;
	hdr = kspan_ring_hdr(ring, reader);
	/* B: a busy record's writer wakes the consumer when it commits. */
	if (smp_load_acquire(&hdr->flags) & KSPAN_RECORD_BUSY)
		return false;
	if (prod - reader >= kspan_dev.watermark || kspan_ring_flush_due(ring, reader))
		return true;
	timer_reduce(&ring->flush_timer, jiffies + kspan_dev.flush_jiffies);
	return false;
}
