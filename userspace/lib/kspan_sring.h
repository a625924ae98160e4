/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0 */
/*
 * kspan_sring: the producer's half of a submission ring (<linux/kspan.h>,
 * ABI 1.3): set it up on an open /dev/kspan file, map it, write records
 * and publish them, no system call per record.
 *
 * One writer per ring. Barriers pair with the module's (kmod/submit_ring.c):
 * tail is stored with release (P there), head loaded with acquire (H).
 */
#ifndef KSPAN_SRING_H
#define KSPAN_SRING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kspan.h>

struct kspan_sring {
	int fd;
	const struct kspan_submit_head *head;	/* read-only page */
	struct kspan_submit_tail *tail;		/* read-write page */
	uint8_t *data;				/* size bytes, twice */
	uint64_t size;
	uint64_t pos;				/* next write; published as tail */
	uint32_t record_max;
	size_t page_size;
};

/* KSPAN_IOC_SETUP_SUBMIT_RING of @size bytes on @fd, then maps it.
 * Returns 0 or -errno; @r is untouched on failure (but a ring set up and
 * not mapped stays with @fd: close it).
 */
int kspan_sring_setup(struct kspan_sring *r, int fd, uint32_t size);
/* Unmaps the ring (the fd stays open: closing it moves what is left). */
void kspan_sring_unmap(struct kspan_sring *r);

/*
 * Where a record of @len bytes may be written now, or NULL when the ring
 * lacks room for it (after looking at the module's head once more).
 */
void *kspan_sring_reserve(struct kspan_sring *r, size_t len);
/* Counts the record of @len written at the last reservation as written. */
void kspan_sring_produce(struct kspan_sring *r, size_t len);
/* Publishes what was produced: the module may take it from now on. */
void kspan_sring_publish(struct kspan_sring *r);
/* Whether a record of @len bytes can ever go through the ring: 0, or
 * -EMSGSIZE when it is longer than record_max or than the ring.
 */
int kspan_sring_check_len(const struct kspan_sring *r, size_t len);
/* Writes the record @rec (its header says its length) and publishes it:
 * 0, -EAGAIN when it does not fit now, -EMSGSIZE when it never will.
 */
int kspan_sring_write(struct kspan_sring *r, const void *rec);
/* Bytes written and not yet taken by the module. */
uint64_t kspan_sring_pending(const struct kspan_sring *r);
/* KSPAN_IOC_FLUSH with @flags; 0 or -errno. */
int kspan_sring_flush(struct kspan_sring *r, unsigned int flags);

#endif /* KSPAN_SRING_H */
