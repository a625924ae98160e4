/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Build-time pins of every layout in <linux/kspan.h>. The module and the
 * user-space library both include this file, each after defining
 * KSPAN_ASSERT_LAYOUT(expr) with its own static assertion, so that a change
 * to the ABI fails the build on both sides at once. Not installed.
 */
#ifndef _KSPAN_LAYOUT_H
#define _KSPAN_LAYOUT_H

#ifndef KSPAN_ASSERT_LAYOUT
#error "define KSPAN_ASSERT_LAYOUT(expr) before including kspan_layout.h"
#endif

#define KSPAN_PIN(type, field, off) \
	KSPAN_ASSERT_LAYOUT(offsetof(struct type, field) == (off))

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_version) == 72);
KSPAN_PIN(kspan_version, abi_minor, 2);
KSPAN_PIN(kspan_version, module_version, 8);
KSPAN_PIN(kspan_version, __reserved, 40);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_record_header) == 8);
KSPAN_PIN(kspan_record_header, type, 4);
KSPAN_PIN(kspan_record_header, flags, 6);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_identity) == 32);
KSPAN_PIN(kspan_identity, tid, 4);
KSPAN_PIN(kspan_identity, uid, 8);
KSPAN_PIN(kspan_identity, cpu, 12);
KSPAN_PIN(kspan_identity, cgroup_id, 16);
KSPAN_PIN(kspan_identity, submit_time_ns, 24);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_span) == 96);
KSPAN_PIN(kspan_span, span_id, 16);
KSPAN_PIN(kspan_span, parent_span_id, 24);
KSPAN_PIN(kspan_span, start_time_ns, 32);
KSPAN_PIN(kspan_span, end_time_ns, 40);
KSPAN_PIN(kspan_span, kind, 48);
KSPAN_PIN(kspan_span, status, 49);
KSPAN_PIN(kspan_span, flags, 50);
KSPAN_PIN(kspan_span, name_len, 52);
KSPAN_PIN(kspan_span, attr_count, 54);
KSPAN_PIN(kspan_span, attrs_len, 56);
KSPAN_PIN(kspan_span, __reserved0, 60);
KSPAN_PIN(kspan_span, id, 64);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_attr) == 4);
KSPAN_PIN(kspan_attr, key_len, 1);
KSPAN_PIN(kspan_attr, value_len, 2);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_lost) == 32);
KSPAN_PIN(kspan_lost, first_ns, 8);
KSPAN_PIN(kspan_lost, last_ns, 16);
KSPAN_PIN(kspan_lost, cpu, 24);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_submit_batch) == 40);
KSPAN_PIN(kspan_submit_batch, len, 8);
KSPAN_PIN(kspan_submit_batch, count, 12);
KSPAN_PIN(kspan_submit_batch, accepted, 16);
KSPAN_PIN(kspan_submit_batch, __reserved, 24);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_producer_opts) == 32);
KSPAN_PIN(kspan_producer_opts, timeout_ns, 8);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_submit_setup) == 48);
KSPAN_PIN(kspan_submit_setup, flags, 4);
KSPAN_PIN(kspan_submit_setup, mmap_offset, 8);
KSPAN_PIN(kspan_submit_setup, page_size, 16);
KSPAN_PIN(kspan_submit_setup, record_max, 24);
KSPAN_PIN(kspan_submit_setup, __reserved, 32);
KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_submit_head) == 64);
KSPAN_PIN(kspan_submit_head, moved, 8);
KSPAN_PIN(kspan_submit_head, rejected, 16);
KSPAN_PIN(kspan_submit_head, corrupt, 24);
KSPAN_PIN(kspan_submit_head, __reserved, 32);
KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_span_context) == 32);
KSPAN_PIN(kspan_span_context, seq, 0);
KSPAN_PIN(kspan_span_context, flags, 4);
KSPAN_PIN(kspan_span_context, trace_id, 8);
KSPAN_PIN(kspan_span_context, span_id, 24);
KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_submit_tail) == 96);
KSPAN_PIN(kspan_submit_tail, __reserved0, 8);
KSPAN_PIN(kspan_submit_tail, active, 64);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_consumer_page) == 16);
KSPAN_PIN(kspan_consumer_page, read_pos, 8);
KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_producer_page) == 32);
KSPAN_PIN(kspan_producer_page, consumer_pos, 8);
KSPAN_PIN(kspan_producer_page, lost, 16);
KSPAN_PIN(kspan_producer_page, prev_read_pos, 24);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_ring_info) == 64);
KSPAN_PIN(kspan_ring_info, record_max, 4);
KSPAN_PIN(kspan_ring_info, data_size, 8);
KSPAN_PIN(kspan_ring_info, page_size, 16);
KSPAN_PIN(kspan_ring_info, consumer_off, 24);
KSPAN_PIN(kspan_ring_info, producer_off, 32);
KSPAN_PIN(kspan_ring_info, data_off, 40);

KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_stats) == 160);
KSPAN_PIN(kspan_stats, bad_consumer_pos, 112);
KSPAN_PIN(kspan_stats, dropped_busy, 120);
KSPAN_PIN(kspan_stats, __reserved, 128);
KSPAN_ASSERT_LAYOUT(sizeof(struct kspan_stats_query) == 168);
KSPAN_PIN(kspan_stats_query, stats, 8);

#undef KSPAN_PIN

#endif /* _KSPAN_LAYOUT_H */
