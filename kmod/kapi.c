// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: the in-kernel producer API.
 */
#include <linux/export.h>
#include <linux/smp.h>

#include "kspan.h"
#include "kspan_api.h"

/**
 * kspan_submit - submit one span record from kernel code
 * @rec: a KSPAN_RECORD_SPAN record laid out as in <uapi/linux/kspan.h>
 * @len: its length in bytes
 *
 * Callable from any context, hard IRQ and NMI included; never sleeps and
 * never spins. On a full ring the span is dropped and counted, and the
 * consumer finds a KSPAN_RECORD_LOST record before the next span written
 * on that CPU. A ring this CPU is already writing (an NMI or a BPF program
 * re-entered the writer) counts as busy: the span is dropped the same way.
 *
 * Return: 0 when written, -ENOSPC (full) or -EBUSY (ring busy) when
 * dropped, -EINVAL or -EMSGSIZE for a malformed record (refused, counted as
 * rejected).
 */
int kspan_submit(const void *rec, size_t len)
{
	struct kspan_identity id;
	struct kspan_ring *ring;
	int ret;

	if (len > U32_MAX)
		ret = -EMSGSIZE;
	else
		ret = kspan_record_validate(rec, len, kspan_dev.record_max);
	if (ret) {
		ring = kspan_ring_of(raw_smp_processor_id());
		kspan_count(ring, &ring->stats.rejected);
		return ret;
	}

	kspan_identity_fill(&id);
	ret = kspan_ring_write(rec, &id, &ring);
	if (ret == -ENOSPC)
		kspan_ring_drop(ring, KSPAN_DROP_ATOMIC);
	else if (ret == -EBUSY)
		kspan_ring_drop(ring, KSPAN_DROP_BUSY);
	return ret;
}
EXPORT_SYMBOL_GPL(kspan_submit);
