// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkspan: building spans in per-thread slots, the thread's current-span
 * stack, and handing finished spans to the submission ring.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The record format's kinds and statuses are the public ones. */
_Static_assert((int)KSPAN_SPAN_KIND_SERVER == (int)KSPAN_KIND_SERVER, "kind numbering");
_Static_assert((int)KSPAN_SPAN_KIND_CONSUMER == (int)KSPAN_KIND_CONSUMER, "kind numbering");
_Static_assert((int)KSPAN_SPAN_STATUS_ERROR == (int)KSPAN_STATUS_ERROR, "status numbering");

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	/* vDSO: no system call. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The length of @name cut to KSPAN_NAME_MAX at a character boundary. */
static size_t name_len(const char *name)
{
	size_t n = strnlen(name, KSPAN_NAME_MAX + 1);

	if (n <= KSPAN_NAME_MAX)
		return n;
	n = KSPAN_NAME_MAX;
	/* Back over UTF-8 continuation bytes (10xxxxxx). */
	while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static struct kspan_active_span *slot_get(struct kspan_thread *t)
{
	uint32_t all = (uint32_t)((1ull << KSPAN_MAX_OPEN_SPANS) - 1);
	unsigned int i;

	if ((t->used & all) == all)
		return NULL;
	i = (unsigned int)__builtin_ctz(~t->used);
	t->used |= 1u << i;
	return &t->slots[i];
}

static void slot_put(struct kspan_active_span *s)
{
	s->open = false;
	s->owner->used &= ~(1u << (s - s->owner->slots));
}

/*
 * Publishes the thread's current span in its ring's page (ABI 1.4), where
 * BPF programs running on this thread find it (kspan_bpf_current_span())
 * and make their kernel spans its children. A seqcount: odd while it is
 * written; the module copies it only while it is even and unchanged. No
 * system call.
 */
static void publish_current(struct kspan_thread *t)
{
	struct kspan_span_context *pub;
	const struct kspan_span *top;
	uint32_t seq;

	if (t->fd < 0 || !t->ring.tail)
		return;
	pub = &t->ring.tail->active;
	seq = __atomic_load_n(&pub->seq, __ATOMIC_RELAXED) | 1;
	__atomic_store_n(&pub->seq, seq, __ATOMIC_RELAXED);
	/* The odd sequence before the new contents. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (t->depth) {
		top = kspan_build_span(&t->stack[t->depth - 1]->b);
		memcpy(pub->trace_id, top->trace_id, sizeof(pub->trace_id));
		memcpy(pub->span_id, top->span_id, sizeof(pub->span_id));
		pub->flags = KSPAN_CONTEXT_ACTIVE |
			     (top->flags & KSPAN_SPAN_SAMPLED ? KSPAN_CONTEXT_SAMPLED : 0);
	} else {
		pub->flags = 0;
	}
	/* The contents before the even sequence. */
	__atomic_store_n(&pub->seq, seq + 1, __ATOMIC_RELEASE);
}

static void stack_remove(struct kspan_active_span *s)
{
	struct kspan_thread *t = s->owner;
	unsigned int i;

	for (i = t->depth; i-- > 0;)
		if (t->stack[i] == s) {
			memmove(&t->stack[i], &t->stack[i + 1],
				(t->depth - i - 1) * sizeof(t->stack[0]));
			t->depth--;
			publish_current(t);
			return;
		}
}

KSPAN_API kspan_span_t *kspan_span_start_child_of(const char *name,
						  enum kspan_kind kind,
						  const struct kspan_context *parent)
{
	struct kspan_thread *t = kspan_thread_get();
	struct kspan_active_span *s;
	struct kspan_span *body;
	size_t len;

	if (!t || !kspan_thread_ring(t) || !name)
		return NULL;
	len = name_len(name);
	if (!len || (unsigned int)kind - 1 > KSPAN_SPAN_KIND_CONSUMER - 1)
		return NULL;
	s = slot_get(t);
	if (!s)
		return NULL;
	kspan_build_begin(&s->b, s->rec, sizeof(s->rec), name, len);
	body = kspan_build_span(&s->b);
	if (parent) {
		memcpy(body->trace_id, parent->trace_id, sizeof(body->trace_id));
		memcpy(body->parent_span_id, parent->span_id, sizeof(body->parent_span_id));
		body->flags = parent->sampled ? KSPAN_SPAN_SAMPLED : 0;
	} else {
		kspan_new_trace_id(body->trace_id);
		body->flags = KSPAN_SPAN_SAMPLED;
	}
	kspan_new_span_id(body->span_id);
	body->kind = (uint8_t)kind;
	body->start_time_ns = realtime_ns();
	s->open = true;
	s->ended = false;
	s->owner = t;
	t->stack[t->depth++] = s;
	publish_current(t);
	return s;
}

KSPAN_API kspan_span_t *kspan_span_start(const char *name, enum kspan_kind kind)
{
	struct kspan_context parent;

	if (kspan_current_context(&parent))
		return kspan_span_start_child_of(name, kind, NULL);
	return kspan_span_start_child_of(name, kind, &parent);
}

KSPAN_API void kspan_span_context(const kspan_span_t *s, struct kspan_context *ctx)
{
	const struct kspan_span *body;

	memset(ctx, 0, sizeof(*ctx));
	if (!s)
		return;
	body = (const struct kspan_span *)(s->rec + sizeof(struct kspan_record_header));
	memcpy(ctx->trace_id, body->trace_id, sizeof(ctx->trace_id));
	memcpy(ctx->span_id, body->span_id, sizeof(ctx->span_id));
	ctx->sampled = body->flags & KSPAN_SPAN_SAMPLED;
}

KSPAN_API int kspan_current_context(struct kspan_context *ctx)
{
	struct kspan_thread *t = kspan_thread_get();

	if (!t || !t->depth)
		return -ENOENT;
	kspan_span_context(t->stack[t->depth - 1], ctx);
	return 0;
}

/*
 * Adds an attribute if it fits, leaving the span as it was if not: the
 * builder's errors are sticky, and a span must keep what it has. NULL
 * span: tracing is off, nothing to do.
 */
static int set_attr(kspan_span_t *s, uint8_t type, const char *key,
		    const void *val, size_t val_len)
{
	size_t key_len;

	if (!s)
		return 0;
	if (!s->open || s->ended || !key || (!val && val_len))
		return -EINVAL;
	key_len = strlen(key);
	if (!key_len || key_len > UINT8_MAX || val_len > UINT16_MAX)
		return -EINVAL;
	if (s->b.cap - s->b.len < sizeof(struct kspan_attr) + key_len + val_len ||
	    kspan_build_span(&s->b)->attr_count == UINT16_MAX)
		return -ENOSPC;
	return kspan_build_attr(&s->b, type, key, key_len, val, val_len);
}

KSPAN_API int kspan_span_set_str(kspan_span_t *s, const char *key, const char *value)
{
	if (!value)
		return s ? -EINVAL : 0;
	return set_attr(s, KSPAN_ATTR_STRING, key, value, strlen(value));
}

KSPAN_API int kspan_span_set_bytes(kspan_span_t *s, const char *key,
				   const void *value, size_t len)
{
	return set_attr(s, KSPAN_ATTR_BYTES, key, value, len);
}

KSPAN_API int kspan_span_set_int(kspan_span_t *s, const char *key, int64_t value)
{
	return set_attr(s, KSPAN_ATTR_INT64, key, &value, sizeof(value));
}

KSPAN_API int kspan_span_set_double(kspan_span_t *s, const char *key, double value)
{
	return set_attr(s, KSPAN_ATTR_DOUBLE, key, &value, sizeof(value));
}

KSPAN_API int kspan_span_set_bool(kspan_span_t *s, const char *key, int value)
{
	uint8_t v = value != 0;

	return set_attr(s, KSPAN_ATTR_BOOL, key, &v, 1);
}

KSPAN_API void kspan_span_set_status(kspan_span_t *s, enum kspan_span_status status)
{
	if (s && s->open && !s->ended && (unsigned int)status <= KSPAN_SPAN_STATUS_ERROR)
		kspan_build_span(&s->b)->status = (uint8_t)status;
}

KSPAN_API void kspan_span_end(kspan_span_t *s)
{
	struct kspan_span *body;
	uint64_t now;

	if (!s || !s->open || s->ended)
		return;
	body = kspan_build_span(&s->b);
	now = realtime_ns();
	/* The realtime clock may step back: never end before the start. */
	body->end_time_ns = now < body->start_time_ns ? body->start_time_ns : now;
	s->ended = true;
	stack_remove(s);
}

KSPAN_API void kspan_span_discard(kspan_span_t *s)
{
	if (!s || !s->open)
		return;
	if (!s->ended)
		stack_remove(s);
	slot_put(s);
}

/* Copies the ended span into the thread's ring; -EAGAIN when it is full. */
static int put(struct kspan_sring *r, kspan_span_t *s)
{
	long len = kspan_build_end(&s->b);
	void *dst;

	if (len < 0)
		return (int)len;
	/* A module whose record_max is below the span: never fits. */
	if (kspan_sring_check_len(r, (size_t)len))
		return -EMSGSIZE;
	dst = kspan_sring_reserve(r, (size_t)len);
	if (!dst)
		return -EAGAIN;
	memcpy(dst, s->rec, (size_t)len);
	kspan_sring_produce(r, (size_t)len);
	kspan_sring_publish(r);
	slot_put(s);
	return 0;
}

/*
 * Not waiting, the ring full: ring the module, unless the last doorbell
 * freed nothing and nothing moved since (the worker or a consumer will
 * move it): a full ring then costs no system call per refused span.
 */
static int try_again(struct kspan_thread *t, struct kspan_sring *r,
		     kspan_span_t *s)
{
	uint64_t head = __atomic_load_n(&r->head->head, __ATOMIC_ACQUIRE);
	int ret;

	if (t->stuck_head == head + 1)
		return -EAGAIN;
	ret = kspan_sring_flush(r, 0);
	if (ret == -EBADMSG)
		return ret;
	ret = put(r, s);
	t->stuck_head = ret == -EAGAIN ?
		__atomic_load_n(&r->head->head, __ATOMIC_ACQUIRE) + 1 : 0;
	return ret;
}

static int submit(kspan_span_t *s, bool wait)
{
	struct kspan_thread *t;
	struct kspan_sring *r;
	int ret;

	if (!s)
		return 0;
	if (!s->open)
		return -EINVAL;
	kspan_span_end(s);
	/* The calling thread's ring: a ring has one writer. */
	t = kspan_thread_get();
	r = t ? kspan_thread_ring(t) : NULL;
	if (!r)
		return 0;
	for (;;) {
		ret = put(r, s);
		if (ret != -EAGAIN)
			return ret;
		if (!wait)
			return try_again(t, r, s);
		/*
		 * Full: ring the module. Waiting, it returns once everything
		 * moved, or fails (-EINTR, -ETIMEDOUT, -EAGAIN for a
		 * non-blocking policy); not waiting, it moves what fits now.
		 */
		ret = kspan_sring_flush(r, KSPAN_FLUSH_WAIT);
		if (ret && ret != -EAGAIN)
			return ret;
		/* A policy that does not block: one more try. */
		if (ret == -EAGAIN)
			return put(r, s);
	}
}

KSPAN_API int kspan_submit(kspan_span_t *s)
{
	return submit(s, true);
}

KSPAN_API int kspan_try_submit(kspan_span_t *s)
{
	return submit(s, false);
}

KSPAN_API int kspan_flush(void)
{
	struct kspan_thread *t = kspan_thread_get();
	struct kspan_sring *r = t && t->fd >= 0 ? &t->ring : NULL;

	return r ? kspan_sring_flush(r, KSPAN_FLUSH_WAIT) : 0;
}
