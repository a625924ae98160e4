// SPDX-License-Identifier: GPL-2.0
/*
 * The console exporter: trace trees for a person at a terminal. Within a
 * batch, spans are linked to their parents and printed as trees, children
 * in start order, with duration, kind, status and attributes. A span whose
 * parent is not in the batch (it ended in another batch, or is remote) is
 * printed as a root with its parent's id.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

struct console_state {
	int32_t *parent, *child, *sibling;
	uint8_t *done;
	uint32_t cap;
};

static const char *const kinds[] = { "", "internal", "server", "client", "producer", "consumer" };
static const char *const statuses[] = { "", "ok", "error" };

static void put_text(struct sbuf *o, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] != 0x7f)
			sbuf_addc(o, (char)s[i]);
		else
			sbuf_addc(o, '?');
	}
}

static void put_fmt(struct sbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_fmt(struct sbuf *o, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		sbuf_add(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void put_hex(struct sbuf *o, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_fmt(o, "%02x", p[i]);
}

static void put_attrs(struct sbuf *o, const struct otlp_span *s)
{
	const struct kspan_identity *id = &s->v.span->id;
	struct kspan_attr_view a;
	unsigned int i;

	for (i = 0; kspan_span_attr(&s->v, i, &a) == 0; i++) {
		if ((int)i == s->service_attr)
			continue;
		sbuf_addc(o, ' ');
		put_text(o, a.key, a.key_len);
		sbuf_addc(o, '=');
		switch (a.type) {
		case KSPAN_ATTR_STRING:
			sbuf_addc(o, '"');
			put_text(o, a.val, a.val_len);
			sbuf_addc(o, '"');
			break;
		case KSPAN_ATTR_INT64:
			put_fmt(o, "%" PRId64, kspan_attr_int(&a));
			break;
		case KSPAN_ATTR_DOUBLE:
			put_fmt(o, "%g", kspan_attr_double(&a));
			break;
		case KSPAN_ATTR_BOOL:
			sbuf_adds(o, a.val[0] ? "true" : "false");
			break;
		default:
			sbuf_adds(o, "0x");
			put_hex(o, a.val, a.val_len < 32 ? a.val_len : 32);
			if (a.val_len > 32)
				sbuf_adds(o, "...");
		}
	}
	if (id->tid)
		put_fmt(o, " tid=%u", id->tid);
	put_fmt(o, " cpu=%u", id->cpu);
}

static void put_span(struct agent *a, struct sbuf *o, const struct otlp_batch *b,
		     uint32_t i, unsigned int depth)
{
	struct console_state *cs = a->exp_state;
	const struct otlp_span *s = &b->spans[i];
	const struct kspan_span *sp = s->v.span;
	uint64_t dur = sp->end_time_ns - sp->start_time_ns;
	int32_t c;

	cs->done[i] = 1;
	for (unsigned int d = 0; d < depth; d++)
		sbuf_adds(o, "  ");
	sbuf_adds(o, depth ? "└─ " : "");
	put_text(o, s->v.name, s->v.name_len);
	put_fmt(o, "  %" PRIu64 ".%03" PRIu64 " ms", dur / 1000000, dur / 1000 % 1000);
	if (sp->kind < 6 && sp->kind)
		put_fmt(o, "  %s", kinds[sp->kind]);
	if (sp->status < 3 && sp->status)
		put_fmt(o, "  %s", statuses[sp->status]);
	if (!depth && cs->parent[i] < 0 && otlp_has_parent(sp)) {
		sbuf_adds(o, "  (parent ");
		put_hex(o, sp->parent_span_id, 8);
		sbuf_adds(o, " elsewhere)");
	}
	sbuf_adds(o, " ");
	put_attrs(o, s);
	sbuf_addc(o, '\n');
	for (c = cs->child[i]; c >= 0; c = cs->sibling[c])
		if (!cs->done[c])
			put_span(a, o, b, (uint32_t)c, depth + 1);
}

/* Links span @i into its parent's children, in start order. */
static void link_child(struct console_state *cs, const struct otlp_batch *b,
		       uint32_t p, uint32_t i)
{
	uint64_t start = b->spans[i].v.span->start_time_ns;
	int32_t *at = &cs->child[p];

	while (*at >= 0 && b->spans[*at].v.span->start_time_ns <= start)
		at = &cs->sibling[*at];
	cs->sibling[i] = *at;
	*at = (int32_t)i;
}

static int console_prepare(struct agent *a, struct batch *bt)
{
	struct console_state *cs = a->exp_state;
	const struct otlp_batch *b = &bt->bb.batch;
	struct sbuf *o = &bt->body;
	uint32_t i, j, r;

	sbuf_reset(o);
	for (i = 0; i < b->nspans; i++) {
		cs->parent[i] = -1;
		cs->child[i] = -1;
		cs->sibling[i] = -1;
		cs->done[i] = 0;
	}
	for (i = 0; i < b->nspans; i++) {
		const struct kspan_span *si = b->spans[i].v.span;

		for (j = 0; j < b->nspans; j++) {
			const struct kspan_span *sj = b->spans[j].v.span;

			if (j != i && !memcmp(si->parent_span_id, sj->span_id, 8) &&
			    !memcmp(si->trace_id, sj->trace_id, 16)) {
				cs->parent[i] = (int32_t)j;
				link_child(cs, b, j, i);
				break;
			}
		}
	}
	/* Per resource, the roots in ring order; then what a cycle left. */
	for (r = 0; r < b->nres; r++) {
		const struct otlp_resource *res = &b->res[r];

		for (i = 0, j = res->first; i < res->count; i++, j = b->spans[j].next) {
			if (cs->parent[j] >= 0)
				continue;
			sbuf_adds(o, "trace ");
			put_hex(o, b->spans[j].v.span->trace_id, 16);
			sbuf_adds(o, "  ");
			put_text(o, res->service, res->service_len);
			if (res->pid)
				put_fmt(o, " (pid %u)", res->pid);
			sbuf_addc(o, '\n');
			put_span(a, o, b, j, 0);
		}
	}
	for (i = 0; i < b->nspans; i++)
		if (!cs->done[i])
			put_span(a, o, b, i, 0);
	return sbuf_failed(o) ? -ENOMEM : 0;
}

static void console_send(struct agent *a, struct batch *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->body.len) {
		n = write(STDOUT_FILENO, b->body.p + off, b->body.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	/* A terminal that went away is no reason to keep spans: settled. */
	a->st.export_bytes += off;
	agent_export_done(a, b, 200, UINT32_MAX, 0);
}

static int console_init(struct agent *a)
{
	struct console_state *cs = calloc(1, sizeof(*cs));
	uint32_t n = a->cfg->max_batch;

	if (!cs)
		return -ENOMEM;
	a->exp_state = cs;
	cs->parent = calloc(n, sizeof(*cs->parent));
	cs->child = calloc(n, sizeof(*cs->child));
	cs->sibling = calloc(n, sizeof(*cs->sibling));
	cs->done = calloc(n, 1);
	cs->cap = n;
	return cs->parent && cs->child && cs->sibling && cs->done ? 0 : -ENOMEM;
}

static void console_destroy(struct agent *a)
{
	struct console_state *cs = a->exp_state;

	if (!cs)
		return;
	free(cs->parent);
	free(cs->child);
	free(cs->sibling);
	free(cs->done);
	free(cs);
	a->exp_state = NULL;
}

const struct exporter_ops exporter_console_ops = {
	.init = console_init,
	.prepare = console_prepare,
	.send = console_send,
	.destroy = console_destroy,
};
