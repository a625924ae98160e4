// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: spans submitted by ioctl arrive in the mapped ring byte for
 * byte, with the kernel-stamped identity, in order per CPU; malformed
 * records are refused, counted, and leave nothing behind; batches report
 * exactly how many records they took; the counters match what was sent.
 */
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Mounts cgroup2 at CGROUP_ROOT unless it is there; returns 0 or -errno. */
static int own_cgroup_mounted(void)
{
	struct stat st;

	if (stat(CGROUP_ROOT "/cgroup.controllers", &st) == 0)
		return 0;
	return mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL) ? -errno : 0;
}

/* The directory of the caller's cgroup v2. */
static const char *own_cgroup_dir(void)
{
	static char dir[PATH_MAX + 32];
	char line[PATH_MAX];
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(dir, sizeof(dir), "%s", CGROUP_ROOT);
	if (!f)
		return dir;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dir, sizeof(dir), "%s%s", CGROUP_ROOT, line + 3);
		}
	fclose(f);
	return dir;
}

/* A hardware watchpoint counting every access to the 8 bytes at @addr. */
static int watch_reads(void *addr)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_RW;
	a.bp_addr = (uintptr_t)addr;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

FIXTURE(ring) {
	int fd;
	struct kspan_consumer c;
};

FIXTURE_SETUP(ring)
{
	ASSERT_EQ(0, own_cgroup_mounted());
	ASSERT_EQ(0, kspan_reload("ring_size=65536 record_max=4096"));
	self->fd = kspan_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kspan_consumer_open(&self->c));
	ASSERT_EQ(0, pin_to_cpu(0));
}

FIXTURE_TEARDOWN(ring)
{
	kspan_consumer_close(&self->c);
	close(self->fd);
	EXPECT_EQ(0, module_unload("kspan"));
}

/* Everything but the identity is what the producer wrote. */
static int same_but_identity(const void *a, const void *b, size_t len)
{
	size_t id_off = sizeof(struct kspan_record_header) +
			offsetof(struct kspan_span, id);
	size_t id_end = id_off + sizeof(struct kspan_identity);

	return !memcmp(a, b, id_off) &&
	       !memcmp((const char *)a + id_end, (const char *)b + id_end, len - id_end);
}

TEST_F(ring, every_attribute_type_round_trips_with_identity)
{
	static const uint8_t blob[] = { 0, 0xff, 0x80, 1 };
	uint8_t rec[1024];
	const struct kspan_record_header *got;
	const struct kspan_span *s;
	struct kspan_builder b;
	struct kspan_span *span;
	struct stat cg;
	uint64_t before, after;
	long len;

	ASSERT_EQ(0, kspan_build_begin(&b, rec, sizeof(rec), "checkout", 8));
	span = kspan_build_span(&b);
	memset(span->trace_id, 0xab, 16);
	memset(span->span_id, 0xcd, 8);
	memset(span->parent_span_id, 0xef, 8);
	span->start_time_ns = 111;
	span->end_time_ns = 222;
	span->kind = KSPAN_KIND_CLIENT;
	span->status = KSPAN_STATUS_OK;
	span->flags = KSPAN_SPAN_SAMPLED;
	/* Forged identity: must be overwritten. */
	span->id.pid = 1;
	span->id.uid = 0;
	span->id.cpu = 77;
	span->id.cgroup_id = 12345;
	kspan_build_str(&b, "s", "value");
	kspan_build_str(&b, "empty", "");
	kspan_build_int(&b, "i", INT64_MIN);
	kspan_build_double(&b, "d", -1.5e300);
	kspan_build_bool(&b, "t", true);
	kspan_build_bool(&b, "f", false);
	kspan_build_bytes(&b, "b", blob, sizeof(blob));
	len = kspan_build_end(&b);
	ASSERT_LT(0, len);

	before = now_ns();
	ASSERT_EQ(0, submit(self->fd, rec));
	after = now_ns();

	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(len, got->len);
	EXPECT_EQ(0, got->flags);
	EXPECT_TRUE(same_but_identity(rec, got, len));
	s = (const void *)(got + 1);
	EXPECT_EQ(getpid(), (pid_t)s->id.pid);
	EXPECT_EQ(syscall(SYS_gettid), (long)s->id.tid);
	EXPECT_EQ(getuid(), s->id.uid);
	EXPECT_EQ(0u, s->id.cpu);
	EXPECT_LE(before, s->id.submit_time_ns);
	EXPECT_GE(after, s->id.submit_time_ns);
	/* cgroup v2 ids are the cgroup directory's inode. */
	ASSERT_EQ(0, stat(own_cgroup_dir(), &cg));
	EXPECT_EQ((uint64_t)cg.st_ino, s->id.cgroup_id);
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
}

