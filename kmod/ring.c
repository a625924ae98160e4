// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: one CPU's span ring.
 *
 * Writers (ioctl callers, in-kernel callers in any context) reserve space
 * under a raw spinlock with interrupts off, copy their records outside the
 * lock, and commit each by clearing its busy flag with release ordering.
 * One reservation covers a run of at most KSPAN_RESERVE_MAX records, so the
 * time spent with interrupts off is bounded; the copy reads kernel memory
 * only, so nothing under a reservation can sleep or fault.
 *
 * The consumer reads records in place through its mapping and reports its
 * position through the consumer page. That page is user-writable, so the
 * module never uses its value directly: kspan_ring_advance_consumer() walks
 * the module's own view forward record by record, up to the reported
 * position and never past a busy record, and only that view frees space.
 *
 * Barrier pairs (A..E are referred to below):
 *  A  reservation: header written, then producer_pos store-release;
 *     consumer (user space and kspan_ring_advance_consumer()) loads
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
 *     a waiter queues itself (prepare_to_wait's set_current_state(), full
 *     barrier) before it re-reads cons_view in its wait condition. Either
 *     the waker sees the waiter queued or the waiter sees the new view.
 */
#include <linux/irq_work.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "kspan.h"

static void kspan_ring_notify(struct irq_work *work)
{
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
	irq_work_sync(&ring->notify);
	vunmap(ring->area);
	for (i = 0; i < ring->nr_pages; i++)
		__free_page(ring->pages[i]);
	kvfree(ring->pages);
	kfree(ring);
}

static u64 kspan_ring_size(const struct kspan_ring *ring)
{
	return ring->mask + 1;
}

static struct kspan_record_header *kspan_ring_hdr(struct kspan_ring *ring,
						  u64 pos)
{
	return (struct kspan_record_header *)(ring->data + (pos & ring->mask));
}

/* Under ring->lock: the pending lost-records record, committed at once. */
static void kspan_ring_put_lost(struct kspan_ring *ring, u64 pos)
{
	struct kspan_record_header *hdr = kspan_ring_hdr(ring, pos);
	struct kspan_lost *lost = (struct kspan_lost *)(hdr + 1);

	hdr->len = sizeof(*hdr) + sizeof(*lost);
	hdr->type = KSPAN_RECORD_LOST;
	hdr->flags = 0;
	lost->count = ring->lost_pending;
	lost->first_ns = ring->lost_first_ns;
	lost->last_ns = ring->lost_last_ns;
	lost->cpu = ring->cpu;
	lost->__reserved0 = 0;
	WRITE_ONCE(ring->lost_pending, 0);
	ring->stats.lost_records++;
}

/*
 * Under ring->lock: reserve space for as many of the @n records at @recs
 * as fit, preceded by the lost-records record if spans were dropped, and
 * write their headers with the busy flag set. Returns how many were
 * reserved; *first_pos is where the first record written starts (the
 * lost-records record, if any), *span_pos where the first span starts.
 */
static unsigned int kspan_ring_reserve(struct kspan_ring *ring,
				       const void *recs, unsigned int n,
				       u64 *first_pos, u64 *span_pos)
{
	const struct kspan_record_header *src = recs;
	struct kspan_record_header *hdr;
	u64 prod = ring->prod_pos, pos, end;
	unsigned int fit;
	u32 total;

	/* D: pairs with the store-release in kspan_ring_advance_consumer(). */
	end = smp_load_acquire(&ring->cons_view) + kspan_ring_size(ring);
	pos = prod + (ring->lost_pending ? KSPAN_LOST_TOTAL : 0);
	/*
	 * One pass: a header is written only once its record is known to
	 * fit, into free space that nobody reads before producer_pos covers it.
	 */
	for (fit = 0; fit < n; fit++, src = kspan_next_record(src)) {
		total = KSPAN_REC_TOTAL(src->len);
		if (pos + total > end)
			break;
		hdr = kspan_ring_hdr(ring, pos);
		hdr->len = src->len;
		hdr->type = KSPAN_RECORD_SPAN;
		hdr->flags = KSPAN_RECORD_BUSY;
		pos += total;
	}
	if (!fit)
		return 0;

	*first_pos = prod;
	*span_pos = prod;
	if (ring->lost_pending) {
		kspan_ring_put_lost(ring, prod);
		*span_pos += KSPAN_LOST_TOTAL;
	}
	ring->stats.committed += fit;
	ring->stats.bytes_committed += pos - *span_pos;
	ring->prod_pos = pos;
	/* A: the headers above are visible before the new producer_pos. */
	smp_store_release(&ring->prod_page->producer_pos, pos);
	return fit;
}

