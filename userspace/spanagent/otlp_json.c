// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/JSON encoding, by the OTLP specification's JSON rules: the proto3
 * JSON mapping with lowerCamelCase keys, trace and span ids as lowercase
 * hex (not base64), enums as integers, 64-bit integers as decimal strings.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "otlp.h"
#include "utf8.h"

struct enc {
	struct sbuf *b;
	struct otlp_stats *st;
};

static const char hexdig[] = "0123456789abcdef";

/* A JSON string, repaired to valid UTF-8 and escaped. */
static void jstr(struct enc *e, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i = 0, len, bad;
	char esc[7];

	sbuf_addc(e->b, '"');
	while (i < n) {
		uint8_t c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			size_t j = i + 1;

			while (j < n && s[j] >= 0x20 && s[j] < 0x80 &&
			       s[j] != '"' && s[j] != '\\')
				j++;
			sbuf_add(e->b, s + i, j - i);
			i = j;
		} else if (c == '"' || c == '\\') {
			sbuf_addc(e->b, '\\');
			sbuf_addc(e->b, (char)c);
			i++;
		} else if (c < 0x20) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hexdig[c >> 4];
			esc[5] = hexdig[c & 15];
			sbuf_add(e->b, esc, 6);
			i++;
		} else if ((len = utf8_seq(s + i, n - i, &bad))) {
			sbuf_add(e->b, s + i, len);
			i += len;
		} else {
			sbuf_add(e->b, utf8_replacement, sizeof(utf8_replacement));
			e->st->utf8_repairs++;
			i += bad;
		}
	}
	sbuf_addc(e->b, '"');
}

static void jcstr(struct enc *e, const char *s)
{
	jstr(e, s, strlen(s));
}

static void jhex(struct enc *e, const uint8_t *p, size_t n)
{
	uint8_t *d = sbuf_reserve(e->b, 2 * n + 2);
	size_t i;

	if (!d)
		return;
	*d++ = '"';
	for (i = 0; i < n; i++) {
		*d++ = (uint8_t)hexdig[p[i] >> 4];
		*d++ = (uint8_t)hexdig[p[i] & 15];
	}
	*d++ = '"';
	e->b->len += 2 * n + 2;
}

