// SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0
/*
 * kspan_sring: writing a submission ring (see kspan_sring.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kspan_record.h"
#include "kspan_sring.h"

int kspan_sring_setup(struct kspan_sring *r, int fd, uint32_t size)
{
	struct kspan_submit_setup setup = { .size = size };
	void *head, *rw;

	if (ioctl(fd, KSPAN_IOC_SETUP_SUBMIT_RING, &setup) < 0)
		return -errno;
	head = mmap(NULL, setup.page_size, PROT_READ, MAP_SHARED, fd,
		    (off_t)setup.mmap_offset);
	if (head == MAP_FAILED)
		return -errno;
	rw = mmap(NULL, setup.page_size + 2 * (size_t)size, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fd, (off_t)(setup.mmap_offset + setup.page_size));
	if (rw == MAP_FAILED) {
		int err = -errno;

		munmap(head, setup.page_size);
		return err;
	}
	r->fd = fd;
	r->head = head;
	r->tail = rw;
	r->data = (uint8_t *)rw + setup.page_size;
	r->size = size;
	r->pos = __atomic_load_n(&r->tail->tail, __ATOMIC_RELAXED);
	r->record_max = setup.record_max;
	r->page_size = setup.page_size;
	return 0;
}

void kspan_sring_unmap(struct kspan_sring *r)
{
	if (r->head)
		munmap((void *)r->head, r->page_size);
	if (r->tail)
		munmap(r->tail, r->page_size + 2 * r->size);
	r->head = NULL;
	r->tail = NULL;
	r->data = NULL;
}

void *kspan_sring_reserve(struct kspan_sring *r, size_t len)
{
	/* H: the module copied out what lies before head. */
	uint64_t head = __atomic_load_n(&r->head->head, __ATOMIC_ACQUIRE);

	if (r->pos + kspan_record_total(len) - head > r->size)
		return NULL;
	return r->data + (r->pos & (r->size - 1));
}

void kspan_sring_produce(struct kspan_sring *r, size_t len)
{
	uint8_t *rec = r->data + (r->pos & (r->size - 1));
	size_t total = kspan_record_total(len);

	/* No stale bytes in the padding. */
	memset(rec + len, 0, total - len);
	r->pos += total;
}

void kspan_sring_publish(struct kspan_sring *r)
{
	/* P: the records are written before the module sees the tail. */
	__atomic_store_n(&r->tail->tail, r->pos, __ATOMIC_RELEASE);
}

int kspan_sring_check_len(const struct kspan_sring *r, size_t len)
{
	return len > r->record_max || kspan_record_total(len) > r->size ? -EMSGSIZE : 0;
}

int kspan_sring_write(struct kspan_sring *r, const void *rec)
{
	const struct kspan_record_header *hdr = rec;
	void *dst;

	if (kspan_sring_check_len(r, hdr->len))
		return -EMSGSIZE;
	dst = kspan_sring_reserve(r, hdr->len);
	if (!dst)
		return -EAGAIN;
	memcpy(dst, rec, hdr->len);
	kspan_sring_produce(r, hdr->len);
	kspan_sring_publish(r);
	return 0;
}

uint64_t kspan_sring_pending(const struct kspan_sring *r)
{
	return r->pos - __atomic_load_n(&r->head->head, __ATOMIC_ACQUIRE);
}

int kspan_sring_flush(struct kspan_sring *r, unsigned int flags)
{
	return ioctl(r->fd, KSPAN_IOC_FLUSH, (unsigned long)flags) < 0 ? -errno : 0;
}
