// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: the consumer side. Only a privileged process attaches, one
 * at a time; a restarted consumer resumes where the last one released;
 * nothing a consumer writes into its page can make the module misbehave;
 * only the consumer page is ever writable; poll wakes on new spans; the
 * module cannot be unloaded under a polling consumer and blocked producers.
 */
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"

FIXTURE(cons) {
	int fd;
};

FIXTURE_SETUP(cons)
{
	ASSERT_EQ(0, kspan_reload("ring_size=16384 record_max=1024"));
	ASSERT_EQ(0, pin_to_cpu(0));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(cons)
{
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

static int put(int fd, uint64_t seq)
{
	uint8_t rec[512];

	make_span(rec, sizeof(rec), seq, 200);
	return submit(fd, rec);
}

/* In a child that gave up root: what the consumer calls answer. */
TEST_F(cons, unprivileged_user_cannot_consume)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kspan_ring_info info;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = kspan_open(O_RDWR);
		if (fd < 0)
			_exit(11);
		/* Producing is for everyone. */
		if (put(fd, 1))
			_exit(12);
		if (ioctl(fd, KSPAN_IOC_CONSUMER_ATTACH) != -1 || errno != EPERM)
			_exit(13);
		if (ioctl(fd, KSPAN_IOC_RING_INFO, &info) != -1 || errno != EPERM)
			_exit(14);
		if (ioctl(fd, KSPAN_IOC_RELEASE, 0UL) != -1 || errno != EPERM)
			_exit(15);
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED ||
		    errno != EPERM)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(cons, one_consumer_at_a_time_and_restart_loses_nothing)
{
	struct kspan_consumer a, b;
	const struct kspan_record_header *h;
	int i;

	ASSERT_EQ(0, kspan_consumer_open(&a));
	EXPECT_EQ(-EBUSY, kspan_consumer_open(&b));
	EXPECT_EQ(-1, ioctl(a.fd, KSPAN_IOC_CONSUMER_ATTACH));
	EXPECT_EQ(EALREADY, errno);

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, put(self->fd, i));
	/* Read all ten, release four, "crash". */
	for (i = 0; i < 10; i++)
		ASSERT_NE(NULL, h = kspan_consumer_next(&a, 0));
	a.rings[0].read_pos = 0;
	for (i = 0; i < 4; i++)
		kspan_consumer_next(&a, 0);
	ASSERT_EQ(0, kspan_consumer_release(&a, 0, a.rings[0].read_pos));
	kspan_consumer_close(&a);

	/* The next consumer gets the six that were not released. */
	ASSERT_EQ(0, kspan_consumer_open(&b));
	for (i = 4; i < 10; i++) {
		h = kspan_consumer_next(&b, 0);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(i, span_seq(h));
	}
	EXPECT_EQ(NULL, kspan_consumer_next(&b, 0));
	kspan_consumer_close(&b);
}

TEST_F(cons, garbage_consumer_positions_are_ignored)
{
	struct kspan_consumer c;
	struct kspan_stats st;
	uint64_t bad[] = { 1ull << 62, 3, 8, (uint64_t)-8 };
	uint64_t rec_total;
	unsigned int i;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, put(self->fd, i));
	ASSERT_NE(NULL, kspan_consumer_next(&c, 0));
	rec_total = c.rings[0].read_pos;

	/* Past the producer, misaligned, inside a record, wrapped around. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.rings[0].cons->consumer_pos = bad[i];
		ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
		EXPECT_EQ(0u, c.rings[0].prod->consumer_pos);
	}
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	/* "8" lies inside the first record: clamped to 0, not an error. */
	EXPECT_EQ(3u, st.bad_consumer_pos);
	EXPECT_EQ(0u, st.consumed);

	/* A real position still works, and backwards is refused after it. */
	c.rings[0].cons->consumer_pos = rec_total;
	ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
	EXPECT_EQ(rec_total, c.rings[0].prod->consumer_pos);
	c.rings[0].cons->consumer_pos = 0;
	ASSERT_EQ(0, ioctl(c.fd, KSPAN_IOC_RELEASE, 0UL));
	EXPECT_EQ(rec_total, c.rings[0].prod->consumer_pos);
	ASSERT_EQ(0, get_stats(self->fd, 0, &st));
	EXPECT_EQ(1u, st.consumed);
	EXPECT_EQ(4u, st.bad_consumer_pos);
	/* Bad ring numbers. */
	EXPECT_EQ(-1, ioctl(c.fd, KSPAN_IOC_RELEASE, 100000UL));
	EXPECT_EQ(EINVAL, errno);
	/* Producers are unharmed. */
	EXPECT_EQ(0, put(self->fd, 9));
	kspan_consumer_close(&c);
}

