// SPDX-License-Identifier: GPL-2.0
/*
 * Encode throughput of spanagent's OTLP encoders on the host, one core:
 * the same 512 spans (tests/node/encode_bench.js builds the same ones for
 * the OpenTelemetry JavaScript exporter's serializer) encoded again and
 * again into a reused buffer, protobuf and JSON, with and without gzip.
 *
 *   encode_bench [SECONDS]      prints "format spans/s bytes/request"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "kspan_record.h"
#include "otlp.h"
#include "otlp_batch.h"

#define SPANS 512

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The spans of encode_bench.js: same names, ids, times and attributes. */
static long build(uint8_t *buf, size_t cap, uint32_t i)
{
	struct kspan_builder b;
	struct kspan_span *s;
	char name[32];
	int k;

	snprintf(name, sizeof(name), "GET /api/items/%u", i % 16);
	kspan_build_begin(&b, buf, cap, name, strlen(name));
	s = kspan_build_span(&b);
	for (k = 0; k < 16; k++)
		s->trace_id[k] = (uint8_t)(i / 8 + k + 1);
	for (k = 0; k < 8; k++)
		s->span_id[k] = (uint8_t)(i + k + 1);
	if (i % 8)
		for (k = 0; k < 8; k++)
			s->parent_span_id[k] = (uint8_t)(i - i % 8 + k + 1);
	s->start_time_ns = 1700000000000000000ull + (uint64_t)i * 1000;
	s->end_time_ns = s->start_time_ns + 250000;
	s->kind = KSPAN_KIND_SERVER;
	s->status = KSPAN_STATUS_OK;
	s->flags = KSPAN_SPAN_SAMPLED;
	s->id.pid = 1000 + i % 4;
	s->id.tid = 2000 + i % 4;
	s->id.uid = 1000;
	s->id.cpu = i % 2;
	kspan_build_str(&b, "http.request.method", "GET");
	kspan_build_str(&b, "http.route", "/api/items/{id}");
	kspan_build_int(&b, "http.response.status_code", 200);
	kspan_build_double(&b, "server.duration_ratio", 0.25);
	kspan_build_bool(&b, "cache.hit", i % 2);
	return kspan_build_end(&b);
}

static void run(const char *label, int json, int gz, struct otlp_batch_builder *bb,
		const struct otlp_host *host, double secs)
{
	struct sbuf out = { 0 }, zout = { 0 };
	struct otlp_stats st = { 0 };
	unsigned long reps = 0;
	double t0 = now_s(), t;
	size_t bytes = 0;

	do {
		for (int k = 0; k < 8; k++) {
			sbuf_reset(&out);
			if (json)
				otlp_encode_json(&out, host, &bb->batch, &st);
			else
				otlp_encode_pb(&out, host, &bb->batch, &st);
			bytes = out.len;
			if (gz) {
				uLongf zl = compressBound(out.len);

				sbuf_reset(&zout);
				sbuf_reserve(&zout, zl);
				compress2(zout.p, &zl, out.p, out.len, Z_DEFAULT_COMPRESSION);
				bytes = zl;
			}
			reps++;
		}
		t = now_s() - t0;
	} while (t < secs);
	printf("%-14s %12.0f spans/s %8zu bytes/request\n", label, reps * SPANS / t, bytes);
	sbuf_free(&out);
	sbuf_free(&zout);
}

int main(int argc, char **argv)
{
	static uint8_t recs[SPANS][512];
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	struct otlp_batch_builder bb;
	struct otlp_kv attrs[] = { { "host.name", "bench-host" } };
	struct otlp_host host = { attrs, 1 };
	struct kspan_span_view v;
	uint32_t i;

	if (otlp_batch_init(&bb, SPANS))
		return 1;
	/* No /proc lookups in the measured part: a fixed service name. */
	bb.service_default = "bench";
	bb.procfs = "/nonexistent";
	for (i = 0; i < SPANS; i++) {
		long len = build(recs[i], sizeof(recs[i]), i);

		if (len < 0 || kspan_span_parse(recs[i], (size_t)len, &v) ||
		    otlp_batch_add(&bb, &v))
			return 1;
	}
	run("protobuf", 0, 0, &bb, &host, secs);
	run("json", 1, 0, &bb, &host, secs);
	run("protobuf+gzip", 0, 1, &bb, &host, secs);
	otlp_batch_free(&bb);
	return 0;
}