/*
 * The identity is the submitter's, exactly, whatever the record says: a
 * child in a cgroup of its own, under another uid, forging all of it.
 */
TEST_F(ring, identity_is_the_submitters_own)
{
	const char *dir = CGROUP_ROOT "/kspan-identity";
	const struct kspan_record_header *got;
	const struct kspan_span *s;
	struct stat cg;
	uint8_t rec[512];
	int status;
	pid_t pid;

	ASSERT_EQ(0, own_cgroup_mounted());
	rmdir(dir);
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, stat(dir, &cg));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char me[32];
		struct kspan_span *forged;

		snprintf(me, sizeof(me), "%d", getpid());
		if (write_file(CGROUP_ROOT "/kspan-identity/cgroup.procs", me))
			_exit(10);
		if (setgid(2345) || setuid(1234))
			_exit(11);
		make_span(rec, sizeof(rec), 42, 200);
		forged = (struct kspan_span *)((struct kspan_record_header *)rec + 1);
		forged->id.pid = 1;
		forged->id.tid = 1;
		forged->id.uid = 0;
		forged->id.cgroup_id = 1;
		forged->id.cpu = 3;
		forged->id.submit_time_ns = 5;
		_exit(submit(self->fd, rec) ? 12 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	rmdir(dir);

	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	s = (const void *)(got + 1);
	EXPECT_EQ(42, span_seq(got));
	EXPECT_EQ((uint32_t)pid, s->id.pid);
	EXPECT_EQ((uint32_t)pid, s->id.tid);
	EXPECT_EQ(1234u, s->id.uid);
	EXPECT_EQ((uint64_t)cg.st_ino, s->id.cgroup_id);
	EXPECT_EQ(0u, s->id.cpu);
	EXPECT_LT(1000u, s->id.submit_time_ns);
}

/*
 * A single submit reads exactly the record's bytes: a hardware watchpoint
 * on the word right after the record, in the same page, never fires (on
 * an architecture with tagged memory, such a read faults). The control, a
 * watchpoint inside the record, shows that kernel reads do fire it.
 */
TEST_F(ring, single_submit_reads_nothing_past_the_record)
{
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const size_t lens[] = { 136, 200, 248, 1000 };
	uint64_t hits;
	unsigned int i;
	long len;
	int wfd;

	ASSERT_NE(MAP_FAILED, page);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = make_span(page, 4096, i, lens[i]);
		ASSERT_EQ((long)lens[i], len);
		/* Control: inside the record. */
		wfd = watch_reads(page + ((len / 2) & ~7L));
		ASSERT_LE(0, wfd) {
			TH_LOG("perf_event_open(breakpoint): %s", strerror(errno));
		}
		ASSERT_EQ(0, submit(self->fd, page));
		ASSERT_EQ(sizeof(hits), (size_t)read(wfd, &hits, sizeof(hits)));
		close(wfd);
		ASSERT_LT(0u, hits) {
			TH_LOG("a watchpoint in the record never fired: the test proves nothing");
		}
		/* The word after the record (records are 8-aligned). */
		wfd = watch_reads(page + kspan_record_total(len));
		ASSERT_LE(0, wfd);
		ASSERT_EQ(0, submit(self->fd, page));
		ASSERT_EQ(sizeof(hits), (size_t)read(wfd, &hits, sizeof(hits)));
		close(wfd);
		EXPECT_EQ(0u, hits) {
			TH_LOG("a %ld-byte record: the kernel read past it", len);
		}
	}
	munmap(page, 4096);
}