/* An integer in decimal, as %llu spells it: printf costs more per span. */
static void jdec(struct enc *e, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sbuf_add(e->b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void jint(struct enc *e, int64_t v)
{
	if (v < 0)
		sbuf_addc(e->b, '-');
	jdec(e, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

/* A 64-bit integer: a decimal string, by the proto3 JSON mapping. */
static void jint_str(struct enc *e, int64_t v)
{
	sbuf_addc(e->b, '"');
	jint(e, v);
	sbuf_addc(e->b, '"');
}

static void jdouble_fmt(struct enc *e, double v)
{
	uint8_t *d = sbuf_reserve(e->b, 32);
	int n;

	if (!d)
		return;
	n = snprintf((char *)d, 32, "%.17g", v);
	if (n > 0 && n < 32)
		e->b->len += (size_t)n;
}

static void jbase64(struct enc *e, const uint8_t *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t *d = sbuf_reserve(e->b, (n + 2) / 3 * 4 + 2);
	size_t i;

	if (!d)
		return;
	*d++ = '"';
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*d++ = (uint8_t)tbl[v >> 18];
		*d++ = (uint8_t)tbl[(v >> 12) & 63];
		*d++ = (uint8_t)tbl[(v >> 6) & 63];
		*d++ = (uint8_t)tbl[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		*d++ = (uint8_t)tbl[v >> 18];
		*d++ = (uint8_t)tbl[(v >> 12) & 63];
		*d++ = i + 1 < n ? (uint8_t)tbl[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	*d++ = '"';
	e->b->len = (size_t)(d - e->b->p);
}

static void jdouble(struct enc *e, double v)
{
	/* The proto3 JSON mapping spells the non-finite values as strings. */
	if (isnan(v))
		sbuf_adds(e->b, "\"NaN\"");
	else if (isinf(v))
		sbuf_adds(e->b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		jdouble_fmt(e, v);
}

/* {"key":..., "value":{"stringValue":...}} */
static void kv_str(struct enc *e, const char *k, size_t klen, const char *v, size_t vlen)
{
	sbuf_adds(e->b, "{\"key\":");
	jstr(e, k, klen);
	sbuf_adds(e->b, ",\"value\":{\"stringValue\":");
	jstr(e, v, vlen);
	sbuf_adds(e->b, "}}");
}

static void kv_int(struct enc *e, const char *k, int64_t v)
{
	sbuf_adds(e->b, "{\"key\":");
	jcstr(e, k);
	sbuf_adds(e->b, ",\"value\":{\"intValue\":");
	jint_str(e, v);
	sbuf_adds(e->b, "}}");
}

static void attr(struct enc *e, const struct kspan_attr_view *a)
{
	sbuf_adds(e->b, "{\"key\":");
	jstr(e, a->key, a->key_len);
	sbuf_adds(e->b, ",\"value\":{");
	switch (a->type) {
	case KSPAN_ATTR_STRING:
		sbuf_adds(e->b, "\"stringValue\":");
		jstr(e, a->val, a->val_len);
		break;
	case KSPAN_ATTR_INT64:
		sbuf_adds(e->b, "\"intValue\":");
		jint_str(e, kspan_attr_int(a));
		break;
	case KSPAN_ATTR_DOUBLE:
		sbuf_adds(e->b, "\"doubleValue\":");
		jdouble(e, kspan_attr_double(a));
		break;
	case KSPAN_ATTR_BOOL:
		sbuf_adds(e->b, a->val[0] ? "\"boolValue\":true" : "\"boolValue\":false");
		break;
	default:
		sbuf_adds(e->b, "\"bytesValue\":");
		jbase64(e, a->val, a->val_len);
		break;
	}
	sbuf_adds(e->b, "}}");
}

static void span(struct enc *e, const struct otlp_span *s)
{
	const struct kspan_span *sp = s->v.span;
	const struct kspan_identity *id = &sp->id;
	struct kspan_attr_view a;
	size_t pos = 0;
	int i;

	sbuf_adds(e->b, "{\"traceId\":");
	jhex(e, sp->trace_id, sizeof(sp->trace_id));
	sbuf_adds(e->b, ",\"spanId\":");
	jhex(e, sp->span_id, sizeof(sp->span_id));
	if (otlp_has_parent(sp)) {
		sbuf_adds(e->b, ",\"parentSpanId\":");
		jhex(e, sp->parent_span_id, sizeof(sp->parent_span_id));
	}
	if (sp->flags & KSPAN_SPAN_SAMPLED)
		sbuf_adds(e->b, ",\"flags\":1");
	sbuf_adds(e->b, ",\"name\":");
	jstr(e, s->v.name, s->v.name_len);
	sbuf_adds(e->b, ",\"kind\":");
	jdec(e, sp->kind);
	sbuf_adds(e->b, ",\"startTimeUnixNano\":\"");
	jdec(e, sp->start_time_ns);
	sbuf_adds(e->b, "\",\"endTimeUnixNano\":\"");
	jdec(e, sp->end_time_ns);
	sbuf_addc(e->b, '"');
	sbuf_adds(e->b, ",\"attributes\":[");
	for (i = 0; kspan_span_attr_next(&s->v, &pos, &a) == 0; i++) {
		if (i == s->service_attr)
			continue;
		attr(e, &a);
		sbuf_addc(e->b, ',');
	}
	if (id->tid) {
		kv_int(e, OTLP_ATTR_TID, id->tid);
		sbuf_addc(e->b, ',');
	}
	if (id->pid) {
		kv_int(e, OTLP_ATTR_UID, id->uid);
		sbuf_addc(e->b, ',');
	}
	kv_int(e, OTLP_ATTR_CPU, id->cpu);
	if (id->cgroup_id) {
		sbuf_addc(e->b, ',');
		kv_int(e, OTLP_ATTR_CGROUP, (int64_t)id->cgroup_id);
	}
	sbuf_addc(e->b, ']');
	if (sp->status) {
		sbuf_adds(e->b, ",\"status\":{\"code\":");
		jdec(e, sp->status);
		sbuf_addc(e->b, '}');
	}
	sbuf_addc(e->b, '}');
}

static void resource(struct enc *e, const struct otlp_host *host,
		     const struct otlp_resource *r)
{
	size_t i;

	sbuf_adds(e->b, "{\"attributes\":[");
	kv_str(e, "service.name", 12, r->service, r->service_len);
	if (r->pid) {
		sbuf_addc(e->b, ',');
		kv_int(e, "process.pid", r->pid);
	}
	if (r->exe_name) {
		sbuf_addc(e->b, ',');
		kv_str(e, "process.executable.name", 23, r->exe_name, strlen(r->exe_name));
	}
	for (i = 0; i < host->nattrs; i++) {
		sbuf_addc(e->b, ',');
		kv_str(e, host->attrs[i].key, strlen(host->attrs[i].key),
		       host->attrs[i].val, strlen(host->attrs[i].val));
	}
	sbuf_adds(e->b, "]}");
}

int otlp_encode_json(struct sbuf *out, const struct otlp_host *host,
		     const struct otlp_batch *batch, struct otlp_stats *st)
{
	struct enc e = { .b = out, .st = st };
	uint32_t r, i, s;

	sbuf_adds(out, "{\"resourceSpans\":[");
	for (r = 0; r < batch->nres; r++) {
		const struct otlp_resource *res = &batch->res[r];

		if (r)
			sbuf_addc(out, ',');
		sbuf_adds(out, "{\"resource\":");
		resource(&e, host, res);
		sbuf_adds(out, ",\"scopeSpans\":[{\"scope\":{\"name\":\"" OTLP_SCOPE_NAME
			  "\",\"version\":\"" SPANAGENT_VERSION "\"},\"spans\":[");
		for (i = 0, s = res->first; i < res->count; i++, s = batch->spans[s].next) {
			if (i)
				sbuf_addc(out, ',');
			span(&e, &batch->spans[s]);
		}
		sbuf_adds(out, "]}]}");
	}
	sbuf_adds(out, "]}");
	return sbuf_failed(out) ? -ENOMEM : 0;
}
