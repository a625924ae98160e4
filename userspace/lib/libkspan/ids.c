// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkspan: trace and span ids, and W3C traceparent headers.
 *
 * Ids come from xoshiro256** per thread, seeded from getrandom(): cheap
 * (a few ns, no lock, no system call) and, with a period of 2^256 - 1, no
 * id repeats within a thread's stream; seeds differ between threads and
 * processes (a fork child reseeds).
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak fallback seed over the whole state. */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void kspan_rng_seed(uint64_t rng[4])
{
	struct timespec ts;
	uint64_t x;
	int i;

	if (getrandom(rng, 4 * sizeof(rng[0]), GRND_NONBLOCK) == 4 * sizeof(rng[0]) &&
	    (rng[0] | rng[1] | rng[2] | rng[3]))
		return;
	/* Early boot without entropy: time, pid and address still differ. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
	    ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)rng;
	for (i = 0; i < 4; i++)
		rng[i] = splitmix(&x);
}

uint64_t kspan_rng_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* The calling thread's generator; a fallback if its state cannot exist. */
static uint64_t *thread_rng(void)
{
	static __thread uint64_t fallback[4];
	struct kspan_thread *t = kspan_thread_get();

	if (t)
		return t->rng;
	if (!(fallback[0] | fallback[1] | fallback[2] | fallback[3]))
		kspan_rng_seed(fallback);
	return fallback;
}

KSPAN_API void kspan_new_trace_id(uint8_t id[16])
{
	uint64_t *rng = thread_rng(), hi, lo;

	do {
		hi = kspan_rng_next(rng);
		lo = kspan_rng_next(rng);
	} while (!(hi | lo));
	memcpy(id, &hi, 8);
	memcpy(id + 8, &lo, 8);
}

KSPAN_API void kspan_new_span_id(uint8_t id[8])
{
	uint64_t *rng = thread_rng(), v;

	do
		v = kspan_rng_next(rng);
	while (!v);
	memcpy(id, &v, 8);
}

/* Lower-case hex only, as the W3C grammar (HEXDIGLC) says. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	uint8_t any = 0;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
		any |= out[i];
	}
	return any ? 0 : 1;	/* 1: all zero */
}

KSPAN_API int kspan_traceparent_parse(const char *h, size_t len,
				      struct kspan_context *ctx)
{
	struct kspan_context c;
	uint8_t version, flags;

	if (len < 55 || parse_hex(h, &version, 1) < 0 || version == 0xff)
		return -EINVAL;
	/* Version 00 is exactly this long; a later one may carry more. */
	if ((version == 0 && len != 55) || (len > 55 && h[55] != '-'))
		return -EINVAL;
	if (h[2] != '-' || h[35] != '-' || h[52] != '-')
		return -EINVAL;
	if (parse_hex(h + 3, c.trace_id, 16) || parse_hex(h + 36, c.span_id, 8))
		return -EINVAL;
	if (parse_hex(h + 53, &flags, 1) < 0)
		return -EINVAL;
	c.sampled = flags & 1;
	*ctx = c;
	return 0;
}

KSPAN_API void kspan_traceparent_format(const struct kspan_context *ctx,
					char buf[KSPAN_TRACEPARENT_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;
	int i;

	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	for (i = 0; i < 16; i++) {
		*p++ = hex[ctx->trace_id[i] >> 4];
		*p++ = hex[ctx->trace_id[i] & 15];
	}
	*p++ = '-';
	for (i = 0; i < 8; i++) {
		*p++ = hex[ctx->span_id[i] >> 4];
		*p++ = hex[ctx->span_id[i] & 15];
	}
	*p++ = '-';
	*p++ = '0';
	*p++ = ctx->sampled ? '1' : '0';
	*p = '\0';
}