TEST_F(ring, size_limits_are_exact)
{
	static uint8_t rec[8192];
	const struct kspan_record_header *got;
	long len;

	/* The largest record accepted is record_max bytes long. */
	len = make_span(rec, sizeof(rec), 1, 4096);
	ASSERT_EQ(4096, len);
	EXPECT_EQ(0, submit(self->fd, rec));
	len = make_span(rec, sizeof(rec), 2, 4097);
	ASSERT_EQ(4097, len);
	EXPECT_EQ(-EMSGSIZE, submit(self->fd, rec));
	/* The smallest: a one-byte name, no attributes. */
	{
		struct kspan_builder b;

		kspan_build_begin(&b, rec, sizeof(rec), "x", 1);
		kspan_build_span(&b)->trace_id[0] = 1;
		kspan_build_span(&b)->span_id[0] = 1;
		len = kspan_build_end(&b);
	}
	ASSERT_EQ((long)(sizeof(struct kspan_record_header) + sizeof(struct kspan_span) + 1), len);
	EXPECT_EQ(0, submit(self->fd, rec));

	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(4096u, got->len);
	EXPECT_EQ(1, span_seq(got));
	got = kspan_consumer_next(&self->c, 0);
	ASSERT_NE(NULL, got);
	EXPECT_EQ((uint32_t)len, got->len);
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
}

TEST_F(ring, records_arrive_in_order_per_cpu)
{
	uint8_t rec[512];
	const struct kspan_record_header *got;
	int cpu, n = 2000, i;
	int64_t expect;

	for (cpu = 0; cpu < nr_cpus() && cpu < 2; cpu++) {
		ASSERT_EQ(0, pin_to_cpu(cpu));
		expect = cpu * 100000;
		for (i = 0; i < n; i++) {
			ASSERT_LT(0, make_span(rec, sizeof(rec), cpu * 100000 + i, 64 + i % 200));
			ASSERT_EQ(0, submit(self->fd, rec));
			if (i % 100 != 99 && i != n - 1)
				continue;
			/* Drain as we go: 64 KiB do not hold 2000 spans. */
			while ((got = kspan_consumer_next(&self->c, cpu)))
				ASSERT_EQ(expect++, span_seq(got));
			ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
		}
		EXPECT_EQ(cpu * 100000 + n, expect);
	}
}

