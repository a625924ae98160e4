/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config: spanagent's settings, from the standard OpenTelemetry variables
 * first and then from flags, which win. Every value is checked here, so
 * that a bad one stops the agent at start with a one-line error.
 */
#ifndef SPANAGENT_CONFIG_H
#define SPANAGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kspan.h>

#include "otlp.h"

enum exporter_kind { EXPORTER_OTLP, EXPORTER_FILE, EXPORTER_CONSOLE };
enum otlp_protocol { PROTOCOL_PROTOBUF, PROTOCOL_JSON };

/* Exit codes (documented in spanagent(8)). */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	/* a failure after start */
	EXIT_USAGE = 2,		/* bad flag, variable or value */
	EXIT_NO_DEVICE = 3,	/* /dev/kspan missing, or not ours to attach */
	EXIT_BUSY = 4,		/* another consumer is attached */
};

#define CONFIG_MAX_HEADERS 32
#define CONFIG_MAX_RESOURCE_ATTRS 32

struct config {
	enum exporter_kind exporter;
	enum otlp_protocol protocol;
	char endpoint[2048];		/* resolved traces URL */
	bool gzip;
	/* "Name: value" lines for libcurl, malloc'd. */
	char *headers[CONFIG_MAX_HEADERS];
	size_t nheaders;
	const char *ca_file;
	const char *client_cert;
	const char *client_key;
	const char *output;		/* file exporter: path; "-" stdout */
	const char *log_path;		/* NULL: stderr */
	const char *metrics_listen;	/* "ADDR:PORT" or NULL */

	/* Batching, as the batch span processor. */
	uint32_t max_batch;		/* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 */
	uint32_t schedule_delay_ms;	/* OTEL_BSP_SCHEDULE_DELAY, 5000 */
	uint32_t max_inflight;		/* 2 */
	uint32_t export_timeout_ms;	/* OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, 10000 */
	uint32_t shutdown_timeout_ms;	/* 10000 */

	/* Retries: exponential backoff with jitter. */
	uint32_t retry_initial_ms;	/* 1000 */
	uint32_t retry_max_interval_ms;	/* 30000 */
	uint32_t retry_max_elapsed_ms;	/* 0: retry until acknowledged */

	/* Resource: host.name, OTEL_RESOURCE_ATTRIBUTES; service default. */
	struct otlp_kv resource[CONFIG_MAX_RESOURCE_ATTRS];	/* malloc'd */
	size_t nresource;
	const char *service_name;	/* OTEL_SERVICE_NAME, or NULL */
	char host_name[256];
};

/*
 * Fills @c from the environment then @argv. Returns 0; 1 when --help or
 * --version was answered; or EXIT_USAGE after printing a one-line error
 * to stderr.
 */
int config_load(struct config *c, int argc, char **argv);
void config_free(struct config *c);

/*
 * The OTLP exporter's endpoint rules: @traces (the _TRACES_ variable, or
 * the flag) is used as is, with "/" as the path when it has none; else
 * @base gets "v1/traces" appended with exactly one '/' between; else
 * http://localhost:4318/v1/traces. Returns 0 or -EINVAL (not an http or
 * https URL with a host).
 */
int config_endpoint(char *out, size_t cap, const char *traces, const char *base);

/* Parses OTEL_EXPORTER_OTLP_HEADERS ("k=v,k2=v2", values percent-encoded). */
int config_headers(struct config *c, const char *list);
/* Parses OTEL_RESOURCE_ATTRIBUTES (same syntax). */
int config_resource(struct config *c, const char *list);

#endif /* SPANAGENT_CONFIG_H */
