/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan: declarations shared between the module's files.
 */
#ifndef _KSPAN_KMOD_KSPAN_H
#define _KSPAN_KMOD_KSPAN_H

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/uidgid.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <uapi/linux/kspan.h>
#include <uapi/kspan_check.h>

struct file;
struct kspan_sring;
struct poll_table_struct;
struct vm_area_struct;

#define KSPAN_MODULE_VERSION	"0.3.0"

/* Bytes a record of @len takes in a ring. */
#define KSPAN_REC_TOTAL(len)	ALIGN((u32)(len), KSPAN_RECORD_ALIGN)
#define KSPAN_LOST_TOTAL \
	KSPAN_REC_TOTAL(sizeof(struct kspan_record_header) + sizeof(struct kspan_lost))
/* Smallest valid span record: header, body, a one-byte name. */
#define KSPAN_SPAN_MIN_LEN \
	(sizeof(struct kspan_record_header) + sizeof(struct kspan_span) + 1)

/* The record after @rec, in records laid back to back as in a batch. */
static inline const void *kspan_next_record(const void *rec)
{
	const struct kspan_record_header *hdr = rec;

	return rec + KSPAN_REC_TOTAL(hdr->len);
}

/*
 * Counters of one ring; struct kspan_stats says what each one counts.
 * Atomic, so that they are updated from any context (NMI included) and
 * read without any of the ring's locks.
 */
struct kspan_ring_stats {
	atomic64_t submitted;
	atomic64_t committed;
	atomic64_t consumed;
	atomic64_t rejected;
	atomic64_t dropped_atomic;
	atomic64_t dropped_policy;
	atomic64_t dropped_busy;
	atomic64_t full_eagain;
	atomic64_t full_timeout;
	atomic64_t interrupted;
	atomic64_t blocked;
	atomic64_t wakeups;
	atomic64_t lost_records;
	atomic64_t bytes_committed;
	atomic64_t bytes_consumed;
	atomic64_t bad_consumer_pos;
};

/* Why a span was dropped: which counter says so. */
enum kspan_drop_reason {
	KSPAN_DROP_ATOMIC,	/* full ring, caller cannot sleep */
	KSPAN_DROP_POLICY,	/* full ring, KSPAN_FULL_DROP file */
	KSPAN_DROP_BUSY,	/* NMI found the ring's lock taken */
};

/* The last position a consumer wrote that the module ignored. */
struct kspan_bad_pos {
	u64 pos;
	bool seen;
};

/*
 * struct kspan_ring - one CPU's span ring (internal: its fields are
 * described where they are declared)
 *
 * The memory behind @area is, in this order: the consumer page (mapped
 * read-write into the consumer), the producer page, and the data pages
 * mapped twice back to back, so that a record crossing the end of the data
 * is contiguous both here and in the consumer's mapping.
 *
 * Positions only grow; a position's offset in the data is pos & @mask.
 * Space [@cons_view, @prod_pos) holds records, committed or busy; the rest
 * is free. Only the consumer path moves @cons_view, only reservations move
 * @prod_pos.
 */
struct kspan_ring {
	/* Serialises reservations: @prod_pos and the headers it covers. */
	raw_spinlock_t lock;
	u64 prod_pos;		/* written under @lock, read locklessly */

	/*
	 * Spans dropped and not yet reported by a lost-records record. Any
	 * context adds to them without the lock (an NMI must never spin);
	 * the next reservation takes them under the lock.
	 */
	atomic64_t lost_pending;
	atomic64_t lost_first_ns;
	atomic64_t lost_last_ns;

	/* Written by the consumer path, read by producers without the lock. */
	u64 cons_view ____cacheline_aligned_in_smp;
	/* Consumer path only: the last bad positions counted (count once). */
	struct kspan_bad_pos bad_cons;
	struct kspan_bad_pos bad_read;
	/* Consumer path only: how far read_pos was walked, record by record. */
	u64 read_view;
	/* Data before it waited a flush interval (set by the flush timer). */
	u64 flush_pos;

	/* Producers that wait for space; woken all at once when space frees. */
	wait_queue_head_t space_wq;
	/* Wakes the consumer or arms the flush timer, from any context. */
	struct irq_work notify;
	/* Runs while data below the watermark waits: see kspan_ring_notify(). */
	struct timer_list flush_timer;

	/* A submission ring's move stopped here for want of space (S). */
	atomic_t sring_stalled;

	unsigned int cpu;
	u64 mask;
	struct kspan_ring_stats stats;

	void *area;
	struct kspan_consumer_page *cons_page;
	struct kspan_producer_page *prod_page;
	u8 *data;
	struct page **pages;
	unsigned int nr_pages;
};

/* What a ring write stamps into a span: who submitted it. */
void kspan_identity_fill(struct kspan_identity *id);

/* ring.c */
struct kspan_ring *kspan_ring_alloc(unsigned int cpu, size_t data_size);
void kspan_ring_free(struct kspan_ring *ring);
unsigned int kspan_ring_write_many(const void **recs, unsigned int n,
				   const struct kspan_identity *id,
				   struct kspan_ring **ring, bool *busy);
