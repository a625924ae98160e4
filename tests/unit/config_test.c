// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of spanagent's configuration (the OTLP exporter's
 * endpoint and variable rules) and of its retry policy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "config.h"
#include "retry.h"

static void clear_env(void)
{
	static const char *const vars[] = {
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_COMPRESSION",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
		"OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME",
		"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int load(struct config *c, const char *a1, const char *a2)
{
	char *argv[4] = { "spanagent", (char *)a1, (char *)a2, NULL };
	int argc = 1 + !!a1 + !!a2;
	int ret;

	/* Errors go to stderr, which the TAP output keeps as comments. */
	ret = config_load(c, argc, argv);
	return ret;
}

TEST(endpoint_rules_follow_the_otlp_exporter_spec)
{
	static const struct {
		const char *traces, *base, *want;
	} cases[] = {
		{ NULL, NULL, "http://localhost:4318/v1/traces" },
		{ NULL, "http://collector:4318", "http://collector:4318/v1/traces" },
		{ NULL, "http://collector:4318/", "http://collector:4318/v1/traces" },
		{ NULL, "https://gw.example/otlp", "https://gw.example/otlp/v1/traces" },
		{ NULL, "https://gw.example/otlp/", "https://gw.example/otlp/v1/traces" },
		{ "http://tempo:4318", "http://ignored:1", "http://tempo:4318/" },
		{ "http://tempo:4318/custom/path", NULL, "http://tempo:4318/custom/path" },
		{ "https://h/v1/traces", NULL, "https://h/v1/traces" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, config_endpoint(out, sizeof(out), cases[i].traces, cases[i].base));
		EXPECT_STREQ(cases[i].want, out);
	}
	EXPECT_EQ(-EINVAL, config_endpoint(out, sizeof(out), "localhost:4318", NULL));
	EXPECT_EQ(-EINVAL, config_endpoint(out, sizeof(out), "ftp://x/", NULL));
	EXPECT_EQ(-EINVAL, config_endpoint(out, sizeof(out), "http://", NULL));
	EXPECT_EQ(-EINVAL, config_endpoint(out, sizeof(out), NULL, "http:///v1"));
	EXPECT_EQ(-EINVAL, config_endpoint(out, sizeof(out), "http://a b/", NULL));
}

TEST(variables_then_flags)
{
	struct config c;

	clear_env();
	ASSERT_EQ(0, load(&c, NULL, NULL));
	EXPECT_EQ(512u, c.max_batch);
	EXPECT_EQ(5000u, c.schedule_delay_ms);
	EXPECT_EQ(2u, c.max_inflight);
	EXPECT_EQ(10000u, c.export_timeout_ms);
	EXPECT_TRUE(c.gzip);
	EXPECT_EQ(PROTOCOL_PROTOBUF, c.protocol);
	EXPECT_STREQ("http://localhost:4318/v1/traces", c.endpoint);
	config_free(&c);

	setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64", 1);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "3000", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7000", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcr%2Cet, x-tenant = t1", 1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%20b", 1);
	setenv("OTEL_SERVICE_NAME", "checkout", 1);
	ASSERT_EQ(0, load(&c, "--max-export-batch-size=32", NULL));
	EXPECT_EQ(250u, c.schedule_delay_ms);
	EXPECT_EQ(32u, c.max_batch);		/* the flag wins */
	EXPECT_EQ(7000u, c.export_timeout_ms);	/* OTLP's timeout over the BSP's */
	EXPECT_FALSE(c.gzip);
	EXPECT_EQ(PROTOCOL_JSON, c.protocol);
	EXPECT_STREQ("http://base:4318/v1/traces", c.endpoint);
	ASSERT_EQ(2u, c.nheaders);
	EXPECT_STREQ("api-key: s=cr,et", c.headers[0]);
	EXPECT_STREQ("x-tenant: t1", c.headers[1]);
	ASSERT_EQ(2u, c.nresource);
	EXPECT_STREQ("team", c.resource[1].key);
	EXPECT_STREQ("a b", c.resource[1].val);
	EXPECT_STREQ("checkout", c.service_name);
	config_free(&c);

	/* The _TRACES_ variables win over the general ones. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9/x", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1234", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", 1);
	ASSERT_EQ(0, load(&c, NULL, NULL));
	EXPECT_STREQ("http://traces:9/x", c.endpoint);
	EXPECT_EQ(1234u, c.export_timeout_ms);
	EXPECT_EQ(PROTOCOL_PROTOBUF, c.protocol);
	config_free(&c);
	/* And the flag over both. */
	ASSERT_EQ(0, load(&c, "--endpoint", "https://flag:4318"));
	EXPECT_STREQ("https://flag:4318/", c.endpoint);
	config_free(&c);
	clear_env();
}

TEST(bad_values_are_usage_errors)
{
	static const char *const bad[][2] = {
		{ "--max-export-batch-size=0", NULL },
		{ "--schedule-delay=soon", NULL },
		{ "--export-timeout=-1", NULL },
		{ "--exporter=zipkin", NULL },
		{ "--protocol=grpc", NULL },
		{ "--compression=zstd", NULL },
		{ "--header=novalue", NULL },
		{ "--endpoint=collector:4318", NULL },
		{ "--certificate=/nonexistent/ca.pem", NULL },
		{ "--client-key=/nonexistent/key.pem", NULL },
		{ "--max-inflight=100", NULL },
		{ "stray", NULL },
	};
	struct config c;
	size_t i;

	clear_env();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EXIT_USAGE, load(&c, bad[i][0], bad[i][1])) {
			TH_LOG("%s accepted", bad[i][0]);
		}
		config_free(&c);
	}
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,=2", 1);
	EXPECT_EQ(EXIT_USAGE, load(&c, NULL, NULL));
	config_free(&c);
	clear_env();
	setenv("OTEL_BSP_SCHEDULE_DELAY", "5s", 1);
	EXPECT_EQ(EXIT_USAGE, load(&c, NULL, NULL));
	config_free(&c);
	clear_env();
}

