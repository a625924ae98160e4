/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LTTng-UST tracepoint provider for producer_bench: one event carrying the
 * payload of the span the kspan cases record (ids, two times, a name and
 * three attributes), so that both tracers are given the same values. The
 * attribute keys live in LTTng's metadata, not in each event.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER kspan_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng_tp.h"

#if !defined(KSPAN_BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define KSPAN_BENCH_LTTNG_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
	kspan_bench, span,
	LTTNG_UST_TP_ARGS(const uint8_t *, trace_id, const uint8_t *, span_id,
			  const uint8_t *, parent_span_id, uint64_t, start_ns,
			  uint64_t, end_ns, const char *, name, const char *, method,
			  int64_t, status, uint8_t, error),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_array(uint8_t, trace_id, trace_id, 16)
		lttng_ust_field_array(uint8_t, span_id, span_id, 8)
		lttng_ust_field_array(uint8_t, parent_span_id, parent_span_id, 8)
		lttng_ust_field_integer(uint64_t, start_time_ns, start_ns)
		lttng_ust_field_integer(uint64_t, end_time_ns, end_ns)
		lttng_ust_field_string(name, name)
		lttng_ust_field_string(m, method)
		lttng_ust_field_integer(int64_t, s, status)
		lttng_ust_field_integer(uint8_t, e, error)
	)
)

#endif /* KSPAN_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
