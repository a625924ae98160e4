/* SPDX-License-Identifier: GPL-2.0 */
/*
 * otlp_batch: collects up to a fixed number of spans, read in place from
 * the rings, into an otlp_batch grouped by producing process. Storage is
 * allocated once, at the batch's maximum size.
 */
#ifndef SPANAGENT_OTLP_BATCH_H
#define SPANAGENT_OTLP_BATCH_H

#include "otlp.h"

struct otlp_batch_builder {
	struct otlp_batch batch;
	uint32_t max;
	/* Default service.name when a producer set none; NULL: its comm. */
	const char *service_default;
	/* Where process names come from ("/proc"; tests point elsewhere). */
	const char *procfs;
};

int otlp_batch_init(struct otlp_batch_builder *bb, uint32_t max);
void otlp_batch_free(struct otlp_batch_builder *bb);
void otlp_batch_clear(struct otlp_batch_builder *bb);

static inline int otlp_batch_full(const struct otlp_batch_builder *bb)
{
	return bb->batch.nspans == bb->max;
}

/* Adds a parsed span (its memory must outlive the batch); -ENOSPC when full. */
int otlp_batch_add(struct otlp_batch_builder *bb, const struct kspan_span_view *v);

#endif /* SPANAGENT_OTLP_BATCH_H */
