// SPDX-License-Identifier: GPL-2.0
/*
 * --metrics-listen: the agent's counters in the Prometheus text format,
 * served by libmicrohttpd from the agent's own event loop (MHD_USE_EPOLL:
 * its epoll fd joins the agent's set; no thread of its own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <microhttpd.h>

#include "agent.h"
#include "log.h"
#include "metrics.h"

struct metrics {
	struct MHD_Daemon *d;
	struct watch w;
	struct sbuf page;
};

static void counter(struct sbuf *o, const char *name, const char *help, uint64_t v)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
			 name, help, name, name, v);

	sbuf_add(o, line, (size_t)n);
}

static void render(struct agent *a, struct sbuf *o)
{
	const struct agent_stats *s = &a->st;
	char line[256];
	uint32_t i;
	int n;

	sbuf_reset(o);
	counter(o, "spanagent_spans_drained_total", "Span records read from the rings.", s->drained);
	counter(o, "spanagent_spans_exported_total", "Spans the backend acknowledged.", s->exported);
	counter(o, "spanagent_spans_partial_rejected_total",
		"Spans a partial success rejected.", s->partial_rejected);
	counter(o, "spanagent_spans_refused_total",
		"Spans of batches the backend refused for good.", s->refused);
	counter(o, "spanagent_spans_expired_total",
		"Spans given up after --retry-max-elapsed.", s->expired);
	counter(o, "spanagent_spans_lost_total",
		"Spans the kernel module dropped (lost-records records).", s->lost);
	counter(o, "spanagent_spans_reread_total",
		"Spans read again after a restart (possible duplicates).", s->reread);
	counter(o, "spanagent_records_malformed_total", "Records that did not parse.", s->malformed);
	counter(o, "spanagent_utf8_repairs_total",
		"Invalid UTF-8 sequences replaced by U+FFFD.", s->utf8_repairs);
	counter(o, "spanagent_exports_total", "Export attempts.", s->exports);
	counter(o, "spanagent_export_retries_total", "Export attempts retried.", s->retries);
	counter(o, "spanagent_export_bytes_total", "Request bytes sent.", s->export_bytes);
	n = snprintf(line, sizeof(line),
		     "# HELP spanagent_exports_inflight Exports awaiting an answer.\n"
		     "# TYPE spanagent_exports_inflight gauge\nspanagent_exports_inflight %u\n",
		     agent_inflight(a));
	sbuf_add(o, line, (size_t)n);
	sbuf_adds(o, "# HELP spanagent_ring_fill_bytes Bytes of a CPU ring not yet released.\n"
		     "# TYPE spanagent_ring_fill_bytes gauge\n");
	for (i = 0; i < a->c.info.nr_rings; i++) {
		const struct kspan_producer_page *p = a->c.rings[i].prod;

		if (!a->c.rings[i].cons)
			continue;
		n = snprintf(line, sizeof(line), "spanagent_ring_fill_bytes{cpu=\"%u\"} %" PRIu64 "\n",
			     i, (uint64_t)(p->producer_pos - p->consumer_pos));
		sbuf_add(o, line, (size_t)n);
	}
	n = snprintf(line, sizeof(line),
		     "# HELP spanagent_ring_size_bytes Bytes of span data per CPU ring.\n"
		     "# TYPE spanagent_ring_size_bytes gauge\nspanagent_ring_size_bytes %" PRIu64 "\n",
		     (uint64_t)a->c.info.data_size);
	sbuf_add(o, line, (size_t)n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	struct metrics *m = a->metrics;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics")) {
		code = MHD_HTTP_NOT_FOUND;
		r = MHD_create_response_from_buffer(10, "not found\n", MHD_RESPMEM_PERSISTENT);
	} else {
		render(a, &m->page);
		if (sbuf_failed(&m->page))
			return MHD_NO;
		r = MHD_create_response_from_buffer(m->page.len, m->page.p, MHD_RESPMEM_MUST_COPY);
		if (r)
			MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
	}
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_ready(struct agent *a, struct watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	MHD_run(((struct metrics *)a->metrics)->d);
}

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6) into @ss. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon;
	char *end;
	long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(spec, ':');
	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || colon == spec)
		return -EINVAL;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (hl < 3 || spec[hl - 1] != ']' || hl - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + 1, hl - 2);
		host[hl - 2] = 0;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = 0;
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1 ? 0 : -EINVAL;
}

int metrics_check_listen(const char *spec)
{
	struct sockaddr_storage ss;

	return parse_listen(spec, &ss);
}

int metrics_start(struct agent *a, const char *spec)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	unsigned int flags = MHD_USE_EPOLL;

	if (parse_listen(spec, &ss))
		return -EINVAL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	a->metrics = m;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, 16u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	if (!m->d)
		return -EADDRNOTAVAIL;
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -EINVAL;
	m->w = (struct watch){ .fn = on_ready, .fd = info->epoll_fd };
	return agent_watch(a, &m->w, EPOLLIN, EPOLL_CTL_ADD);
}

/* When libmicrohttpd needs a call for its connection timeouts, or 0. */
uint64_t metrics_deadline(struct agent *a)
{
	struct metrics *m = a->metrics;
	MHD_UNSIGNED_LONG_LONG t;

	if (!m || !m->d || MHD_get_timeout(m->d, &t) != MHD_YES)
		return 0;
	return agent_now_ms() + t;
}

void metrics_poll(struct agent *a)
{
	struct metrics *m = a->metrics;

	if (m && m->d)
		MHD_run(m->d);
}

void metrics_stop(struct agent *a)
{
	struct metrics *m = a->metrics;

	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	sbuf_free(&m->page);
	free(m);
	a->metrics = NULL;
}