TEST_F(ring, malformed_records_are_refused_counted_and_not_written)
{
	uint8_t good[512], rec[512];
	struct kspan_record_header *h = (void *)rec;
	struct kspan_span *s = (void *)(rec + sizeof(*h));
	struct kspan_stats st = { 0 };
	long len = make_span(good, sizeof(good), 5, 100);
	int n = 0;

	ASSERT_LT(0, len);
#define REFUSED(err, stmt) do { memcpy(rec, good, len); stmt; n++; \
	EXPECT_EQ(err, submit(self->fd, rec)) { TH_LOG("accepted: %s", #stmt); } } while (0)
	REFUSED(-EINVAL, h->flags = KSPAN_RECORD_BUSY);
	REFUSED(-EINVAL, h->type = KSPAN_RECORD_LOST);
	REFUSED(-EINVAL, h->len = 8);
	REFUSED(-EMSGSIZE, h->len = 1u << 31);
	REFUSED(-EINVAL, s->name_len = 0);
	REFUSED(-EINVAL, s->attrs_len += 8);
	REFUSED(-EINVAL, s->attr_count += 1);
	REFUSED(-EINVAL, s->kind = 200);
	REFUSED(-EINVAL, s->status = 3);
	REFUSED(-EINVAL, s->__reserved0 = 1);
	REFUSED(-EINVAL, memset(s->trace_id, 0, 16));
	REFUSED(-EINVAL, s->end_time_ns = 0);
#undef REFUSED
	EXPECT_EQ(-EFAULT, submit(self->fd, (void *)16));
	n++;
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ((uint64_t)n, st.rejected);
	EXPECT_EQ((uint64_t)n, st.submitted);
	EXPECT_EQ(0u, st.committed);
}

TEST_F(ring, record_crossing_an_unmapped_page_faults_cleanly)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t rec[512];
	long len = make_span(rec, sizeof(rec), 9, 300);

	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	/* The header is readable, the rest of the record is not. */
	memcpy(map + page - 16, rec, 16);
	EXPECT_EQ(-EFAULT, submit(self->fd, map + page - 16));
	munmap(map, page);
	(void)len;
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
}

/*
 * A single submit copies ahead of the header up to the end of its page, but
 * never into the next one: records of every size, ending anywhere near a
 * page end, arrive whole; one that ends exactly where an unmapped page
 * begins is accepted; a header or record that runs into it faults.
 */
TEST_F(ring, records_near_a_page_end_copy_exactly_their_bytes)
{
	static const size_t sizes[] = { 121, 200, 256, 257, 300, 1000 };
	static const size_t back[] = { 4, 8, 120, 128, 200, 256, 264, 1000 };
	long page = sysconf(_SC_PAGESIZE);
	const struct kspan_record_header *got;
	uint8_t rec[1024], *map, *at;
	unsigned int i, j, seq = 0;
	long len;

	map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + 2 * page, page));

	/* Records that start just before the first page ends: all mapped. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(back) / sizeof(back[0]); j++) {
			len = make_span(rec, sizeof(rec), ++seq, sizes[i]);
			ASSERT_EQ((long)sizes[i], len);
			at = map + page - back[j];
			memcpy(at, rec, len);
			ASSERT_EQ(0, submit(self->fd, at));
			got = kspan_consumer_next(&self->c, 0);
			ASSERT_NE(NULL, got);
			ASSERT_EQ(len, got->len);
			EXPECT_TRUE(same_but_identity(rec, got, len));
			ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
		}
	}

	/* Ends exactly where the unmapped page starts: nothing past it is read. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		len = make_span(rec, sizeof(rec), ++seq, sizes[i]);
		at = map + 2 * page - len;
		memcpy(at, rec, len);
		EXPECT_EQ(0, submit(self->fd, at));
		got = kspan_consumer_next(&self->c, 0);
		ASSERT_NE(NULL, got);
		EXPECT_TRUE(same_but_identity(rec, got, len));
		ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	}

	/* A header split by the unmapped page, then a record cut short by it. */
	len = make_span(rec, sizeof(rec), ++seq, 300);
	memcpy(map + 2 * page - 4, rec, 4);
	EXPECT_EQ(-EFAULT, submit(self->fd, map + 2 * page - 4));
	memcpy(map + 2 * page - 200, rec, 200);
	EXPECT_EQ(-EFAULT, submit(self->fd, map + 2 * page - 200));
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	munmap(map, 2 * page);
}

