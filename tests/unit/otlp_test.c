// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of spanagent's OTLP encoders. What they encode is decoded
 * by an independent decoder, the OpenTelemetry JavaScript packages'
 * generated schema (tests/node/otlp_decode.js), and compared with what the
 * spans say, written out here from the records themselves.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kselftest_harness.h"
#include "kspan_record.h"
#include "otlp.h"
#include "otlp_batch.h"
#include "utf8.h"

#define MAX_SPANS 64

struct sample {
	uint8_t rec[MAX_SPANS][512];
	struct kspan_span_view v[MAX_SPANS];
	int n;
};

static void ids(struct kspan_span *s, int i, int parent)
{
	int k;

	for (k = 0; k < 16; k++)
		s->trace_id[k] = (uint8_t)(0xa0 + k);
	for (k = 0; k < 8; k++)
		s->span_id[k] = (uint8_t)(i + 1 + k * 16);
	if (parent >= 0)
		for (k = 0; k < 8; k++)
			s->parent_span_id[k] = (uint8_t)(parent + 1 + k * 16);
}

/* A span of process @pid, with every attribute type. */
static void add_span(struct sample *sm, uint32_t pid, const char *name,
		     const char *service, int parent)
{
	static const uint8_t blob[] = { 0, 0xff, 0x10 };
	struct kspan_builder b;
	struct kspan_span *s;
	int i = sm->n++;
	long len;

	kspan_build_begin(&b, sm->rec[i], sizeof(sm->rec[i]), name, strlen(name));
	s = kspan_build_span(&b);
	ids(s, i, parent);
	s->start_time_ns = 1700000000000000000ull + (uint64_t)i * 1000;
	s->end_time_ns = s->start_time_ns + 12345;
	s->kind = (uint8_t)(i % 6);
	s->status = (uint8_t)(i % 3);
	s->flags = i % 2 ? KSPAN_SPAN_SAMPLED : 0;
	s->id.pid = pid;
	s->id.tid = pid ? pid + 1 : 0;
	s->id.uid = 1000;
	s->id.cpu = (uint32_t)(i % 2);
	s->id.cgroup_id = pid ? 4242 : 0;
	kspan_build_str(&b, "http.route", "/users/{id}");
	kspan_build_int(&b, "count", i % 2 ? -7 : 0);
	kspan_build_double(&b, "ratio", i % 2 ? -3.5 : 0.25);
	kspan_build_bool(&b, "cached", i % 2);
	kspan_build_bytes(&b, "blob", blob, sizeof(blob));
	if (service)
		kspan_build_str(&b, "service.name", service);
	len = kspan_build_end(&b);
	if (len > 0)
		kspan_span_parse(sm->rec[i], (size_t)len, &sm->v[i]);
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	if (!n || !memcmp(p, "\0\0\0\0\0\0\0\0", n < 8 ? n : 8))
		strcpy(out, "-");
}

/* The canonical line otlp_decode.js prints for span @v. */
static void expect_span(FILE *f, const struct kspan_span_view *v, int skip_service)
{
	const struct kspan_span *s = v->span;
	char t[33], sp[17], par[17];
	struct kspan_attr_view a;
	unsigned int i, k;
	const char *sep = "";

	hex(t, s->trace_id, 16);
	hex(sp, s->span_id, 8);
	hex(par, s->parent_span_id, 8);
	fprintf(f, "S scope=kspan/%s trace=%s span=%s parent=%s name=\"%.*s\" kind=%u start=%llu end=%llu status=%u flags=%u attrs=",
		SPANAGENT_VERSION, t, sp, par, (int)v->name_len, v->name, s->kind,
		(unsigned long long)s->start_time_ns, (unsigned long long)s->end_time_ns,
		s->status, s->flags & 1);
	for (i = 0; kspan_span_attr(v, i, &a) == 0; i++) {
		if (skip_service && a.key_len == 12 && !memcmp(a.key, "service.name", 12))
			continue;
		fprintf(f, "%s\"%.*s\"=", sep, (int)a.key_len, a.key);
		sep = ",";
		switch (a.type) {
		case KSPAN_ATTR_STRING:
			fprintf(f, "\"%.*s\"", (int)a.val_len, (const char *)a.val);
			break;
		case KSPAN_ATTR_INT64:
			fprintf(f, "i:%lld", (long long)kspan_attr_int(&a));
			break;
		case KSPAN_ATTR_DOUBLE:
			fprintf(f, "d:%g", kspan_attr_double(&a));
			break;
		case KSPAN_ATTR_BOOL:
			fprintf(f, "b:%s", a.val[0] ? "true" : "false");
			break;
		default:
			fprintf(f, "x:");
			for (k = 0; k < a.val_len; k++)
				fprintf(f, "%02x", a.val[k]);
		}
	}
	if (s->id.tid)
		fprintf(f, "%s\"thread.id\"=i:%u", sep, s->id.tid);
	if (s->id.pid)
		fprintf(f, ",\"process.real_user.id\"=i:%u", s->id.uid);
	fprintf(f, "%s\"cpu.logical_number\"=i:%u", s->id.tid ? "," : sep, s->id.cpu);
	if (s->id.cgroup_id)
		fprintf(f, ",\"kspan.cgroup.id\"=i:%llu", (unsigned long long)s->id.cgroup_id);
	fprintf(f, "\n");
}

