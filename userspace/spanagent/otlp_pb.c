// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP protobuf encoding. Field numbers are those of the published
 * opentelemetry-proto schema (collector/trace/v1, trace/v1, common/v1,
 * resource/v1).
 */
#include <errno.h>
#include <string.h>

#include "otlp.h"
#include "pbwire.h"

enum {
	REQ_RESOURCE_SPANS = 1,
	RS_RESOURCE = 1,
	RS_SCOPE_SPANS = 2,
	RES_ATTRIBUTES = 1,
	SS_SCOPE = 1,
	SS_SPANS = 2,
	SCOPE_NAME = 1,
	SCOPE_VERSION = 2,
	SPAN_TRACE_ID = 1,
	SPAN_SPAN_ID = 2,
	SPAN_PARENT_SPAN_ID = 4,
	SPAN_NAME = 5,
	SPAN_KIND = 6,
	SPAN_START = 7,
	SPAN_END = 8,
	SPAN_ATTRIBUTES = 9,
	SPAN_STATUS = 15,
	SPAN_FLAGS = 16,
	STATUS_CODE = 3,
	KV_KEY = 1,
	KV_VALUE = 2,
	AV_STRING = 1,
	AV_BOOL = 2,
	AV_INT = 3,
	AV_DOUBLE = 4,
	AV_BYTES = 7,
};

struct enc {
	struct sbuf *b;
	struct otlp_stats *st;
};

static void kv_str(struct enc *e, unsigned int field, const char *k, size_t klen,
		   const char *v, size_t vlen)
{
	size_t kv = pb_begin(e->b, field), av;

	pb_string(e->b, KV_KEY, k, klen, &e->st->utf8_repairs);
	av = pb_begin(e->b, KV_VALUE);
	pb_string(e->b, AV_STRING, v, vlen, &e->st->utf8_repairs);
	pb_end(e->b, av);
	pb_end(e->b, kv);
}

static void kv_int(struct enc *e, unsigned int field, const char *k, int64_t v)
{
	size_t kv = pb_begin(e->b, field), av;

	pb_string(e->b, KV_KEY, k, strlen(k), &e->st->utf8_repairs);
	av = pb_begin(e->b, KV_VALUE);
	/* A oneof member: present even when zero. */
	pb_tag(e->b, AV_INT, PB_VARINT);
	pb_varint(e->b, (uint64_t)v);
	pb_end(e->b, av);
	pb_end(e->b, kv);
}

static void attr(struct enc *e, const struct kspan_attr_view *a)
{
	size_t kv = pb_begin(e->b, SPAN_ATTRIBUTES), av;

	pb_string(e->b, KV_KEY, a->key, a->key_len, &e->st->utf8_repairs);
	av = pb_begin(e->b, KV_VALUE);
	switch (a->type) {
	case KSPAN_ATTR_STRING:
		pb_string(e->b, AV_STRING, a->val, a->val_len, &e->st->utf8_repairs);
		break;
	case KSPAN_ATTR_INT64:
		pb_tag(e->b, AV_INT, PB_VARINT);
		pb_varint(e->b, (uint64_t)kspan_attr_int(a));
		break;
	case KSPAN_ATTR_DOUBLE:
		pb_double(e->b, AV_DOUBLE, kspan_attr_double(a));
		break;
	case KSPAN_ATTR_BOOL:
		pb_tag(e->b, AV_BOOL, PB_VARINT);
		pb_varint(e->b, a->val[0] ? 1 : 0);
		break;
	default:
		pb_bytes(e->b, AV_BYTES, a->val, a->val_len);
		break;
	}
	pb_end(e->b, av);
	pb_end(e->b, kv);
}

