// SPDX-License-Identifier: GPL-2.0
/*
 * kspan_consumer: the user-space half of the ring protocol described in
 * <linux/kspan.h>. Barriers pair with the module's (kmod/ring.c):
 * producer_pos and record flags are loaded with acquire (A, B there);
 * consumer_pos is stored with release (C there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kspan_client.h"
#include "kspan_consumer.h"
#include "kspan_record.h"

static void unmap_ring(struct kspan_consumer *c, struct kspan_cring *r)
{
	if (r->cons)
		munmap(r->cons, c->info.page_size);
	if (r->ro_map)
		munmap(r->ro_map, r->ro_len);
	memset(r, 0, sizeof(*r));
}

static int map_ring(struct kspan_consumer *c, unsigned int i)
{
	struct kspan_cring *r = &c->rings[i];
	off_t base = (off_t)(i * KSPAN_MMAP_RING_STRIDE);
	void *p;

	p = mmap(NULL, c->info.page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 c->fd, base + (off_t)c->info.consumer_off);
	if (p == MAP_FAILED)
		return errno == ENXIO ? 0 : -errno;	/* ENXIO: no such CPU */
	r->cons = p;

	r->ro_len = c->info.page_size + 2 * c->info.data_size;
	p = mmap(NULL, r->ro_len, PROT_READ, MAP_SHARED, c->fd,
		 base + (off_t)c->info.producer_off);
	if (p == MAP_FAILED) {
		int ret = -errno;

		unmap_ring(c, r);
		return ret;
	}
	r->ro_map = p;
	r->prod = p;
	r->data = (const uint8_t *)p + (c->info.data_off - c->info.producer_off);
	/* Resume where the previous consumer left off. */
	r->read_pos = __atomic_load_n(&r->prod->consumer_pos, __ATOMIC_ACQUIRE);
	r->reread_end = r->read_pos;
	if (c->abi_minor >= 2) {
		uint64_t prev = r->prod->prev_read_pos;

		if (prev > r->read_pos)
			r->reread_end = prev;
	}
	return 0;
}

int kspan_consumer_open(struct kspan_consumer *c)
{
	struct kspan_version ver;
	unsigned int i;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = kspan_open(O_RDWR | O_NONBLOCK);
	if (c->fd < 0)
		return c->fd;
	ret = kspan_get_version(c->fd, &ver);
	if (!ret)
		ret = kspan_abi_check(&ver, 1);
	if (ret)
		goto err;
	c->abi_minor = ver.abi_minor;
	if (ioctl(c->fd, KSPAN_IOC_CONSUMER_ATTACH) ||
	    ioctl(c->fd, KSPAN_IOC_RING_INFO, &c->info)) {
		ret = -errno;
		goto err;
	}
	c->rings = calloc(c->info.nr_rings, sizeof(*c->rings));
	if (!c->rings) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < c->info.nr_rings; i++) {
		ret = map_ring(c, i);
		if (ret)
			goto err;
	}
	return 0;
err:
	kspan_consumer_close(c);
	return ret;
}

void kspan_consumer_close(struct kspan_consumer *c)
{
	unsigned int i;

	if (c->rings)
		for (i = 0; i < c->info.nr_rings; i++)
			unmap_ring(c, &c->rings[i]);
	free(c->rings);
	c->rings = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

const struct kspan_record_header *kspan_consumer_next(struct kspan_consumer *c,
						      unsigned int i)
{
	struct kspan_cring *r = &c->rings[i];
	const struct kspan_record_header *hdr;
	uint64_t prod;
	uint16_t flags;

	if (!r->cons)
		return NULL;
	for (;;) {
		prod = __atomic_load_n(&r->prod->producer_pos, __ATOMIC_ACQUIRE);
		if (r->read_pos >= prod)
			return NULL;
		hdr = (const void *)(r->data + (r->read_pos & (c->info.data_size - 1)));
		flags = __atomic_load_n(&hdr->flags, __ATOMIC_ACQUIRE);
		if (flags & KSPAN_RECORD_BUSY)
			return NULL;
		r->read_pos += kspan_record_total(hdr->len);
		if (!(flags & KSPAN_RECORD_DISCARD))
			return hdr;
	}
}

void kspan_consumer_mark_read(struct kspan_consumer *c, unsigned int i)
{
	struct kspan_cring *r = &c->rings[i];

	/* poll() orders its loads after it (F in kmod/ring.c); see idle(). */
	if (r->cons)
		__atomic_store_n(&r->cons->read_pos, r->read_pos, __ATOMIC_RELEASE);
}

/* Whether ring @i has a committed record at its read position. */
static bool ring_has_record(struct kspan_consumer *c, unsigned int i)
{
	struct kspan_cring *r = &c->rings[i];
	const struct kspan_record_header *hdr;
	uint64_t prod;

	prod = __atomic_load_n(&r->prod->producer_pos, __ATOMIC_ACQUIRE);
	if (r->read_pos >= prod)
		return false;
	hdr = (const void *)(r->data + (r->read_pos & (c->info.data_size - 1)));
	return !(__atomic_load_n(&hdr->flags, __ATOMIC_ACQUIRE) & KSPAN_RECORD_BUSY);
}

bool kspan_consumer_idle(struct kspan_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++)
		kspan_consumer_mark_read(c, i);
	/* F in kmod/ring.c: pairs with the smp_mb() after a writer's commit. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < c->info.nr_rings; i++)
		if (c->rings[i].cons && ring_has_record(c, i))
			return false;
	return true;
}

int kspan_consumer_release(struct kspan_consumer *c, unsigned int i, uint64_t pos)
{
	struct kspan_cring *r = &c->rings[i];

	if (!r->cons)
		return -EINVAL;
	__atomic_store_n(&r->cons->consumer_pos, pos, __ATOMIC_RELEASE);
	return ioctl(c->fd, KSPAN_IOC_RELEASE, (unsigned long)i) ? -errno : 0;
}

int kspan_consumer_release_all(struct kspan_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->info.nr_rings; i++)
		if (c->rings[i].cons)
			__atomic_store_n(&c->rings[i].cons->consumer_pos,
					 c->rings[i].read_pos, __ATOMIC_RELEASE);
	return ioctl(c->fd, KSPAN_IOC_RELEASE, (unsigned long)KSPAN_RELEASE_ALL) ? -errno : 0;
}