/*
 * Bounds the work under the ring lock (interrupts off): a longer run of
 * records is reserved in several acquisitions.
 */
#define KSPAN_RESERVE_MAX	64

/*
 * Reserve, copy and commit as many as fit of the @n (at most
 * KSPAN_RESERVE_MAX) records at *@recs; returns how many, and moves *@recs
 * past them.
 */
static unsigned int kspan_ring_write_run(struct kspan_ring *ring,
					 const void **recs, unsigned int n,
					 const struct kspan_identity *id)
{
	const size_t hdr_len = sizeof(struct kspan_record_header);
	const struct kspan_record_header *src = *recs;
	struct kspan_record_header *hdr;
	struct kspan_span *span;
	unsigned int i, done;
	unsigned long flags;
	u64 first_pos, pos;

	if (in_nmi()) {
		if (!raw_spin_trylock_irqsave(&ring->lock, flags))
			return 0;
	} else {
		raw_spin_lock_irqsave(&ring->lock, flags);
	}
	done = kspan_ring_reserve(ring, src, n, &first_pos, &pos);
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	for (i = 0; i < done; i++, src = kspan_next_record(src)) {
		hdr = kspan_ring_hdr(ring, pos);
		memcpy(hdr + 1, src + 1, src->len - hdr_len);
		span = (struct kspan_span *)(hdr + 1);
		span->id = *id;
		span->id.cpu = ring->cpu;
		/* B: the body is visible before the busy flag clears. */
		smp_store_release(&hdr->flags, 0);
		pos += KSPAN_REC_TOTAL(src->len);
	}
	*recs = src;

	/*
	 * Wake the consumer only when it had caught up with the first record
	 * written and so may be asleep; otherwise it gets here without one.
	 */
	if (done && (READ_ONCE(ring->cons_page->consumer_pos) & ring->mask) ==
		    (first_pos & ring->mask))
		irq_work_queue(&ring->notify);
	return done;
}

/**
 * kspan_ring_write_many - append validated span records to a ring
 * @ring: the ring
 * @recs: in: @n span records in kernel memory, already validated, back to
 *	back as in a batch (each padded to KSPAN_RECORD_ALIGN); out: the first
 *	record not written
 * @n: how many
 * @id: identity to stamp into each; the CPU is set to the ring's
 *
 * Reserves space for runs of records under one lock acquisition each, then
 * copies and commits them outside the lock. Never sleeps; callable from any
 * context (in NMI only if the lock is free). Returns how many records, from
 * the first, were written: fewer than @n only when the ring is full (or, in
 * NMI, its lock is taken).
 */
unsigned int kspan_ring_write_many(struct kspan_ring *ring, const void **recs,
				   unsigned int n,
				   const struct kspan_identity *id)
{
	unsigned int done = 0, run, want;

	while (done < n) {
		want = min_t(unsigned int, n - done, KSPAN_RESERVE_MAX);
		run = kspan_ring_write_run(ring, recs, want, id);
		done += run;
		if (run < want)
			break;
	}
	return done;
}

/**
 * kspan_ring_write - append one validated span record to a ring
 * @ring: the ring
 * @rec: the record, in kernel memory, already validated
 * @id: identity to stamp into it
 *
 * As kspan_ring_write_many() for one record. Returns 0, or -ENOSPC when the
 * ring is full.
 */
int kspan_ring_write(struct kspan_ring *ring, const void *rec,
		     const struct kspan_identity *id)
{
	return kspan_ring_write_many(ring, &rec, 1, id) ? 0 : -ENOSPC;
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

	if (READ_ONCE(ring->lost_pending))
		need += KSPAN_LOST_TOTAL;
	return prod + need - cons <= kspan_ring_size(ring);
}

/*
 * Count a span dropped on a full ring; the next record written on this ring
 * is preceded by a lost-records record.
 */