static void span(struct enc *e, const struct otlp_span *s)
{
	const struct kspan_span *sp = s->v.span;
	const struct kspan_identity *id = &sp->id;
	struct kspan_attr_view a;
	size_t m = pb_begin(e->b, SS_SPANS), st;
	unsigned int i;

	pb_bytes(e->b, SPAN_TRACE_ID, sp->trace_id, sizeof(sp->trace_id));
	pb_bytes(e->b, SPAN_SPAN_ID, sp->span_id, sizeof(sp->span_id));
	if (otlp_has_parent(sp))
		pb_bytes(e->b, SPAN_PARENT_SPAN_ID, sp->parent_span_id,
			 sizeof(sp->parent_span_id));
	pb_string(e->b, SPAN_NAME, s->v.name, s->v.name_len, &e->st->utf8_repairs);
	pb_uint(e->b, SPAN_KIND, sp->kind);
	pb_fixed64(e->b, SPAN_START, sp->start_time_ns);
	pb_fixed64(e->b, SPAN_END, sp->end_time_ns);
	for (i = 0; kspan_span_attr(&s->v, i, &a) == 0; i++)
		if ((int)i != s->service_attr)
			attr(e, &a);
	if (id->tid)
		kv_int(e, SPAN_ATTRIBUTES, OTLP_ATTR_TID, id->tid);
	if (id->pid)
		kv_int(e, SPAN_ATTRIBUTES, OTLP_ATTR_UID, id->uid);
	kv_int(e, SPAN_ATTRIBUTES, OTLP_ATTR_CPU, id->cpu);
	if (id->cgroup_id)
		kv_int(e, SPAN_ATTRIBUTES, OTLP_ATTR_CGROUP, (int64_t)id->cgroup_id);
	if (sp->status) {
		st = pb_begin(e->b, SPAN_STATUS);
		pb_uint(e->b, STATUS_CODE, sp->status);
		pb_end(e->b, st);
	}
	pb_fixed32(e->b, SPAN_FLAGS, sp->flags & KSPAN_SPAN_SAMPLED ? 1 : 0);
	pb_end(e->b, m);
}

static void resource(struct enc *e, const struct otlp_host *host,
		     const struct otlp_resource *r)
{
	size_t m = pb_begin(e->b, RS_RESOURCE);
	size_t i;

	kv_str(e, RES_ATTRIBUTES, "service.name", 12, r->service, r->service_len);
	if (r->pid)
		kv_int(e, RES_ATTRIBUTES, "process.pid", r->pid);
	if (r->exe_name)
		kv_str(e, RES_ATTRIBUTES, "process.executable.name", 23,
		       r->exe_name, strlen(r->exe_name));
	for (i = 0; i < host->nattrs; i++)
		kv_str(e, RES_ATTRIBUTES, host->attrs[i].key, strlen(host->attrs[i].key),
		       host->attrs[i].val, strlen(host->attrs[i].val));
	pb_end(e->b, m);
}

int otlp_encode_pb(struct sbuf *out, const struct otlp_host *host,
		   const struct otlp_batch *batch, struct otlp_stats *st)
{
	struct enc e = { .b = out, .st = st };
	uint32_t r, r2, i;
	size_t rs, ss, sc;

	for (r = 0; r < batch->nres; r++) {
		const struct otlp_resource *res = &batch->res[r];

		rs = pb_begin(out, REQ_RESOURCE_SPANS);
		resource(&e, host, res);
		ss = pb_begin(out, RS_SCOPE_SPANS);
		sc = pb_begin(out, SS_SCOPE);
		pb_string(out, SCOPE_NAME, OTLP_SCOPE_NAME, strlen(OTLP_SCOPE_NAME),
			  &st->utf8_repairs);
		pb_string(out, SCOPE_VERSION, SPANAGENT_VERSION,
			  strlen(SPANAGENT_VERSION), &st->utf8_repairs);
		pb_end(out, sc);
		for (i = 0, r2 = res->first; i < res->count; i++, r2 = batch->spans[r2].next)
			span(&e, &batch->spans[r2]);
		pb_end(out, ss);
		pb_end(out, rs);
	}
	return sbuf_failed(out) ? -ENOMEM : 0;
}