static char *run_decoder(const char *fmt, const char *file)
{
	static char out[1 << 16];
	char cmd[512];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "node tests/node/otlp_decode.js %s %s 2>&1", fmt, file);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	if (pclose(p) != 0) {
		fprintf(stderr, "# decoder failed: %s", out);
		return NULL;
	}
	return out;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

FIXTURE(enc) {
	struct sample sm;
	struct otlp_batch_builder bb;
	struct sbuf out;
	char dir[64];
	char file[96];
	struct otlp_kv host_attrs[2];
	struct otlp_host host;
};

FIXTURE_SETUP(enc)
{
	char path[160];

	memset(&self->sm, 0, sizeof(self->sm));
	memset(&self->out, 0, sizeof(self->out));
	strcpy(self->dir, "/tmp/otlp_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->file, sizeof(self->file), "%s/req", self->dir);
	/* A fake /proc: process 100 is "shop-api" run from /usr/bin/shop. */
	snprintf(path, sizeof(path), "%s/100", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/100/comm", self->dir);
	write_file(path, "shop-api\n", 9);
	snprintf(path, sizeof(path), "%s/100/exe", self->dir);
	ASSERT_EQ(0, symlink("/usr/bin/shop", path));
	ASSERT_EQ(0, otlp_batch_init(&self->bb, MAX_SPANS));
	self->bb.procfs = self->dir;
	self->host_attrs[0] = (struct otlp_kv){ "host.name", "node-1" };
	self->host_attrs[1] = (struct otlp_kv){ "deployment.environment", "test" };
	self->host = (struct otlp_host){ self->host_attrs, 2 };
}

FIXTURE_TEARDOWN(enc)
{
	char cmd[128];

	otlp_batch_free(&self->bb);
	sbuf_free(&self->out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

/*
 * Three processes' spans, interleaved as they come out of the rings: 100
 * (named by its comm), 200 (gone: unknown_service, no executable name),
 * 100 again with its own service.name (a resource of its own), and the
 * kernel. The expected text lists resources in order of first appearance.
 */
static int mixed_batch(struct _test_data_enc *self, FILE *exp)
{
	struct sample *sm = &self->sm;
	const char *host = ",\"host.name\"=\"node-1\",\"deployment.environment\"=\"test\"";

	add_span(sm, 100, "GET /users", NULL, -1);		/* 0 */
	add_span(sm, 200, "gone", NULL, -1);			/* 1 */
	add_span(sm, 100, "db.query", NULL, 0);		/* 2 */
	add_span(sm, 100, "cart", "cart-svc", 0);		/* 3 */
	add_span(sm, 0, "irq", NULL, -1);			/* 4 */
	add_span(sm, 100, "cart.total", "cart-svc", 3);	/* 5 */
	for (int i = 0; i < sm->n; i++)
		if (otlp_batch_add(&self->bb, &sm->v[i]))
			return -1;

	fprintf(exp, "R \"service.name\"=\"shop-api\",\"process.pid\"=i:100,\"process.executable.name\"=\"shop\"%s\n", host);
	expect_span(exp, &sm->v[0], 0);
	expect_span(exp, &sm->v[2], 0);
	fprintf(exp, "R \"service.name\"=\"unknown_service\",\"process.pid\"=i:200%s\n", host);
	expect_span(exp, &sm->v[1], 0);
	fprintf(exp, "R \"service.name\"=\"cart-svc\",\"process.pid\"=i:100,\"process.executable.name\"=\"shop\"%s\n", host);
	expect_span(exp, &sm->v[3], 1);
	expect_span(exp, &sm->v[5], 1);
	fprintf(exp, "R \"service.name\"=\"kernel\"%s\n", host);
	expect_span(exp, &sm->v[4], 0);
	return (int)self->bb.batch.nres;
}

static void check_decoded(struct _test_data_enc *self, const char *fmt,
			  struct __test_metadata *_metadata)
{
	char *expect = NULL, *got;
	size_t elen = 0;
	FILE *exp = open_memstream(&expect, &elen);

	ASSERT_EQ(4, mixed_batch(self, exp));
	fclose(exp);
	got = run_decoder(fmt, self->file);
	ASSERT_NE(NULL, got);
	EXPECT_STREQ(expect, got);
	free(expect);
}

TEST_F(enc, protobuf_decodes_to_the_spans_grouped_by_process)
{
	struct otlp_stats st = { 0 };
	FILE *exp = fopen("/dev/null", "w");

	ASSERT_EQ(4, mixed_batch(self, exp));
	fclose(exp);
	ASSERT_EQ(0, otlp_encode_pb(&self->out, &self->host, &self->bb.batch, &st));
	EXPECT_EQ(0u, st.utf8_repairs);
	write_file(self->file, self->out.p, self->out.len);
	otlp_batch_clear(&self->bb);
	self->sm.n = 0;
	check_decoded(self, "pb", _metadata);
}

TEST_F(enc, json_decodes_to_the_same_spans)
{
	struct otlp_stats st = { 0 };
	FILE *exp = fopen("/dev/null", "w");

	ASSERT_EQ(4, mixed_batch(self, exp));
	fclose(exp);
	ASSERT_EQ(0, otlp_encode_json(&self->out, &self->host, &self->bb.batch, &st));
	write_file(self->file, self->out.p, self->out.len);
	otlp_batch_clear(&self->bb);
	self->sm.n = 0;
	check_decoded(self, "json", _metadata);
}

/* Records longer than 127 bytes, 16383 bytes: lengths of 2 and 3 bytes. */
TEST_F(enc, long_messages_get_multibyte_lengths)
{
	static char name[20000];
	struct otlp_stats st = { 0 };
	static uint8_t big[24576];
	struct kspan_builder b;
	struct kspan_span *s;
	char *got;
	long len;

	memset(name, 'n', sizeof(name) - 1);
	kspan_build_begin(&b, big, sizeof(big), name, 16500);
	s = kspan_build_span(&b);
	ids(s, 0, -1);
	s->start_time_ns = 1;
	s->end_time_ns = 2;
	len = kspan_build_end(&b);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, kspan_span_parse(big, (size_t)len, &self->sm.v[0]));
	ASSERT_EQ(0, otlp_batch_add(&self->bb, &self->sm.v[0]));
	ASSERT_EQ(0, otlp_encode_pb(&self->out, &self->host, &self->bb.batch, &st));
	write_file(self->file, self->out.p, self->out.len);
	got = run_decoder("pb", self->file);
	ASSERT_NE(NULL, got);
	EXPECT_NE(NULL, strstr(got, "name=\"nnnnnnnn"));
	EXPECT_EQ(16500u, strchr(strstr(got, "name=\"") + 6, '"') - (strstr(got, "name=\"") + 6));
}

/* Invalid UTF-8 anywhere is replaced, counted, and the request decodes. */
TEST_F(enc, invalid_utf8_is_repaired_and_counted)
{
	static const char bad_name[] = "caf\xc3 \xff\xfe ok";
	struct otlp_stats st = { 0 };
	struct kspan_builder b;
	struct kspan_span *s;
	char *got;
	long len;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		otlp_batch_clear(&self->bb);
		sbuf_reset(&self->out);
		st.utf8_repairs = 0;
		kspan_build_begin(&b, self->sm.rec[0], 512, bad_name, strlen(bad_name));
		s = kspan_build_span(&b);
		ids(s, 0, -1);
		s->start_time_ns = 1;
		s->end_time_ns = 2;
		kspan_build_str(&b, "k\xe2\x82", "v\xed\xa0\x80");	/* cut, surrogate */
		len = kspan_build_end(&b);
		ASSERT_LT(0, len);
		ASSERT_EQ(0, kspan_span_parse(self->sm.rec[0], (size_t)len, &self->sm.v[0]));
		ASSERT_EQ(0, otlp_batch_add(&self->bb, &self->sm.v[0]));
		if (pass == 0) {
			ASSERT_EQ(0, otlp_encode_pb(&self->out, &self->host, &self->bb.batch, &st));
		} else {
			ASSERT_EQ(0, otlp_encode_json(&self->out, &self->host, &self->bb.batch, &st));
		}
		/* \xc3 cut, \xff, \xfe; key: one cut sequence; value: 3 bytes. */
		EXPECT_EQ(7u, st.utf8_repairs);
		write_file(self->file, self->out.p, self->out.len);
		got = run_decoder(pass == 0 ? "pb" : "json", self->file);
		ASSERT_NE(NULL, got);
		EXPECT_NE(NULL, strstr(got, "name=\"caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok\""));
		EXPECT_NE(NULL, strstr(got, "\"k\xef\xbf\xbd\"=\"v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
	}
}

/* Control characters, quotes and backslashes are escaped; NaN spelled out. */
TEST_F(enc, json_escapes_strings_and_non_finite_doubles)
{
	struct otlp_stats st = { 0 };
	struct kspan_builder b;
	struct kspan_span *s;
	char *got;
	long len;

	kspan_build_begin(&b, self->sm.rec[0], 512, "a\"b\\c\n\x01", 7);
	s = kspan_build_span(&b);
	ids(s, 0, -1);
	s->start_time_ns = 1;
	s->end_time_ns = 2;
	kspan_build_double(&b, "nan", NAN);
	kspan_build_double(&b, "inf", -INFINITY);
	len = kspan_build_end(&b);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, kspan_span_parse(self->sm.rec[0], (size_t)len, &self->sm.v[0]));
	ASSERT_EQ(0, otlp_batch_add(&self->bb, &self->sm.v[0]));
	ASSERT_EQ(0, otlp_encode_json(&self->out, &self->host, &self->bb.batch, &st));
	write_file(self->file, self->out.p, self->out.len);
	got = run_decoder("json", self->file);
	ASSERT_NE(NULL, got);
	EXPECT_NE(NULL, strstr(got, "name=\"a\\\"b\\\\c\\n\\u0001\"")) {
		TH_LOG("decoded: %s", got);
	}
	EXPECT_NE(NULL, strstr(got, "\"nan\"=d:NaN,\"inf\"=d:-Infinity"));
}

/* A UTF-8 repair of every kind of bad sequence, byte for byte. */
TEST(utf8_repair_replaces_maximal_subparts)
{
	static const struct {
		const char *in, *out;
		unsigned int repairs;
	} cases[] = {
		{ "plain", "plain", 0 },
		{ "\xc3\xa9", "\xc3\xa9", 0 },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 2 },		/* overlong */
		{ "\xe0\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3 },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3 },	/* surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4 },
		{ "\xf0\x9f\x98", "\xef\xbf\xbd", 1 },			/* cut 4-byte */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 0 },
		{ "a\xe2\x82z", "a\xef\xbf\xbdz", 1 },
	};
	struct sbuf b = { 0 };
	unsigned int i, r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);

		sbuf_reset(&b);
		r = utf8_append_repaired(&b, (const uint8_t *)cases[i].in, n);
		EXPECT_EQ(cases[i].repairs, r);
		EXPECT_EQ(strlen(cases[i].out), b.len);
		EXPECT_EQ(0, memcmp(b.p, cases[i].out, b.len));
		EXPECT_EQ(strlen(cases[i].out), utf8_repaired_len((const uint8_t *)cases[i].in, n, &r));
	}
	sbuf_free(&b);
}

TEST_HARNESS_MAIN
