/* SPDX-License-Identifier: GPL-2.0 */
/*
 * otlp: one batch of span records, grouped by resource, encoded as an OTLP
 * ExportTraceServiceRequest in protobuf or in OTLP/JSON. Spans are read in
 * place (views into the rings); encoding appends to a reused sbuf and
 * allocates nothing per span.
 */
#ifndef SPANAGENT_OTLP_H
#define SPANAGENT_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "kspan_record.h"
#include "sbuf.h"

#define SPANAGENT_VERSION "0.1.0"
#define OTLP_SCOPE_NAME "kspan"

/*
 * The kernel-stamped identity becomes span attributes, named by the
 * semantic conventions where they name it.
 */
#define OTLP_ATTR_TID		"thread.id"
#define OTLP_ATTR_UID		"process.real_user.id"
#define OTLP_ATTR_CPU		"cpu.logical_number"
#define OTLP_ATTR_CGROUP	"kspan.cgroup.id"

/* A string attribute of every resource (host.name, OTEL_RESOURCE_ATTRIBUTES). */
struct otlp_kv {
	const char *key;
	const char *val;
};

/*
 * One producing process: its spans form one ResourceSpans. @service is
 * the producer's own service.name attribute when it set one (then left
 * out of its spans' attributes), else the agent's default.
 */
struct otlp_resource {
	uint32_t pid;			/* 0: kernel context */
	const char *service;
	size_t service_len;
	const char *exe_name;		/* NULL: unknown (the process is gone) */
	int from_attr;			/* @service is the producer's own */
	uint32_t first;			/* index of its first span in the batch */
	uint32_t last;
	uint32_t count;
	char comm[16];			/* storage: the process may be gone later */
	char exe[256];
};

struct otlp_span {
	struct kspan_span_view v;
	int service_attr;		/* index of service.name, or -1 */
	uint32_t next;			/* next span of the same resource */
};

/* Resource attributes shared by every resource of the agent's host. */
struct otlp_host {
	const struct otlp_kv *attrs;	/* host.name, OTEL_RESOURCE_ATTRIBUTES */
	size_t nattrs;
};

struct otlp_batch {
	struct otlp_span *spans;
	uint32_t nspans;
	struct otlp_resource *res;
	uint32_t nres;
};

/* What an encoding repaired: invalid UTF-8 sequences replaced by U+FFFD. */
struct otlp_stats {
	unsigned int utf8_repairs;
};

/* Encodes @batch; returns 0, or -ENOMEM when the buffer could not grow. */
int otlp_encode_pb(struct sbuf *out, const struct otlp_host *host,
		   const struct otlp_batch *batch, struct otlp_stats *st);
int otlp_encode_json(struct sbuf *out, const struct otlp_host *host,
		     const struct otlp_batch *batch, struct otlp_stats *st);

/* Whether a span names a parent (an all-zero parent_span_id: a root). */
static inline int otlp_has_parent(const struct kspan_span *sp)
{
	size_t i;

	for (i = 0; i < sizeof(sp->parent_span_id); i++)
		if (sp->parent_span_id[i])
			return 1;
	return 0;
}

/* The service.name attribute of a span, if it has one; else -1. */
int otlp_service_attr(const struct kspan_span_view *v);

#endif /* SPANAGENT_OTLP_H */
