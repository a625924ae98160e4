// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"

static int usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "spanagent: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, " (see spanagent --help)\n");
	return EXIT_USAGE;
}

/* The first of the variables that is set and not empty. */
static const char *env2(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v && *v)
		return v;
	v = b ? getenv(b) : NULL;
	return v && *v ? v : NULL;
}

static int parse_ms(const char *s, uint32_t *out, uint32_t min)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX || v < min)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int config_endpoint(char *out, size_t cap, const char *traces, const char *base)
{
	const char *url = traces ? traces : base ? base : "http://localhost:4318";
	const char *host, *path;
	int n;

	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else
		return -EINVAL;
	if (!*host || *host == '/' || *host == ':' || strpbrk(url, " \t\r\n"))
		return -EINVAL;
	path = strchr(host, '/');
	if (traces)
		n = snprintf(out, cap, "%s%s", url, path ? "" : "/");
	else
		n = snprintf(out, cap, "%s%sv1/traces", url,
			     url[strlen(url) - 1] == '/' ? "" : "/");
	return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

/* Percent-decodes [s, s+n) into a new string, trimmed of blanks. */
static char *decode_value(const char *s, size_t n)
{
	char *out, *d;
	size_t i;

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0, d = out; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			*d++ = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			*d++ = s[i];
		}
	}
	*d = 0;
	return out;
}

/*
 * Walks a "k=v,k2=v2" list (the W3C baggage syntax the OTLP variables
 * use), calling @fn for each pair. An entry without '=' or with an empty
 * key is an error: a silently ignored header would be worse.
 */
static int each_pair(const char *list, int (*fn)(void *, char *, char *), void *arg)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		size_t len;
		char *k, *v;
		int ret;

		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		eq = memchr(p, '=', len);
		if (!eq)
			return -EINVAL;
		k = decode_value(p, (size_t)(eq - p));
		v = decode_value(eq + 1, (size_t)(end - eq - 1));
		if (!k || !v || !*k) {
			free(k);
			free(v);
			return -EINVAL;
		}
		ret = fn(arg, k, v);
		if (ret)
			return ret;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int add_header(void *arg, char *k, char *v)
{
	struct config *c = arg;
	size_t i, n;
	char *line;

	for (i = 0; k[i]; i++)
		if (!isgraph((unsigned char)k[i]) || k[i] == ':')
			goto bad;
	for (i = 0; v[i]; i++)
		if (v[i] == '\r' || v[i] == '\n')
			goto bad;
	if (c->nheaders == CONFIG_MAX_HEADERS)
		goto bad;
	n = strlen(k) + strlen(v) + 3;
	line = malloc(n);
	if (!line)
		goto bad;
	snprintf(line, n, "%s: %s", k, v);
	c->headers[c->nheaders++] = line;
	free(k);
	free(v);
	return 0;
bad:
	free(k);
	free(v);
	return -EINVAL;
}

int config_headers(struct config *c, const char *list)
{
	return each_pair(list, add_header, c);
}

static int add_resource(void *arg, char *k, char *v)
{
	struct config *c = arg;
	size_t i;

	/* A later value of a key replaces the earlier one. */
	for (i = 0; i < c->nresource; i++) {
		if (!strcmp(c->resource[i].key, k)) {
			free((char *)c->resource[i].val);
			c->resource[i].val = v;
			free(k);
			return 0;
		}
	}
	if (c->nresource == CONFIG_MAX_RESOURCE_ATTRS) {
		free(k);
		free(v);
		return -E2BIG;
	}
	c->resource[c->nresource].key = k;
	c->resource[c->nresource].val = v;
	c->nresource++;
	return 0;
}

int config_resource(struct config *c, const char *list)
{
	return each_pair(list, add_resource, c);
}

static void defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->exporter = EXPORTER_OTLP;
	c->protocol = PROTOCOL_PROTOBUF;
	c->gzip = true;
	c->output = "-";
	c->max_batch = 512;
	c->schedule_delay_ms = 5000;
	c->max_inflight = 2;
	c->export_timeout_ms = 10000;
	c->shutdown_timeout_ms = 10000;
	c->retry_initial_ms = 1000;
	c->retry_max_interval_ms = 30000;
	c->retry_max_elapsed_ms = 0;
}

