// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: CPU hotplug. Rings exist for every possible CPU, so a CPU
 * taken offline with spans in its ring leaves them to be drained.
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"

static int set_online(int on)
{
	FILE *f = fopen(CPU1_ONLINE, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fputs(on ? "1" : "0", f) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

FIXTURE(hotplug) {
	int fd;
};

FIXTURE_SETUP(hotplug)
{
	if (nr_cpus() < 2 || access(CPU1_ONLINE, W_OK))
		SKIP(return, "needs a second CPU that can go offline");
	ASSERT_EQ(0, kspan_reload("ring_size=65536 record_max=1024"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(hotplug)
{
	if (nr_cpus() < 2 || access(CPU1_ONLINE, W_OK))
		return;
	set_online(1);
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

TEST_F(hotplug, offline_cpus_ring_still_drains)
{
	const struct kspan_record_header *h;
	struct kspan_consumer c;
	struct kspan_stats st;
	uint8_t rec[512];
	char state[8];
	int i;

	ASSERT_EQ(0, pin_to_cpu(1));
	for (i = 0; i < 50; i++) {
		make_span(rec, sizeof(rec), i, 300);
		ASSERT_EQ(0, submit(self->fd, rec));
	}
	ASSERT_EQ(0, pin_to_cpu(0));
	ASSERT_EQ(0, set_online(0));
	read_line(CPU1_ONLINE, state, sizeof(state));
	ASSERT_STREQ("0", state);

	/* Attach while the CPU is away: its ring maps and drains. */
	ASSERT_EQ(0, kspan_consumer_open(&c));
	for (i = 0; i < 50; i++) {
		h = kspan_consumer_next(&c, 1);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(i, span_seq(h));
		EXPECT_EQ(1u, ((const struct kspan_span *)(h + 1))->id.cpu);
	}
	EXPECT_EQ(NULL, kspan_consumer_next(&c, 1));
	ASSERT_EQ(0, kspan_consumer_release_all(&c));
	ASSERT_EQ(0, get_stats(self->fd, 1, &st));
	EXPECT_EQ(50u, st.consumed);

	/* Back online, the ring takes spans again. */
	ASSERT_EQ(0, set_online(1));
	ASSERT_EQ(0, pin_to_cpu(1));
	make_span(rec, sizeof(rec), 99, 300);
	ASSERT_EQ(0, submit(self->fd, rec));
	h = kspan_consumer_next(&c, 1);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(99, span_seq(h));
	kspan_consumer_close(&c);
}

TEST_HARNESS_MAIN