TEST(statuses_are_classified_per_the_otlp_spec)
{
	static const long retry[] = { 0, 429, 502, 503, 504 };
	static const long refused[] = { 400, 401, 403, 404, 405, 413, 415, 500, 501, 505 };
	size_t i;

	EXPECT_EQ(OUTCOME_ACKED, retry_classify(200));
	EXPECT_EQ(OUTCOME_ACKED, retry_classify(204));
	for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		EXPECT_EQ(OUTCOME_RETRY, retry_classify(retry[i]));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		EXPECT_EQ(OUTCOME_REFUSED, retry_classify(refused[i]));
}

TEST(retry_after_in_both_forms)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example. */
	const time_t now = 784111777;
	uint32_t ms;

	ASSERT_EQ(0, retry_after_parse("120", now, &ms));
	EXPECT_EQ(120000u, ms);
	ASSERT_EQ(0, retry_after_parse(" 0 ", now, &ms));
	EXPECT_EQ(0u, ms);
	ASSERT_EQ(0, retry_after_parse("Sun, 06 Nov 1994 08:50:07 GMT", now, &ms));
	EXPECT_EQ(30000u, ms);
	ASSERT_EQ(0, retry_after_parse("Sun, 06 Nov 1994 08:49:00 GMT", now, &ms));
	EXPECT_EQ(0u, ms);		/* in the past: at once */
	ASSERT_EQ(0, retry_after_parse("999999999", now, &ms));
	EXPECT_EQ(RETRY_AFTER_MAX_S * 1000u, ms);
	EXPECT_EQ(-EINVAL, retry_after_parse("soon", now, &ms));
	EXPECT_EQ(-EINVAL, retry_after_parse("12abc", now, &ms));
	EXPECT_EQ(-EINVAL, retry_after_parse("-5", now, &ms));
}

TEST(backoff_doubles_with_jitter_up_to_the_cap)
{
	unsigned int a;
	uint32_t lo, hi;

	for (a = 0; a < 12; a++) {
		uint64_t base = 1000ull << a;

		if (base > 30000)
			base = 30000;
		lo = retry_backoff_ms(1000, 30000, a, 0);
		hi = retry_backoff_ms(1000, 30000, a, UINT32_MAX - (UINT32_MAX % (uint32_t)(base / 2 + 1)) - 1);
		EXPECT_EQ(base - base / 2, lo);
		EXPECT_GE(base, hi);
		EXPECT_LE(lo, hi);
		/* Every value drawn stays inside [base/2, base]. */
		for (uint32_t r = 0; r < 5000; r += 7) {
			uint32_t d = retry_backoff_ms(1000, 30000, a, r * 2654435761u);

			ASSERT_LE(base - base / 2, d);
			ASSERT_GE(base, d);
		}
	}
	EXPECT_EQ(30000u, retry_backoff_ms(1000, 30000, 400, 15000));
}

TEST_HARNESS_MAIN
