// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP protobuf encoding. Field numbers are those of the published
 * opentelemetry-proto schema (collector/trace/v1, trace/v1, common/v1,
 * resource/v1).
 *
 * Each span is written in one reservation of a bound computed from its
 * record, and each KeyValue's sizes are computed before it is written, so
 * that only spans, resources and their lists get a length patched in.
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

/*
 * Length slots of the messages written before their size is known: a span
 * takes 128 bytes to 16 KiB, a ResourceSpans or ScopeSpans up to 2 MiB.
 */
enum {
	SLOT_SMALL = 1,
	SLOT_SPAN = 2,
	SLOT_LIST = 3,
};

/* A key the agent names itself: ASCII. */
#define LIT(s) pb_str_valid(s, sizeof(s) - 1)

struct enc {
	struct sbuf *b;
	struct otlp_stats *st;
};

/* A KeyValue up to its AnyValue's one field, which takes @av bytes. */
static uint8_t *kv_head(struct enc *e, uint8_t *d, unsigned int field,
			struct pb_str key, size_t av)
{
	d = pb_put_tag(d, field, PB_LEN);
	d = pb_put_varint(d, pb_len_size(KV_KEY, key.len) + pb_len_size(KV_VALUE, av));
	d = pb_put_str(d, KV_KEY, &key, &e->st->utf8_repairs);
	d = pb_put_tag(d, KV_VALUE, PB_LEN);
	return pb_put_varint(d, av);
}

static uint8_t *kv_str(struct enc *e, uint8_t *d, unsigned int field,
		       struct pb_str key, struct pb_str val)
{
	d = kv_head(e, d, field, key, pb_len_size(AV_STRING, val.len));
	return pb_put_str(d, AV_STRING, &val, &e->st->utf8_repairs);
}

static uint8_t *kv_int(struct enc *e, uint8_t *d, unsigned int field,
		       struct pb_str key, int64_t v)
{
	/* A oneof member: present even when zero. */
	d = kv_head(e, d, field, key, pb_tag_len(AV_INT) + pb_varint_len((uint64_t)v));
	d = pb_put_tag(d, AV_INT, PB_VARINT);
	return pb_put_varint(d, (uint64_t)v);
}

static uint8_t *kv_double(struct enc *e, uint8_t *d, struct pb_str key, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	d = kv_head(e, d, SPAN_ATTRIBUTES, key, pb_tag_len(AV_DOUBLE) + 8);
	d = pb_put_tag(d, AV_DOUBLE, PB_FIXED64);
	return pb_put_le(d, bits, 8);
}

static uint8_t *kv_bool(struct enc *e, uint8_t *d, struct pb_str key, int v)
{
	d = kv_head(e, d, SPAN_ATTRIBUTES, key, pb_tag_len(AV_BOOL) + 1);
	d = pb_put_tag(d, AV_BOOL, PB_VARINT);
	*d = v ? 1 : 0;
	return d + 1;
}

static uint8_t *attr(struct enc *e, uint8_t *d, const struct kspan_attr_view *a)
{
	struct pb_str key = pb_str_check(a->key, a->key_len);

	switch (a->type) {
	case KSPAN_ATTR_STRING:
		return kv_str(e, d, SPAN_ATTRIBUTES, key, pb_str_check(a->val, a->val_len));
	case KSPAN_ATTR_INT64:
		return kv_int(e, d, SPAN_ATTRIBUTES, key, kspan_attr_int(a));
	case KSPAN_ATTR_DOUBLE:
		return kv_double(e, d, key, kspan_attr_double(a));
	case KSPAN_ATTR_BOOL:
		return kv_bool(e, d, key, a->val[0]);
	default:
		d = kv_head(e, d, SPAN_ATTRIBUTES, key, pb_len_size(AV_BYTES, a->val_len));
		return pb_put_bytes(d, AV_BYTES, a->val, a->val_len);
	}
}

/* The record's attributes but service.name, then the kernel's identity. */
static uint8_t *span_attrs(struct enc *e, uint8_t *d, const struct otlp_span *s)
{
	const struct kspan_identity *id = &s->v.span->id;
	struct kspan_attr_view a;
	size_t pos = 0;
	int i;

	for (i = 0; kspan_span_attr_next(&s->v, &pos, &a) == 0; i++)
		if (i != s->service_attr)
			d = attr(e, d, &a);
	if (id->tid)
		d = kv_int(e, d, SPAN_ATTRIBUTES, LIT(OTLP_ATTR_TID), id->tid);
	if (id->pid)
		d = kv_int(e, d, SPAN_ATTRIBUTES, LIT(OTLP_ATTR_UID), id->uid);
	d = kv_int(e, d, SPAN_ATTRIBUTES, LIT(OTLP_ATTR_CPU), id->cpu);
	if (id->cgroup_id)
		d = kv_int(e, d, SPAN_ATTRIBUTES, LIT(OTLP_ATTR_CGROUP),
			   (int64_t)id->cgroup_id);
	return d;
}

static uint8_t *span_status(uint8_t *d, unsigned int code)
{
	if (!code)
		return d;
	d = pb_put_tag(d, SPAN_STATUS, PB_LEN);
	d = pb_put_varint(d, pb_tag_len(STATUS_CODE) + pb_varint_len(code));
	return pb_put_uint(d, STATUS_CODE, code);
}

/*
 * Room a span may take: its strings may triple when repaired, and each
 * attribute adds four tags and lengths. The fixed fields, the identity's
 * attributes and a length outgrowing its slot take less than 512 bytes.
 */
