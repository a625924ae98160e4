/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest suites that move spans: deterministic records, the
 * module loaded with chosen parameters, pinning, and stats.
 */
#ifndef KSPAN_SPAN_UTIL_H
#define KSPAN_SPAN_UTIL_H

#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

#include "guest_util.h"
#include "kspan_client.h"
#include "kspan_consumer.h"
#include "kspan_record.h"

/* (Re)loads kspan.ko with @params; returns 0 or -errno. */
static inline int kspan_reload(const char *params)
{
	if (module_is_loaded("kspan")) {
		int ret = module_unload("kspan");

		if (ret)
			return ret;
	}
	return module_load(kspan_ko_path(), params);
}

static inline int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static inline int nr_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_CONF);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * A span whose ids derive from @seq and that carries seq as attribute
 * "seq", padded with a string attribute to @len bytes (0: as small as it
 * comes). Returns the record length or -errno.
 */
static inline long make_span(void *buf, size_t cap, uint64_t seq, size_t len)
{
	struct kspan_builder b;
	struct kspan_span *s;
	long cur;
	char pad[4096];

	if (kspan_build_begin(&b, buf, cap, "op", 2))
		return b.error;
	s = kspan_build_span(&b);
	memcpy(s->trace_id, &seq, sizeof(seq));
	s->trace_id[15] = 0x7e;
	memcpy(s->span_id, &seq, sizeof(seq));
	s->span_id[7] |= 0x80;
	s->start_time_ns = 1000 + seq;
	s->end_time_ns = 2000 + seq;
	s->kind = KSPAN_KIND_INTERNAL;
	kspan_build_int(&b, "seq", (int64_t)seq);
	/* Header + key "pad" of the string attribute: 4 + 3 bytes. */
	cur = (long)b.len + 7;
	if (len > (size_t)cur && len - cur <= sizeof(pad) - 1) {
		memset(pad, 'a' + seq % 26, len - cur);
		pad[len - cur] = '\0';
		kspan_build_str(&b, "pad", pad);
	}
	return kspan_build_end(&b);
}

/* The "seq" attribute of a span record, or -1. */
static inline int64_t span_seq(const struct kspan_record_header *hdr)
{
	struct kspan_span_view v;
	struct kspan_attr_view a;

	if (kspan_span_parse(hdr, hdr->len, &v) || kspan_span_attr(&v, 0, &a) ||
	    a.type != KSPAN_ATTR_INT64)
		return -1;
	return kspan_attr_int(&a);
}

static inline int submit(int fd, const void *rec)
{
	return ioctl(fd, KSPAN_IOC_SUBMIT, rec) ? -errno : 0;
}

static inline int get_stats(int fd, uint32_t ring, struct kspan_stats *st)
{
	struct kspan_stats_query q;

	memset(st, 0, sizeof(*st));
	memset(&q, 0, sizeof(q));
	q.ring = ring;
	if (ioctl(fd, KSPAN_IOC_STATS, &q))
		return -errno;
	*st = q.stats;
	return 0;
}

static inline int set_policy(int fd, uint32_t policy, uint64_t timeout_ns)
{
	struct kspan_producer_opts o;

	memset(&o, 0, sizeof(o));
	o.policy = policy;
	o.timeout_ns = timeout_ns;
	return ioctl(fd, KSPAN_IOC_SET_PRODUCER_OPTS, &o) ? -errno : 0;
}

/* CPU time the calling thread has used, in ns. */
static inline uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Writes @val to a file (sysfs, debugfs); returns 0 or -errno. */
static inline int write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fputs(val, f) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

#define KSPAN_TEST_DIR "/sys/kernel/debug/kspan/test/"

/*
 * Arms the module's test hook (kmod/testhooks.c): the next @count writers
 * of ring @ring are held @us microseconds at @point (0: ring lock held,
 * 1: records reserved, not committed). @us = 0 disarms it.
 */
static inline int test_hold(int point, int ring, unsigned int us, unsigned int count)
{
	char v[32];
	int ret;

	snprintf(v, sizeof(v), "%d", point);
	ret = write_file(KSPAN_TEST_DIR "hold_point", v);
	snprintf(v, sizeof(v), "%d", ring);
	ret = ret ? ret : write_file(KSPAN_TEST_DIR "hold_ring", v);
	snprintf(v, sizeof(v), "%u", count);
	ret = ret ? ret : write_file(KSPAN_TEST_DIR "hold_count", v);
	snprintf(v, sizeof(v), "%u", us);
	return ret ? ret : write_file(KSPAN_TEST_DIR "hold_us", v);
}

/* Whether a writer is being held by the test hook right now. */
static inline int test_holding(void)
{
	char buf[16];

	read_line(KSPAN_TEST_DIR "holding", buf, sizeof(buf));
	return buf[0] == '1';
}

/* Whether the armed hook still waits for a writer to hold. */
static inline int test_hold_pending(void)
{
	char buf[32];

	read_line(KSPAN_TEST_DIR "hold_count", buf, sizeof(buf));
	return strtoul(buf, NULL, 10) > 0;
}

/* Every offer has one outcome (struct kspan_stats); 0 when that adds up. */
static inline int64_t stats_unaccounted(const struct kspan_stats *st)
{
	return (int64_t)(st->submitted - kspan_stats_outcomes(st));
}

/*
 * Checks the outcome invariant on every ring and in total; returns the
 * first ring (or KSPAN_STATS_ALL) where it fails, or -1 when it holds.
 */
static inline long stats_invariant_broken(int fd, unsigned int nr_rings)
{
	struct kspan_stats st;
	unsigned int i;

	for (i = 0; i < nr_rings; i++)
		if (get_stats(fd, i, &st) == 0 && stats_unaccounted(&st))
			return i;
	if (get_stats(fd, KSPAN_STATS_ALL, &st) || stats_unaccounted(&st))
		return KSPAN_STATS_ALL;
	return -1;
}

/* The spans fill_rings() writes have seq FILL_SEQ. */
#define FILL_SEQ 1000000

/*
 * Fills every CPU's ring with ioctl spans (the worker may run on any CPU)
 * and returns to CPU 0; returns how many went in. 200-byte spans first,
 * then the smallest make_span() writes, so that what is left of a ring is
 * less than the smallest span the suites submit otherwise (at least 128
 * bytes): nothing but filler lies in a filled ring.
 */
static inline int fill_rings(int fd)
{
	uint8_t big[200], small[200];
	int n = 0, cpu;

	if (set_policy(fd, KSPAN_FULL_EAGAIN, 0))
		return -1;
	make_span(big, sizeof(big), FILL_SEQ, sizeof(big));
	make_span(small, sizeof(small), FILL_SEQ, 0);
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		if (pin_to_cpu(cpu))
			continue;
		while (submit(fd, big) == 0)
			n++;
		while (submit(fd, small) == 0)
			n++;
	}
	pin_to_cpu(0);
	set_policy(fd, KSPAN_FULL_BLOCK, 0);
	return n;
}

/*
 * Reads the @n spans fill_rings() wrote, and releases them; returns how
 * many of them it found. Nothing else can be there: the rings were full.
 */
static inline int drain_fill(struct kspan_consumer *c, int n)
{
	const struct kspan_record_header *h;
	unsigned int i;
	int got = 0;

	for (i = 0; i < c->info.nr_rings && got < n; i++)
		while (c->rings[i].cons && got < n && (h = kspan_consumer_next(c, i)))
			got += span_seq(h) == FILL_SEQ;
	kspan_consumer_release_all(c);
	return got;
}

#endif /* KSPAN_SPAN_UTIL_H */