TEST_F(ring, batch_reports_how_many_it_took)
{
	static uint8_t buf[64 * 512];
	struct kspan_submit_batch batch;
	struct kspan_stats st = { 0 };
	size_t off = 0, at10 = 0;
	int i, n = 0;
	long len;

	for (i = 0; i < 64; i++) {
		if (i == 10)
			at10 = off;
		len = make_span(buf + off, sizeof(buf) - off, i, 100 + i);
		ASSERT_LT(0, len);
		off += kspan_record_total(len);
	}
	memset(&batch, 0, sizeof(batch));
	batch.records = (uintptr_t)buf;
	batch.len = off;
	batch.count = 64;
	EXPECT_EQ(64, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ(64u, batch.accepted);

	/* Record 10 broken: the first ten go in, the call says so. */
	((struct kspan_span *)(buf + at10 + 8))->kind = 99;
	batch.accepted = 0;
	EXPECT_EQ(10, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ(10u, batch.accepted);
	/* Retrying from the refused one reports its error. */
	batch.records = (uintptr_t)(buf + at10);
	batch.len = off - at10;
	batch.count = 54;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0u, batch.accepted);

	/*
	 * A count larger than the buffer holds stops at the buffer's end; the
	 * missing eleventh record is refused like any malformed one.
	 */
	batch.records = (uintptr_t)buf;
	batch.len = at10;
	batch.count = 64;
	EXPECT_EQ(10, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));

	while (kspan_consumer_next(&self->c, 0))
		n++;
	EXPECT_EQ(84, n);
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(84u, st.committed);
	EXPECT_EQ(3u, st.rejected);
}

/*
 * A batch of several times the module's copy chunk, of records from the
 * smallest to record_max, arrives whole and in order; one whose memory
 * ends at an unmapped page takes exactly the records before the fault.
 */
TEST_F(ring, large_batch_arrives_whole_up_to_a_fault)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = 8 * page, off = 0, at[40];
	struct kspan_submit_batch batch;
	const struct kspan_record_header *got;
	uint8_t *buf;
	int i, n = 0, before_hole = 0;
	long len;

	buf = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	for (i = 0; i < 40 && off < size; i++) {
		/* Sizes from the smallest to 4096, unaligned ones included. */
		len = make_span(buf + off, size - off, i, (i * 997) % 4096);
		if (len < 0)
			break;
		at[i] = off;
		off += kspan_record_total(len);
		n++;
	}
	ASSERT_LT(8, n);

	memset(&batch, 0, sizeof(batch));
	batch.records = (uintptr_t)buf;
	batch.len = off;
	batch.count = n;
	EXPECT_EQ(n, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	for (i = 0; i < n; i++) {
		got = kspan_consumer_next(&self->c, 0);
		ASSERT_NE(NULL, got) TH_LOG("record %d missing", i);
		len = ((const struct kspan_record_header *)(buf + at[i]))->len;
		ASSERT_EQ((uint32_t)len, got->len);
		EXPECT_TRUE(same_but_identity(buf + at[i], got, len))
			TH_LOG("record %d differs", i);
	}
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	kspan_consumer_release_all(&self->c);

	/* Unmap the page that holds the end of a record in the middle. */
	for (i = 0; i < n; i++)
		if (at[i] + ((const struct kspan_record_header *)(buf + at[i]))->len >
		    (size_t)4 * page)
			break;
	before_hole = i;
	ASSERT_EQ(0, munmap(buf + 4 * page, page));
	batch.accepted = 0;
	EXPECT_EQ(before_hole, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ((uint32_t)before_hole, batch.accepted);
	for (i = 0; i < before_hole; i++) {
		got = kspan_consumer_next(&self->c, 0);
		ASSERT_NE(NULL, got);
		EXPECT_EQ(i, span_seq(got));
	}
	EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
	kspan_consumer_release_all(&self->c);

	/* Retried from there, the record that faults is refused: EFAULT. */
	batch.records = (uintptr_t)(buf + at[before_hole]);
	batch.len = off - at[before_hole];
	batch.count = n - before_hole;
	EXPECT_EQ(-1, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch));
	EXPECT_EQ(EFAULT, errno);
	munmap(buf, size + page);
}

/*
 * A batch of more small records than the module reserves under one lock
 * acquisition, into a ring with room for all: every policy takes them all,
 * and nothing is counted as a full ring.
 */