static size_t span_bound(const struct kspan_span_view *v)
{
	return 512 + pb_str_bound(v->name_len) + pb_str_bound(v->attrs_len) +
	       (size_t)v->attr_count * 4 * PB_FIELD_MAX;
}

static void span(struct enc *e, const struct otlp_span *s)
{
	const struct kspan_span *sp = s->v.span;
	uint8_t *d = sbuf_reserve(e->b, span_bound(&s->v)), *body;
	struct pb_str name;

	if (!d)
		return;
	body = d = pb_open(d, SS_SPANS, SLOT_SPAN);
	d = pb_put_bytes(d, SPAN_TRACE_ID, sp->trace_id, sizeof(sp->trace_id));
	d = pb_put_bytes(d, SPAN_SPAN_ID, sp->span_id, sizeof(sp->span_id));
	if (otlp_has_parent(sp))
		d = pb_put_bytes(d, SPAN_PARENT_SPAN_ID, sp->parent_span_id,
				 sizeof(sp->parent_span_id));
	name = pb_str_check(s->v.name, s->v.name_len);
	d = pb_put_str(d, SPAN_NAME, &name, &e->st->utf8_repairs);
	d = pb_put_uint(d, SPAN_KIND, sp->kind);
	d = pb_put_fixed64(d, SPAN_START, sp->start_time_ns);
	d = pb_put_fixed64(d, SPAN_END, sp->end_time_ns);
	d = span_attrs(e, d, s);
	d = span_status(d, sp->status);
	d = pb_put_fixed32(d, SPAN_FLAGS, sp->flags & KSPAN_SPAN_SAMPLED ? 1 : 0);
	e->b->len = (size_t)(pb_close(body, d, SLOT_SPAN) - e->b->p);
}

/*
 * Room a Resource may take: its strings may triple when repaired; its own
 * keys, the pid and the message's length take less than 128 bytes.
 */
static size_t resource_bound(const struct otlp_host *host,
			     const struct otlp_resource *r)
{
	size_t n = r->service_len + (r->exe_name ? strlen(r->exe_name) : 0), i;

	for (i = 0; i < host->nattrs; i++)
		n += strlen(host->attrs[i].key) + strlen(host->attrs[i].val);
	return 128 + pb_str_bound(n) + (3 + host->nattrs) * 4 * PB_FIELD_MAX;
}

static uint8_t *host_attr(struct enc *e, uint8_t *d, const struct otlp_kv *kv)
{
	return kv_str(e, d, RES_ATTRIBUTES, pb_str_check(kv->key, strlen(kv->key)),
		      pb_str_check(kv->val, strlen(kv->val)));
}

static void resource(struct enc *e, const struct otlp_host *host,
		     const struct otlp_resource *r)
{
	uint8_t *d = sbuf_reserve(e->b, resource_bound(host, r)), *body;
	size_t i;

	if (!d)
		return;
	body = d = pb_open(d, RS_RESOURCE, SLOT_SMALL);
	d = kv_str(e, d, RES_ATTRIBUTES, LIT("service.name"),
		   pb_str_check(r->service, r->service_len));
	if (r->pid)
		d = kv_int(e, d, RES_ATTRIBUTES, LIT("process.pid"), r->pid);
	if (r->exe_name)
		d = kv_str(e, d, RES_ATTRIBUTES, LIT("process.executable.name"),
			   pb_str_check(r->exe_name, strlen(r->exe_name)));
	for (i = 0; i < host->nattrs; i++)
		d = host_attr(e, d, &host->attrs[i]);
	e->b->len = (size_t)(pb_close(body, d, SLOT_SMALL) - e->b->p);
}

static void scope(struct enc *e)
{
	struct pb_str name = LIT(OTLP_SCOPE_NAME), version = LIT(SPANAGENT_VERSION);
	size_t len = pb_len_size(SCOPE_NAME, name.len) +
		     pb_len_size(SCOPE_VERSION, version.len);
	uint8_t *d = sbuf_reserve(e->b, PB_FIELD_MAX + len);

	if (!d)
		return;
	d = pb_put_varint(pb_put_tag(d, SS_SCOPE, PB_LEN), len);
	d = pb_put_str(d, SCOPE_NAME, &name, &e->st->utf8_repairs);
	d = pb_put_str(d, SCOPE_VERSION, &version, &e->st->utf8_repairs);
	e->b->len = (size_t)(d - e->b->p);
}

int otlp_encode_pb(struct sbuf *out, const struct otlp_host *host,
		   const struct otlp_batch *batch, struct otlp_stats *st)
{
	struct enc e = { .b = out, .st = st };
	uint32_t r, r2, i;
	size_t rs, ss;

	for (r = 0; r < batch->nres; r++) {
		const struct otlp_resource *res = &batch->res[r];

		rs = pb_begin(out, REQ_RESOURCE_SPANS, SLOT_LIST);
		resource(&e, host, res);
		ss = pb_begin(out, RS_SCOPE_SPANS, SLOT_LIST);
		scope(&e);
		for (i = 0, r2 = res->first; i < res->count; i++, r2 = batch->spans[r2].next)
			span(&e, &batch->spans[r2]);
		pb_end(out, ss, SLOT_LIST);
		pb_end(out, rs, SLOT_LIST);
	}
	return sbuf_failed(out) ? -ENOMEM : 0;
}
