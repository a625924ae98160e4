/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan_consumer: attach to /dev/kspan as its consumer, map every ring,
 * read records in place and release them once they are dealt with.
 *
 * Reading and releasing are separate on purpose: a record read is not
 * released (and its space not reused) until kspan_consumer_release() says
 * so, e.g. after a backend acknowledged it.
 */
#ifndef KSPAN_CONSUMER_H
#define KSPAN_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kspan.h>

struct kspan_cring {
	struct kspan_consumer_page *cons;	/* read-write page */
	const struct kspan_producer_page *prod;
	const uint8_t *data;			/* data_size bytes, twice */
	uint64_t read_pos;			/* next record to read */
	/*
	 * Up to here, records were read by the previous consumer but not
	 * released (ABI 1.2): reading them again may duplicate them.
	 */
	uint64_t reread_end;
	void *ro_map;
	size_t ro_len;
};

struct kspan_consumer {
	int fd;
	unsigned int abi_minor;			/* the module's */
	struct kspan_ring_info info;
	struct kspan_cring *rings;		/* info.nr_rings; unmapped: NULL cons */
};

/* Opens the device (O_NONBLOCK | O_CLOEXEC), attaches, maps the rings.
 * Reading starts where the previous consumer released. Needs ABI 1.1 (a
 * read position apart from the release position). Returns 0, -EPROTO for
 * a module of another ABI, or -errno.
 */
int kspan_consumer_open(struct kspan_consumer *c);
void kspan_consumer_close(struct kspan_consumer *c);

/*
 * The next committed record of ring @i, or NULL when the ring has nothing
 * committed beyond read_pos. Advances read_pos past it; the pointer stays
 * valid until the record is released.
 */
const struct kspan_record_header *kspan_consumer_next(struct kspan_consumer *c,
						      unsigned int i);

/*
 * Tells the module how far ring @i has been read (read_pos in the consumer
 * page, ABI 1.1): poll then sleeps until records arrive past it, even while
 * nothing read is released yet. No system call.
 */
void kspan_consumer_mark_read(struct kspan_consumer *c, unsigned int i);

/*
 * Before waiting for records (poll, epoll): marks every ring as read up to
 * where it was read, then, after a full memory barrier that pairs with the
 * writers', looks for a committed record past that on any ring. Returns
 * true when there is none and the consumer may sleep: a record committed
 * after this wakes it. Needed before an edge-triggered epoll_wait, or one
 * that will not call the device's poll (see <linux/kspan.h>).
 */
bool kspan_consumer_idle(struct kspan_consumer *c);

/* Releases ring @i up to @pos (a read_pos seen before): stores it in the
 * consumer page and tells the module, which wakes blocked producers.
 */
int kspan_consumer_release(struct kspan_consumer *c, unsigned int i, uint64_t pos);
/* Releases everything read so far on every ring. */
int kspan_consumer_release_all(struct kspan_consumer *c);

#endif /* KSPAN_CONSUMER_H */