TEST_F(ring, many_small_records_in_one_batch_are_not_a_full_ring)
{
	static const uint32_t policies[] = {
		KSPAN_FULL_BLOCK, KSPAN_FULL_EAGAIN, KSPAN_FULL_DROP,
	};
	static uint8_t buf[8192];
	struct kspan_submit_batch batch;
	struct kspan_stats st = { 0 };
	size_t off = 0;
	int i, p, n = 0;
	long len;

	/* Spans without attributes: more than 64 fit in 8 KiB. */
	for (;;) {
		struct kspan_builder b;
		struct kspan_span *s;

		if (kspan_build_begin(&b, buf + off, sizeof(buf) - off, "x", 1))
			break;
		s = kspan_build_span(&b);
		memcpy(s->trace_id, &n, sizeof(n));
		s->trace_id[15] = 1;
		s->span_id[0] = 1;
		len = kspan_build_end(&b);
		if (len < 0)
			break;
		off += kspan_record_total(len);
		n++;
	}
	ASSERT_LT(64, n);

	for (p = 0; p < 3; p++) {
		ASSERT_EQ(0, set_policy(self->fd, policies[p], 0));
		memset(&batch, 0, sizeof(batch));
		batch.records = (uintptr_t)buf;
		batch.len = off;
		batch.count = n;
		EXPECT_EQ(n, ioctl(self->fd, KSPAN_IOC_SUBMIT_BATCH, &batch))
			TH_LOG("policy %u", policies[p]);
		for (i = 0; i < n; i++) {
			const struct kspan_record_header *got =
				kspan_consumer_next(&self->c, 0);

			ASSERT_NE(NULL, got) TH_LOG("policy %u: record %d missing",
						     policies[p], i);
			EXPECT_EQ(0, memcmp(((const struct kspan_span *)(got + 1))->trace_id,
					    &i, sizeof(i)));
		}
		EXPECT_EQ(NULL, kspan_consumer_next(&self->c, 0));
		kspan_consumer_release_all(&self->c);
	}
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(0u, st.blocked);
	EXPECT_EQ(0u, st.full_eagain);
	EXPECT_EQ(0u, st.dropped_policy);
	EXPECT_EQ((uint64_t)3 * n, st.committed);
}

TEST_F(ring, counters_match_what_was_sent_and_consumed)
{
	uint8_t rec[512];
	struct kspan_stats st = { 0 }, st0 = { 0 };
	uint64_t bytes = 0;
	long len[300];
	int i;

	/* About 45 KiB: fits the 64 KiB ring without a consumer. */
	for (i = 0; i < 300; i++) {
		len[i] = make_span(rec, sizeof(rec), i, 80 + i % 150);
		ASSERT_EQ(0, submit(self->fd, rec));
		bytes += kspan_record_total(len[i]);
	}
	ASSERT_EQ(0, get_stats(self->fd, 0, &st0));
	EXPECT_EQ(300u, st0.committed);
	EXPECT_EQ(bytes, st0.bytes_committed);
	EXPECT_EQ(0u, st0.consumed);

	for (i = 0; i < 120; i++)
		ASSERT_NE(NULL, kspan_consumer_next(&self->c, 0));
	ASSERT_EQ(0, kspan_consumer_release_all(&self->c));
	ASSERT_EQ(0, get_stats(self->fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(300u, st.submitted);
	EXPECT_EQ(300u, st.committed);
	EXPECT_EQ(120u, st.consumed);
	EXPECT_EQ(0u, st.rejected);
	EXPECT_EQ(self->c.rings[0].read_pos, self->c.rings[0].prod->consumer_pos);
	/* The bytes of the first 120 records, as sent. */
	for (bytes = 0, i = 0; i < 120; i++)
		bytes += kspan_record_total(len[i]);
	EXPECT_EQ(bytes, st.bytes_consumed);
	EXPECT_EQ(-1, stats_invariant_broken(self->fd, self->c.info.nr_rings));
}

TEST_HARNESS_MAIN