TEST_F(cons, only_the_consumer_page_is_writable)
{
	struct kspan_consumer c;
	long page = sysconf(_SC_PAGESIZE);
	off_t ring1 = (off_t)KSPAN_MMAP_RING_STRIDE;
	void *p;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	/* Producer page or data writable: refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, page));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0));
	EXPECT_EQ(EPERM, errno);
	/* Read-only mappings cannot be made writable later. */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, c.fd, 2 * page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, page, PROT_READ | PROT_WRITE));
	munmap(p, page);
	/* Private mappings, mappings past the ring, rings that do not exist. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_PRIVATE, c.fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * page + 2 * 16384, PROT_READ, MAP_SHARED, c.fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_SHARED, c.fd,
				   ring1 * (off_t)c.info.nr_rings));
	/* The consumer page is writable, and only it. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, page);
	kspan_consumer_close(&c);
}

TEST_F(cons, poll_wakes_on_a_new_span)
{
	struct kspan_consumer c;
	struct pollfd pfd;
	pid_t pid;
	int status;

	ASSERT_EQ(0, kspan_consumer_open(&c));
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	EXPECT_EQ(0, poll(&pfd, 1, 100));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(300000);
		_exit(put(self->fd, 1) ? 1 : 0);
	}
	/* Sleeps in poll until the child's span arrives. */
	EXPECT_EQ(1, poll(&pfd, 1, 20000));
	EXPECT_TRUE(pfd.revents & POLLIN);
	waitpid(pid, &status, 0);
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(NULL, kspan_consumer_next(&c, 0));
	kspan_consumer_release_all(&c);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	kspan_consumer_close(&c);
}

TEST_F_TIMEOUT(cons, unload_refused_while_producers_block_and_consumer_polls, 120)
{
	struct kspan_consumer c;
	struct kspan_stats st;
	pid_t poller, prod[3];
	int i, status, nb = kspan_open(O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, nb);
	while (put(nb, 0) == 0)
		;
	close(nb);
	for (i = 0; i < 3; i++) {
		prod[i] = fork();
		ASSERT_LE(0, prod[i]);
		if (prod[i] == 0) {
			int fd = kspan_open(O_RDWR);

			pin_to_cpu(0);
			_exit(put(fd, 100 + i) ? 1 : 0);
		}
	}
	poller = fork();
	ASSERT_LE(0, poller);
	if (poller == 0) {
		struct pollfd pfd;

		if (kspan_consumer_open(&c))
			_exit(1);
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		for (;;)
			poll(&pfd, 1, -1);	/* never releases: killed below */
	}
	for (i = 0; i < 100; i++) {
		get_stats(self->fd, 0, &st);
		if (st.blocked >= 3)
			break;
		usleep(50000);
	}
	EXPECT_EQ(3u, st.blocked);
	close(self->fd);
	self->fd = -1;

	EXPECT_EQ(-EWOULDBLOCK, module_unload("kspan"));
	EXPECT_TRUE(module_is_loaded("kspan"));

	for (i = 0; i < 3; i++) {
		kill(prod[i], SIGKILL);
		waitpid(prod[i], &status, 0);
		EXPECT_TRUE(WIFSIGNALED(status));
	}
	kill(poller, SIGKILL);
	waitpid(poller, &status, 0);
	EXPECT_EQ(0, module_unload("kspan"));
	EXPECT_EQ(0, kspan_reload(NULL));
	self->fd = kspan_open(O_RDWR);
}

TEST_HARNESS_MAIN
