// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of spanagent's at-least-once bookkeeping (ledger.c) and
 * of its reading of backends' answers (otlp_response.c).
 */
#include <errno.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ledger.h"
#include "otlp_response.h"

TEST(release_follows_ring_order_not_ack_order)
{
	uint64_t start[2] = { 100, 7000 }, pos[2];
	struct ledger l;

	ASSERT_EQ(0, ledger_init(&l, 2, 3, start));
	/* Batch 0 reads ring 0 to 200 and ring 1 to 7100; batch 1 further. */
	ledger_read(&l, 0, 0, 150);
	ledger_read(&l, 0, 0, 200);	/* extends its segment */
	ledger_read(&l, 1, 0, 7100);
	ledger_read(&l, 0, 1, 260);
	ledger_read(&l, 1, 1, 7400);
	ledger_read(&l, 0, 2, 300);
	EXPECT_TRUE(ledger_batch_busy(&l, 0));

	/* The later batch acknowledged first releases nothing... */
	EXPECT_FALSE(ledger_settle(&l, 1, pos));
	EXPECT_EQ(100u, pos[0]);
	EXPECT_EQ(7000u, pos[1]);
	EXPECT_TRUE(ledger_batch_busy(&l, 1));
	/* ...until the earlier one is settled: then both go. */
	EXPECT_TRUE(ledger_settle(&l, 0, pos));
	EXPECT_EQ(260u, pos[0]);
	EXPECT_EQ(7400u, pos[1]);
	EXPECT_FALSE(ledger_batch_busy(&l, 0));
	EXPECT_FALSE(ledger_batch_busy(&l, 1));
	EXPECT_TRUE(ledger_batch_busy(&l, 2));
	EXPECT_TRUE(ledger_settle(&l, 2, pos));
	EXPECT_EQ(300u, pos[0]);
	ledger_free(&l);
}

/* Slots are reused many times; queues never overflow; positions only grow. */
TEST(slots_reused_in_any_settle_order)
{
	uint64_t start[1] = { 0 }, pos[1], end = 0, last = 0;
	uint32_t order[3] = { 0, 1, 2 }, round, k;
	struct ledger l;

	ASSERT_EQ(0, ledger_init(&l, 1, 3, start));
	for (round = 0; round < 1000; round++) {
		for (k = 0; k < 3; k++) {
			ASSERT_FALSE(ledger_batch_busy(&l, k));
			end += 8 * (k + 1);
			ledger_read(&l, 0, k, end);
		}
		/* Settle in a rotating order. */
		for (k = 0; k < 3; k++) {
			ledger_settle(&l, order[(k + round) % 3], pos);
			ASSERT_LE(last, pos[0]);
			last = pos[0];
		}
		ASSERT_EQ(end, pos[0]);
	}
	ledger_free(&l);
}

TEST(partial_success_in_protobuf_and_json)
{
	/* partial_success { rejected_spans: 3, error_message: "bad ids" } */
	static const uint8_t pb[] = { 0x0a, 0x0b, 0x08, 0x03, 0x12, 0x07,
				      'b', 'a', 'd', ' ', 'i', 'd', 's' };
	static const char js[] =
		"{\"partialSuccess\":{\"rejectedSpans\":\"5\",\"errorMessage\":\"too \\\"old\\\"\"}}";
	uint64_t rejected;
	char msg[64];

	EXPECT_EQ(0, otlp_partial_success(PROTOCOL_PROTOBUF, pb, sizeof(pb), &rejected,
					  msg, sizeof(msg)));
	EXPECT_EQ(3u, rejected);
	EXPECT_STREQ("bad ids", msg);
	EXPECT_EQ(0, otlp_partial_success(PROTOCOL_JSON, (const uint8_t *)js, strlen(js),
					  &rejected, msg, sizeof(msg)));
	EXPECT_EQ(5u, rejected);
	EXPECT_STREQ("too \\\"old\\\"", msg);
	/* An empty answer is a full success. */
	EXPECT_EQ(0, otlp_partial_success(PROTOCOL_PROTOBUF, NULL, 0, &rejected, msg, sizeof(msg)));
	EXPECT_EQ(0u, rejected);
}

TEST(hostile_answers_are_read_within_bounds)
{
	/* Lengths that point past the end, a varint that never ends. */
	static const uint8_t cut[] = { 0x0a, 0x7f, 0x08, 0x03 };
	static const uint8_t endless[] = { 0x0a, 0x03, 0x08, 0xff, 0xff };
	static const uint8_t status[] = { 0x08, 0x03, 0x12, 0x04, 'n', 'o', '\n', 0x01 };
	uint64_t rejected;
	char msg[8];

	otlp_partial_success(PROTOCOL_PROTOBUF, cut, sizeof(cut), &rejected, msg, sizeof(msg));
	EXPECT_EQ(0u, rejected);
	otlp_partial_success(PROTOCOL_PROTOBUF, endless, sizeof(endless), &rejected, msg, sizeof(msg));
	EXPECT_EQ(0u, rejected);
	/* google.rpc.Status.message, control characters made harmless. */
	otlp_error_reason("application/x-protobuf", status, sizeof(status), msg, sizeof(msg));
	EXPECT_STREQ("no??", msg);
	otlp_error_reason("text/plain", (const uint8_t *)"a very long reason", 18, msg, sizeof(msg));
	EXPECT_STREQ("a very ", msg);
}

TEST_HARNESS_MAIN
