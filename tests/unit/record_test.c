// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/lib/kspan_record: records built are parsed
 * back identically, and every malformed record is refused.
 */
#include <errno.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kspan_record.h"

static long build_sample(uint8_t *buf, size_t cap)
{
	struct kspan_builder b;
	struct kspan_span *s;
	static const uint8_t blob[] = { 0, 1, 2, 0xff };

	if (kspan_build_begin(&b, buf, cap, "GET /users", 10))
		return b.error;
	s = kspan_build_span(&b);
	memset(s->trace_id, 0x11, sizeof(s->trace_id));
	memset(s->span_id, 0x22, sizeof(s->span_id));
	s->start_time_ns = 1000;
	s->end_time_ns = 2000;
	s->kind = KSPAN_KIND_SERVER;
	s->status = KSPAN_STATUS_ERROR;
	kspan_build_str(&b, "http.method", "GET");
	kspan_build_int(&b, "http.status_code", -404);
	kspan_build_double(&b, "ratio", 0.25);
	kspan_build_bool(&b, "cached", true);
	kspan_build_bytes(&b, "blob", blob, sizeof(blob));
	return kspan_build_end(&b);
}

TEST(build_then_parse_round_trips_every_type)
{
	uint8_t buf[512];
	struct kspan_span_view v;
	struct kspan_attr_view a;
	long len = build_sample(buf, sizeof(buf));

	ASSERT_LT(0, len);
	ASSERT_EQ(0, kspan_span_parse(buf, len, &v));
	EXPECT_EQ(10u, v.name_len);
	EXPECT_EQ(0, memcmp(v.name, "GET /users", 10));
	EXPECT_EQ(5u, v.attr_count);
	EXPECT_EQ(KSPAN_KIND_SERVER, v.span->kind);

	ASSERT_EQ(0, kspan_span_attr(&v, 0, &a));
	EXPECT_EQ(KSPAN_ATTR_STRING, a.type);
	EXPECT_EQ(0, memcmp(a.val, "GET", 3));
	ASSERT_EQ(0, kspan_span_attr(&v, 1, &a));
	EXPECT_EQ(-404, kspan_attr_int(&a));
	ASSERT_EQ(0, kspan_span_attr(&v, 2, &a));
	EXPECT_EQ(0.25, kspan_attr_double(&a));
	ASSERT_EQ(0, kspan_span_attr(&v, 3, &a));
	EXPECT_EQ(1, a.val[0]);
	ASSERT_EQ(0, kspan_span_attr(&v, 4, &a));
	EXPECT_EQ(4u, a.val_len);
	EXPECT_EQ(0xff, a.val[3]);
	EXPECT_EQ(-ENOENT, kspan_span_attr(&v, 5, &a));
}

TEST(builder_refuses_overflow_and_stays_failed)
{
	uint8_t buf[128];
	struct kspan_builder b;
	char big[64];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ASSERT_EQ(0, kspan_build_begin(&b, buf, sizeof(buf), "n", 1));
	EXPECT_EQ(-EMSGSIZE, kspan_build_str(&b, "k", big));
	EXPECT_EQ(-EMSGSIZE, kspan_build_int(&b, "k", 1));
	EXPECT_EQ(-EMSGSIZE, kspan_build_end(&b));
	EXPECT_EQ(-EINVAL, kspan_build_begin(&b, buf, sizeof(buf), "", 0));
}

TEST(builder_refuses_empty_and_long_keys)
{
	uint8_t buf[1024];
	struct kspan_builder b;
	char key[300];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ASSERT_EQ(0, kspan_build_begin(&b, buf, sizeof(buf), "n", 1));
	EXPECT_EQ(-EINVAL, kspan_build_int(&b, "", 1));
	ASSERT_EQ(0, kspan_build_begin(&b, buf, sizeof(buf), "n", 1));
	EXPECT_EQ(-EINVAL, kspan_build_int(&b, key, 1));
}

/* Each mutation of a valid record that the module must refuse. */
TEST(parse_refuses_malformed_records)
{
	uint8_t good[512], buf[512];
	struct kspan_record_header *h = (void *)buf;
	struct kspan_span *s = (void *)(buf + sizeof(*h));
	uint8_t *attrs;
	struct kspan_span_view v;
	long len = build_sample(good, sizeof(good));

	ASSERT_LT(0, len);
	attrs = buf + sizeof(*h) + sizeof(*s) + 10;
#define MUTATE(stmt) do { memcpy(buf, good, len); stmt; \
	EXPECT_NE(0, kspan_span_parse(buf, len, &v)) { TH_LOG("accepted: %s", #stmt); } } while (0)
	MUTATE(h->type = KSPAN_RECORD_LOST);
	MUTATE(h->len = len + 8);
	MUTATE(h->len = 8);
	MUTATE(s->name_len = 0);
	MUTATE(s->name_len = 11);
	MUTATE(s->attrs_len -= 1);
	MUTATE(s->attr_count = 6);
	MUTATE(s->attr_count = 4);
	MUTATE(s->kind = 6);
	MUTATE(s->status = 3);
	MUTATE(s->flags = 0x8000);
	MUTATE(s->__reserved0 = 1);
	MUTATE(memset(s->trace_id, 0, 16));
	MUTATE(memset(s->span_id, 0, 8));
	MUTATE(s->end_time_ns = 999);
	MUTATE(attrs[0] = 0);			/* unknown type */
	MUTATE(attrs[0] = 9);
	MUTATE(attrs[1] = 0);			/* empty key */
	MUTATE(attrs[1] = 200);			/* key past the end */
	MUTATE(attrs[2] = 0xff; attrs[3] = 0xff); /* value past the end */
#undef MUTATE
	memcpy(buf, good, len);
	EXPECT_EQ(0, kspan_span_parse(buf, len, &v));
	EXPECT_NE(0, kspan_span_parse(buf, len - 1, &v));
}

TEST(parse_refuses_bad_typed_values)
{
	uint8_t buf[256];
	struct kspan_builder b;
	struct kspan_span_view v;
	struct kspan_span *s;
	uint8_t *val;
	long len;

	ASSERT_EQ(0, kspan_build_begin(&b, buf, sizeof(buf), "n", 1));
	s = kspan_build_span(&b);
	s->trace_id[0] = 1;
	s->span_id[0] = 1;
	kspan_build_bool(&b, "b", true);
	len = kspan_build_end(&b);
	ASSERT_EQ(0, kspan_span_parse(buf, len, &v));
	val = buf + len - 1;
	*val = 2;
	EXPECT_EQ(-EINVAL, kspan_span_parse(buf, len, &v));
}

TEST(record_total_pads_to_eight)
{
	EXPECT_EQ(0u, kspan_record_total(0));
	EXPECT_EQ(112u, kspan_record_total(105));
	EXPECT_EQ(112u, kspan_record_total(112));
}

TEST_HARNESS_MAIN
