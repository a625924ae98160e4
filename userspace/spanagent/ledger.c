// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "ledger.h"

int ledger_init(struct ledger *l, uint32_t nr_rings, uint32_t nr_batches,
		const uint64_t *released)
{
	uint32_t i;

	l->nr_rings = nr_rings;
	l->nr_batches = nr_batches;
	l->rings = calloc(nr_rings, sizeof(*l->rings));
	l->refs = calloc(nr_batches, sizeof(*l->refs));
	if (!l->rings || !l->refs) {
		ledger_free(l);
		return -ENOMEM;
	}
	for (i = 0; i < nr_rings; i++) {
		l->rings[i].q = calloc(nr_batches, sizeof(*l->rings[i].q));
		if (!l->rings[i].q) {
			ledger_free(l);
			return -ENOMEM;
		}
		l->rings[i].released = released[i];
	}
	return 0;
}

void ledger_free(struct ledger *l)
{
	uint32_t i;

	if (l->rings)
		for (i = 0; i < l->nr_rings; i++)
			free(l->rings[i].q);
	free(l->rings);
	free(l->refs);
	l->rings = NULL;
	l->refs = NULL;
}

static struct ledger_seg *seg(struct ledger_ring *r, uint32_t nth, uint32_t n)
{
	return &r->q[(r->head + nth) % n];
}

void ledger_read(struct ledger *l, uint32_t ring, uint32_t batch, uint64_t end)
{
	struct ledger_ring *r = &l->rings[ring];
	struct ledger_seg *tail = r->count ? seg(r, r->count - 1, l->nr_batches) : NULL;

	if (tail && tail->batch == batch && !tail->settled) {
		tail->end = end;
		return;
	}
	/* One segment per batch per ring: the queue has room (see ledger.h). */
	if (r->count == l->nr_batches)
		abort();
	tail = seg(r, r->count++, l->nr_batches);
	l->refs[batch]++;
	tail->end = end;
	tail->batch = batch;
	tail->settled = false;
}

bool ledger_settle(struct ledger *l, uint32_t batch, uint64_t *pos)
{
	bool moved = false;
	uint32_t i, k;

	for (i = 0; i < l->nr_rings; i++) {
		struct ledger_ring *r = &l->rings[i];

		for (k = 0; k < r->count; k++) {
			struct ledger_seg *s = seg(r, k, l->nr_batches);

			if (s->batch == batch)
				s->settled = true;
		}
		while (r->count && r->q[r->head].settled) {
			r->released = r->q[r->head].end;
			l->refs[r->q[r->head].batch]--;
			r->head = (r->head + 1) % l->nr_batches;
			r->count--;
			moved = true;
		}
		pos[i] = r->released;
	}
	return moved;
}
