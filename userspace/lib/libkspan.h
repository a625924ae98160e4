/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkspan: record OpenTelemetry-style spans from an application into the
 * kspan kernel module, with no system call per span.
 *
 * Each thread that records spans gets, on first use, a file of its own on
 * /dev/kspan and a submission ring mapped into the process; a finished
 * span is copied into that ring, and the module takes it from there (on
 * its own, every flush interval, or at once on kspan_flush()). Spans
 * already in the ring survive the process being killed.
 *
 *	kspan_span_t *s = kspan_span_start("GET /cart", KSPAN_SPAN_KIND_SERVER);
 *	kspan_span_set_int(s, "http.response.status_code", 200);
 *	kspan_span_end(s);
 *	kspan_submit(s);
 *
 * A span started while another one of the same thread is open becomes its
 * child. A span belongs to the thread that started it: set, end and
 * submit it there. Spans are built in a fixed number of fixed-size slots
 * per thread (no allocation per span): KSPAN_MAX_OPEN_SPANS spans open at
 * once, each at most KSPAN_SPAN_CAPACITY bytes of name and attributes.
 *
 * When tracing is unavailable (no module, an older ABI, no permission),
 * kspan_span_start() returns NULL, every call taking a span is a no-op for
 * NULL, and the reason is reported once on stderr (unless KSPAN_QUIET is
 * set in the environment) and by kspan_status(). A program never fails
 * because tracing is off.
 *
 * Environment: KSPAN_DEVICE (default /dev/kspan), KSPAN_RING_SIZE (bytes
 * of each thread's submission ring, a power of two; default 65536),
 * KSPAN_QUIET.
 *
 * Thread-safe; fork-safe (a child gets rings of its own on first use).
 * Compiles as C99 and C++.
 */
#ifndef LIBKSPAN_H
#define LIBKSPAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KSPAN_MAX_OPEN_SPANS	32
#define KSPAN_SPAN_CAPACITY	2048
/* "00-" 32 hex "-" 16 hex "-" 2 hex, and a NUL. */
#define KSPAN_TRACEPARENT_SIZE	56

/* OpenTelemetry span kinds and status codes, with OTLP's numbers. */
enum kspan_kind {
	KSPAN_SPAN_KIND_INTERNAL = 1,
	KSPAN_SPAN_KIND_SERVER = 2,
	KSPAN_SPAN_KIND_CLIENT = 3,
	KSPAN_SPAN_KIND_PRODUCER = 4,
	KSPAN_SPAN_KIND_CONSUMER = 5
};

enum kspan_span_status {
	KSPAN_SPAN_STATUS_UNSET = 0,
	KSPAN_SPAN_STATUS_OK = 1,
	KSPAN_SPAN_STATUS_ERROR = 2
};

/* W3C trace context of a span: what a traceparent header carries. */
struct kspan_context {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t sampled;	/* 0 or 1 */
};

typedef struct kspan_active_span kspan_span_t;

/*
 * Opens the device and sets up the calling thread's ring now rather than
 * at its first span. Returns 0, or -errno: why spans are not recorded.
 */
int kspan_init(void);
/* "" while spans are recorded, else why not (e.g. "/dev/kspan: ..."). */
const char *kspan_status(void);

/*
 * Starts a span named @name (UTF-8; longer than 512 bytes is cut) of
 * @kind, child of the thread's current span if there is one, else the
 * root of a new trace; it becomes the current span. NULL when tracing is
 * off or KSPAN_MAX_OPEN_SPANS spans of the thread are open.
 */
kspan_span_t *kspan_span_start(const char *name, enum kspan_kind kind);
/* The same, child of @parent (e.g. from a traceparent header); NULL
 * @parent starts a new trace.
 */
kspan_span_t *kspan_span_start_child_of(const char *name, enum kspan_kind kind,
					const struct kspan_context *parent);

/*
 * Attributes: 0, -EINVAL for an empty key or one over 255 bytes (or a
 * value over 65535 bytes), -ENOSPC when the span has no room left for
 * it: the span keeps everything else.
 */
int kspan_span_set_str(kspan_span_t *s, const char *key, const char *value);
int kspan_span_set_int(kspan_span_t *s, const char *key, int64_t value);
int kspan_span_set_double(kspan_span_t *s, const char *key, double value);
int kspan_span_set_bool(kspan_span_t *s, const char *key, int value);
int kspan_span_set_bytes(kspan_span_t *s, const char *key, const void *value,
			 size_t len);
void kspan_span_set_status(kspan_span_t *s, enum kspan_span_status status);

/* The span's context, to propagate it (kspan_traceparent_format()). */
void kspan_span_context(const kspan_span_t *s, struct kspan_context *ctx);
/* The thread's current span's context: 0, or -ENOENT when none is open. */
int kspan_current_context(struct kspan_context *ctx);

/* Ends the span now: its end time; it stops being the current span. */
void kspan_span_end(kspan_span_t *s);
/*
 * Hands an ended span (ended now if it is not) to the module and frees
 * its slot. When the thread's ring is full, rings the module and waits
 * until it has room. Returns 0, or -errno (e.g. -EINTR, or -EAGAIN when
 * the file's policy does not block); on failure the span stays, to be
 * submitted again or discarded.
 */
int kspan_submit(kspan_span_t *s);
/* The same, but never waits: -EAGAIN when the ring is full. */
int kspan_try_submit(kspan_span_t *s);
/* Frees the span's slot without submitting it. */
void kspan_span_discard(kspan_span_t *s);
/* Waits until the module has taken every span the thread submitted. */
int kspan_flush(void);
/*
 * Gives up the calling thread's ring and file now rather than at thread
 * exit (the module moves what the ring holds); a later span sets up a
 * new one. Spans of the thread still open stay valid.
 */
void kspan_thread_release(void);

/*
 * W3C traceparent: parses @len bytes at @header (version 00 exactly,
 * later versions by their 00 prefix), returns 0 or -EINVAL. Formats
 * version 00 into @buf (KSPAN_TRACEPARENT_SIZE bytes, NUL-terminated).
 */
int kspan_traceparent_parse(const char *header, size_t len, struct kspan_context *ctx);
void kspan_traceparent_format(const struct kspan_context *ctx,
			      char buf[KSPAN_TRACEPARENT_SIZE]);

/* Random ids, never all zero, from a per-thread generator. */
void kspan_new_trace_id(uint8_t id[16]);
void kspan_new_span_id(uint8_t id[8]);

#ifdef __cplusplus
}
#endif

#endif /* LIBKSPAN_H */
