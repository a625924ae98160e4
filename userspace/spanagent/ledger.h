/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ledger: at-least-once bookkeeping. Every record read from a ring belongs
 * to one batch; a ring is released only past records whose batches are all
 * settled (acknowledged, or refused for good), in ring order: a later batch
 * settled first releases nothing until the earlier ones are settled too.
 *
 * Per ring, the records read but not released are a queue of segments, one
 * per batch that took records from the ring, oldest first. A batch takes
 * one contiguous run of each ring (it extends its segment while it fills),
 * and its slot is reused only once all its segments are released
 * (ledger_batch_busy()), so a ring's queue never holds more segments than
 * there are batch slots.
 */
#ifndef SPANAGENT_LEDGER_H
#define SPANAGENT_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

struct ledger_seg {
	uint64_t end;		/* ring position after the segment's last record */
	uint32_t batch;
	bool settled;
};

struct ledger_ring {
	struct ledger_seg *q;	/* circular, nr_batches entries */
	uint32_t head, count;
	uint64_t released;	/* what the module was last told */
};

struct ledger {
	struct ledger_ring *rings;
	uint32_t *refs;		/* per batch slot: segments not yet released */
	uint32_t nr_rings;
	uint32_t nr_batches;
};

int ledger_init(struct ledger *l, uint32_t nr_rings, uint32_t nr_batches,
		const uint64_t *released);
void ledger_free(struct ledger *l);

/* Ring @ring was read up to @end by batch @batch. */
void ledger_read(struct ledger *l, uint32_t ring, uint32_t batch, uint64_t end);

/*
 * Batch @batch is settled. Stores in @pos (one per ring) where each ring
 * may now be released and returns whether any moved.
 */
bool ledger_settle(struct ledger *l, uint32_t batch, uint64_t *pos);

/* Whether slot @batch still has records not released (not reusable). */
static inline bool ledger_batch_busy(const struct ledger *l, uint32_t batch)
{
	return l->refs[batch] != 0;
}

#endif /* SPANAGENT_LEDGER_H */