void kspan_ring_drop(struct kspan_ring *ring, bool atomic_ctx)
{
	u64 now = ktime_get_real_ns();
	unsigned long flags;

	raw_spin_lock_irqsave(&ring->lock, flags);
	if (!ring->lost_pending)
		ring->lost_first_ns = now;
	ring->lost_last_ns = now;
	WRITE_ONCE(ring->lost_pending, ring->lost_pending + 1);
	if (atomic_ctx)
		ring->stats.dropped_atomic++;
	else
		ring->stats.dropped_policy++;
	WRITE_ONCE(ring->prod_page->lost, ring->prod_page->lost + 1);
	raw_spin_unlock_irqrestore(&ring->lock, flags);
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
 * Returns the bytes freed.
 */
u64 kspan_ring_advance_consumer(struct kspan_ring *ring)
{
	struct kspan_record_header *hdr;
	u64 view = ring->cons_view, want, prod, pos, spans = 0;
	u32 rlen;
	u16 flags;

	lockdep_assert_held(&kspan_dev.consumer_lock);

	/*
	 * C: pairs with the consumer's store-release of consumer_pos. Load it
	 * before producer_pos: the consumer saw a producer_pos at least as
	 * large as its own position, so ours is too.
	 */
	want = smp_load_acquire(&ring->cons_page->consumer_pos);
	/* A: pairs with the store-release in kspan_ring_reserve(). */
	prod = smp_load_acquire(&ring->prod_page->producer_pos);
	if (want == view)
		return 0;
	if (want < view || want > prod || !IS_ALIGNED(want, KSPAN_RECORD_ALIGN)) {
		ring->stats.bad_consumer_pos++;
		return 0;
	}

	for (pos = view; pos < want; pos += KSPAN_REC_TOTAL(rlen)) {
		hdr = kspan_ring_hdr(ring, pos);
		/* B: pairs with the store-release in kspan_ring_write_run(). */
		flags = smp_load_acquire(&hdr->flags);
		if (flags & KSPAN_RECORD_BUSY)
			break;
		rlen = READ_ONCE(hdr->len);
		if (pos + KSPAN_REC_TOTAL(rlen) > want)
			break;
		if (hdr->type == KSPAN_RECORD_SPAN && !(flags & KSPAN_RECORD_DISCARD))
			spans++;
	}
	if (pos == view)
		return 0;

	ring->stats.consumed += spans;
	ring->stats.bytes_consumed += pos - view;
	/* D: our header reads are done before producers may overwrite them. */
	smp_store_release(&ring->cons_view, pos);
	WRITE_ONCE(ring->prod_page->consumer_pos, pos);

	/* E: full barrier between the cons_view store and the queue check. */
	if (wq_has_sleeper(&ring->space_wq)) {
		ring->stats.wakeups++;
		wake_up_all(&ring->space_wq);
	}
	return pos - view;
}

/* Whether the consumer has records beyond its own position to read. */
bool kspan_ring_readable(struct kspan_ring *ring)
{
	/* A: pairs with the store-release in kspan_ring_reserve(). */
	u64 prod = smp_load_acquire(&ring->prod_page->producer_pos);

	return prod != READ_ONCE(ring->cons_page->consumer_pos) &&
	       prod != READ_ONCE(ring->cons_view);
}

/* Adds this ring's counters to @sum. */
void kspan_ring_read_stats(struct kspan_ring *ring, struct kspan_stats *sum)
{
	struct kspan_ring_stats *st = &ring->stats;
	unsigned long flags;

	sum->submitted += atomic64_read(&st->submitted);
	sum->rejected += atomic64_read(&st->rejected);
	sum->full_eagain += atomic64_read(&st->full_eagain);
	sum->full_timeout += atomic64_read(&st->full_timeout);
	sum->interrupted += atomic64_read(&st->interrupted);
	sum->blocked += atomic64_read(&st->blocked);

	raw_spin_lock_irqsave(&ring->lock, flags);
	sum->committed += st->committed;
	sum->bytes_committed += st->bytes_committed;
	sum->dropped_atomic += st->dropped_atomic;
	sum->dropped_policy += st->dropped_policy;
	sum->lost_records += st->lost_records;
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	mutex_lock(&kspan_dev.consumer_lock);
	sum->consumed += st->consumed;
	sum->bytes_consumed += st->bytes_consumed;
	sum->bad_consumer_pos += st->bad_consumer_pos;
	sum->wakeups += st->wakeups;
	mutex_unlock(&kspan_dev.consumer_lock);
}