enum {
	OPT_PROTOCOL = 256, OPT_COMPRESSION, OPT_HEADER, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_BATCH, OPT_DELAY, OPT_INFLIGHT, OPT_TIMEOUT, OPT_SHUTDOWN,
	OPT_RETRY_INITIAL, OPT_RETRY_MAX, OPT_RETRY_ELAPSED, OPT_METRICS,
	OPT_SERVICE, OPT_RESOURCE, OPT_LOG, OPT_VERSION,
};

static const struct option options[] = {
	{ "exporter", required_argument, NULL, 'e' },
	{ "endpoint", required_argument, NULL, 'E' },
	{ "output", required_argument, NULL, 'o' },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "compression", required_argument, NULL, OPT_COMPRESSION },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "certificate", required_argument, NULL, OPT_CA },
	{ "client-certificate", required_argument, NULL, OPT_CERT },
	{ "client-key", required_argument, NULL, OPT_KEY },
	{ "max-export-batch-size", required_argument, NULL, OPT_BATCH },
	{ "schedule-delay", required_argument, NULL, OPT_DELAY },
	{ "max-inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "export-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN },
	{ "retry-initial", required_argument, NULL, OPT_RETRY_INITIAL },
	{ "retry-max-interval", required_argument, NULL, OPT_RETRY_MAX },
	{ "retry-max-elapsed", required_argument, NULL, OPT_RETRY_ELAPSED },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS },
	{ "service-name", required_argument, NULL, OPT_SERVICE },
	{ "resource", required_argument, NULL, OPT_RESOURCE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void help(void)
{
	printf("Usage: spanagent [OPTION]...\n"
	       "Drain the kspan rings and export the spans (OTLP/HTTP, file or console).\n"
	       "Flags override the OpenTelemetry variables named in brackets.\n\n"
	       "  -e, --exporter=otlp|file|console   where spans go [OTEL_TRACES_EXPORTER]\n"
	       "  -E, --endpoint=URL                 OTLP traces URL, used as is\n"
	       "                                     [OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or\n"
	       "                                     OTEL_EXPORTER_OTLP_ENDPOINT + v1/traces]\n"
	       "      --protocol=http/protobuf|http/json  [OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL]\n"
	       "      --compression=gzip|none        [OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION]\n"
	       "      --header=NAME=VALUE            extra HTTP header, repeatable\n"
	       "                                     [OTEL_EXPORTER_OTLP_[TRACES_]HEADERS]\n"
	       "      --certificate=FILE             CA bundle [OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE]\n"
	       "      --client-certificate=FILE      [OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE]\n"
	       "      --client-key=FILE              [OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY]\n"
	       "  -o, --output=FILE                  file exporter's file ('-': stdout)\n"
	       "      --max-export-batch-size=N      spans per export (512) [OTEL_BSP_MAX_EXPORT_BATCH_SIZE]\n"
	       "      --schedule-delay=MS            longest wait to fill a batch (5000)\n"
	       "                                     [OTEL_BSP_SCHEDULE_DELAY]\n"
	       "      --max-inflight=N               exports awaiting an answer (2)\n"
	       "      --export-timeout=MS            one export attempt (10000)\n"
	       "                                     [OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, OTEL_BSP_EXPORT_TIMEOUT]\n"
	       "      --shutdown-timeout=MS          wait for acks on SIGTERM (10000)\n"
	       "      --retry-initial=MS             first retry backoff (1000)\n"
	       "      --retry-max-interval=MS        longest backoff (30000)\n"
	       "      --retry-max-elapsed=MS         give a batch up after this long (0: never;\n"
	       "                                     the rings then fill and producers wait)\n"
	       "      --metrics-listen=ADDR:PORT     Prometheus metrics over HTTP\n"
	       "      --service-name=NAME            service.name for producers that set none\n"
	       "                                     [OTEL_SERVICE_NAME]\n"
	       "      --resource=K=V,...             resource attributes [OTEL_RESOURCE_ATTRIBUTES]\n"
	       "      --log=FILE                     log here instead of stderr (reopened on SIGHUP)\n"
	       "  -h, --help                         this help\n"
	       "      --version                      version\n\n"
	       "Signals: TERM/INT flush and exit (twice: exit at once), HUP reopen the log\n"
	       "and output, USR1 log the agent's counters. Exit codes: 0 ok, 1 runtime\n"
	       "failure, 2 usage, 3 no kspan device or no permission, 4 consumer busy.\n");
}

static int set_protocol(struct config *c, const char *v)
{
	if (!strcmp(v, "http/protobuf"))
		c->protocol = PROTOCOL_PROTOBUF;
	else if (!strcmp(v, "http/json"))
		c->protocol = PROTOCOL_JSON;
	else
		return usage_error("unsupported OTLP protocol '%s' (http/protobuf, http/json)", v);
	return 0;
}

static int set_compression(struct config *c, const char *v)
{
	if (!strcmp(v, "gzip"))
		c->gzip = true;
	else if (!strcmp(v, "none"))
		c->gzip = false;
	else
		return usage_error("unsupported compression '%s' (gzip, none)", v);
	return 0;
}

static int set_exporter(struct config *c, const char *v)
{
	if (!strcmp(v, "otlp"))
		c->exporter = EXPORTER_OTLP;
	else if (!strcmp(v, "file"))
		c->exporter = EXPORTER_FILE;
	else if (!strcmp(v, "console"))
		c->exporter = EXPORTER_CONSOLE;
	else
		return usage_error("unknown exporter '%s' (otlp, file, console)", v);
	return 0;
}

static int set_ms(uint32_t *dst, const char *v, uint32_t min, const char *what)
{
	char msg[160];

	if (parse_ms(v, dst, min) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s: '%%s' is not a number%s", what,
		 min ? " of at least 1" : "");
	return usage_error(msg, v);
}

static int from_env(struct config *c)
{
	const char *v;
	int ret = 0;

	v = env2("OTEL_TRACES_EXPORTER", NULL);
	if (v && !ret)
		ret = set_exporter(c, v);
	v = env2("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
	if (v && !ret)
		ret = set_protocol(c, v);
	v = env2("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION");
	if (v && !ret)
		ret = set_compression(c, v);
	v = env2("OTEL_EXPORTER_OTLP_HEADERS", NULL);
	if (v && !ret && config_headers(c, v))
		ret = usage_error("malformed OTEL_EXPORTER_OTLP_HEADERS '%s'", v);
	v = env2("OTEL_EXPORTER_OTLP_TRACES_HEADERS", NULL);
	if (v && !ret && config_headers(c, v))
		ret = usage_error("malformed OTEL_EXPORTER_OTLP_TRACES_HEADERS '%s'", v);
	c->ca_file = env2("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE");
	c->client_cert = env2("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
			      "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
	c->client_key = env2("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY");
	v = env2("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", NULL);
	if (v && !ret)
		ret = set_ms(&c->max_batch, v, 1, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
	v = env2("OTEL_BSP_SCHEDULE_DELAY", NULL);
	if (v && !ret)
		ret = set_ms(&c->schedule_delay_ms, v, 0, "OTEL_BSP_SCHEDULE_DELAY");
	v = env2("OTEL_BSP_EXPORT_TIMEOUT", NULL);
	if (v && !ret)
		ret = set_ms(&c->export_timeout_ms, v, 1, "OTEL_BSP_EXPORT_TIMEOUT");
	v = env2("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
	if (v && !ret)
		ret = set_ms(&c->export_timeout_ms, v, 1, "OTEL_EXPORTER_OTLP_TIMEOUT");
	v = env2("OTEL_RESOURCE_ATTRIBUTES", NULL);
	if (v && !ret && config_resource(c, v))
		ret = usage_error("malformed OTEL_RESOURCE_ATTRIBUTES '%s'", v);
	c->service_name = env2("OTEL_SERVICE_NAME", NULL);
	return ret;
}

int config_load(struct config *c, int argc, char **argv)
{
	const char *traces = env2("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", NULL);
	const char *base = env2("OTEL_EXPORTER_OTLP_ENDPOINT", NULL);
	size_t i;
	int opt, ret;

	defaults(c);
	ret = from_env(c);
	optind = 1;
	while (!ret && (opt = getopt_long(argc, argv, "e:E:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'e':
			ret = set_exporter(c, optarg);
			break;
		case 'E':
			traces = optarg;
			break;
		case 'o':
			c->output = optarg;
			break;
		case OPT_PROTOCOL:
			ret = set_protocol(c, optarg);
			break;
		case OPT_COMPRESSION:
			ret = set_compression(c, optarg);
			break;
		case OPT_HEADER:
			if (config_headers(c, optarg))
				ret = usage_error("malformed header '%s' (NAME=VALUE)", optarg);
			break;
		case OPT_CA:
			c->ca_file = optarg;
			break;
		case OPT_CERT:
			c->client_cert = optarg;
			break;
		case OPT_KEY:
			c->client_key = optarg;
			break;
		case OPT_BATCH:
			ret = set_ms(&c->max_batch, optarg, 1, "--max-export-batch-size");
			break;
		case OPT_DELAY:
			ret = set_ms(&c->schedule_delay_ms, optarg, 0, "--schedule-delay");
			break;
		case OPT_INFLIGHT:
			ret = set_ms(&c->max_inflight, optarg, 1, "--max-inflight");
			break;
		case OPT_TIMEOUT:
			ret = set_ms(&c->export_timeout_ms, optarg, 1, "--export-timeout");
			break;
		case OPT_SHUTDOWN:
			ret = set_ms(&c->shutdown_timeout_ms, optarg, 0, "--shutdown-timeout");
			break;
		case OPT_RETRY_INITIAL:
			ret = set_ms(&c->retry_initial_ms, optarg, 1, "--retry-initial");
			break;
		case OPT_RETRY_MAX:
			ret = set_ms(&c->retry_max_interval_ms, optarg, 1, "--retry-max-interval");
			break;
		case OPT_RETRY_ELAPSED:
			ret = set_ms(&c->retry_max_elapsed_ms, optarg, 0, "--retry-max-elapsed");
			break;
		case OPT_METRICS:
			c->metrics_listen = optarg;
			break;
		case OPT_SERVICE:
			c->service_name = optarg;
			break;
		case OPT_RESOURCE:
			if (config_resource(c, optarg))
				ret = usage_error("malformed --resource '%s' (K=V,...)", optarg);
			break;
		case OPT_LOG:
			c->log_path = optarg;
			break;
		case 'h':
			help();
			return 1;
		case OPT_VERSION:
			printf("spanagent %s (kspan ABI %d.%d)\n", SPANAGENT_VERSION,
			       KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR);
			return 1;
		default:
			return EXIT_USAGE;
		}
	}
	if (ret)
		return ret;
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (config_endpoint(c->endpoint, sizeof(c->endpoint), traces, base))
		return usage_error("malformed endpoint URL '%s' (http:// or https:// and a host)",
				   traces ? traces : base);
	if (c->metrics_listen && metrics_check_listen(c->metrics_listen))
		return usage_error("malformed --metrics-listen '%s' (ADDR:PORT, [ADDR]:PORT)",
				   c->metrics_listen);
	if (c->max_batch > 65536)
		return usage_error("%s", "the export batch size is over 65536");
	if (c->max_inflight > 64)
		return usage_error("%s", "--max-inflight is over 64");
	if (c->retry_initial_ms > c->retry_max_interval_ms)
		c->retry_max_interval_ms = c->retry_initial_ms;
	for (i = 0; i < 2; i++) {
		const char *f = i ? c->client_key : c->client_cert;

		if (f && access(f, R_OK))
			return usage_error("cannot read '%s'", f);
	}
	if (c->ca_file && access(c->ca_file, R_OK))
		return usage_error("cannot read certificate '%s'", c->ca_file);
	if (!!c->client_cert != !!c->client_key)
		return usage_error("%s", "a client certificate needs its key, and a key its certificate");
	if (gethostname(c->host_name, sizeof(c->host_name) - 1))
		strcpy(c->host_name, "localhost");
	return 0;
}

void config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->nheaders; i++)
		free(c->headers[i]);
	for (i = 0; i < c->nresource; i++) {
		free((char *)c->resource[i].key);
		free((char *)c->resource[i].val);
	}
	c->nheaders = 0;
	c->nresource = 0;
}