int kspan_ring_write(const void *rec, const struct kspan_identity *id,
		     struct kspan_ring **ring);
bool kspan_ring_has_room(struct kspan_ring *ring, u32 len);
void kspan_ring_drop(struct kspan_ring *ring, enum kspan_drop_reason why);
void kspan_ring_attach_consumer(struct kspan_ring *ring);
u64 kspan_ring_advance_consumer(struct kspan_ring *ring);
bool kspan_ring_readable(struct kspan_ring *ring);

/* Counts one record's outcome, and its offer, on @ring. */
static inline void kspan_count(struct kspan_ring *ring, atomic64_t *outcome)
{
	atomic64_inc(&ring->stats.submitted);
	atomic64_inc(outcome);
}

/**
 * kspan_record_validate - check a span record from a producer
 * @rec: the record, the module's own copy: what is checked is what is written
 * @len: bytes at @rec
 * @record_max: the module's record size bound
 *
 * The rules are in uapi/kspan_check.h, shared with user space. Inline:
 * a batch checks every record.
 *
 * Return: 0, -EMSGSIZE for a record longer than @record_max, or -EINVAL.
 */
static inline int kspan_record_validate(const void *rec, u32 len, u32 record_max)
{
	return kspan_check_span(rec, len, record_max);
}

/* The device: rings, the one consumer, and the module's parameters. */
struct kspan_dev {
	struct kspan_ring **rings;	/* nr_rings entries, NULL if !possible */
	unsigned int nr_rings;
	size_t ring_size;
	u32 record_max;
	u32 watermark;			/* bytes that make a ring readable */
	unsigned long flush_jiffies;	/* data waits at most this long */
	kgid_t consumer_gid;		/* may attach without CAP_SYS_ADMIN */
	u64 orphan_max;			/* bytes of released submission rings kept */

	struct mutex consumer_lock;	/* @consumer, consumer-side ring state */
	struct file *consumer;
	wait_queue_head_t consumer_wq;
};

extern struct kspan_dev kspan_dev;

static inline struct kspan_ring *kspan_ring_of(unsigned int cpu)
{
	return cpu < kspan_dev.nr_rings ? kspan_dev.rings[cpu] : NULL;
}

/* Per open file of /dev/kspan. */
struct kspan_file {
	u32 policy;		/* enum kspan_full_policy */
	u64 timeout_ns;		/* 0: wait without limit */
	bool consumer;
	/*
	 * Where submits longer than the stack buffer and batches are copied
	 * from user memory: allocated on first use and kept, so that a call
	 * does not allocate (and, with init_on_alloc, clear) a buffer.
	 */
	struct mutex copy_lock;	/* @copy_buf */
	void *copy_buf;
	/* The submission ring, set up at most once (submit_ring.c). */
	struct kspan_sring *sring;
};

void kspan_file_release_producer(struct kspan_file *kf);

/* producer.c */
long kspan_ioctl_submit(struct file *file, void __user *uarg);
long kspan_ioctl_submit_batch(struct file *file, void __user *uarg);
long kspan_ioctl_producer_opts(struct file *file, void __user *uarg);
ktime_t kspan_deadline(struct file *file);
int kspan_wait_for_room(struct kspan_ring *ring, u32 len, ktime_t deadline);

/* submit_ring.c */
long kspan_ioctl_setup_submit_ring(struct file *file, void __user *uarg);
long kspan_ioctl_flush(struct file *file, unsigned long flags);
bool kspan_sring_broken(struct file *file);
bool kspan_file_has_sring(struct file *file);
int kspan_sring_mmap(struct file *file, struct vm_area_struct *vma);
__poll_t kspan_sring_poll(struct file *file, struct poll_table_struct *pt);
void kspan_sring_release(struct kspan_file *kf);
void kspan_sring_space_freed(void);
void kspan_sring_exit(void);
int kspan_sring_current_span(struct kspan_span_context *ctx, bool in_irq);

/* bpf.c: kfuncs, called by BPF programs only (declared for the checkers). */
int kspan_bpf_submit(const void *rec, u32 rec__sz);
int kspan_bpf_current_span(void *out, u32 out__sz, u64 flags);

/* consumer.c */
long kspan_ioctl_consumer_attach(struct file *file);
long kspan_ioctl_ring_info(struct file *file, void __user *uarg);
long kspan_ioctl_release(struct file *file, unsigned long ring);
void kspan_consumer_detach(struct file *file);
int kspan_consumer_mmap(struct file *file, struct vm_area_struct *vma);
__poll_t kspan_consumer_poll(struct file *file, struct poll_table_struct *pt);

/* bpf.c */
void kspan_bpf_init(void);
void kspan_bpf_exit(void);

/* stats.c */
long kspan_ioctl_stats(void __user *uarg);
int kspan_debugfs_init(void);
void kspan_debugfs_exit(void);

/* chrdev.c */
int kspan_chrdev_register(umode_t mode, kgid_t gid);
void kspan_chrdev_unregister(void);

#endif /* _KSPAN_KMOD_KSPAN_H */
