// SPDX-License-Identifier: GPL-2.0
/*
 * The OTLP/HTTP exporter: protobuf or JSON, gzip, through libcurl's multi
 * interface driven by the agent's epoll set (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION), so an export never blocks draining. Handles are
 * kept per batch slot and connections in the multi handle's cache, so
 * requests reuse kept-alive connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <zlib.h>

#include "agent.h"
#include "log.h"
#include "otlp_response.h"

/* At most this much of an answer is kept (error messages, partial success). */
#define RESPONSE_MAX 65536

struct http_req {
	CURL *easy;
	struct batch *b;
	struct sbuf resp;
	char content_type[96];
	uint32_t retry_after_ms;	/* UINT32_MAX: none */
};

struct http_state {
	CURLM *multi;
	struct curl_slist *headers;
	struct watch timer;
	struct sbuf raw;		/* encoding before compression */
	char user_agent[64];
};

static struct http_state *st(struct agent *a)
{
	return a->exp_state;
}

static int gzip_into(struct sbuf *out, const uint8_t *in, size_t len)
{
	z_stream z = { 0 };
	int ret;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	sbuf_reset(out);
	if (!sbuf_reserve(out, deflateBound(&z, len))) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out->p;
	z.avail_out = (uInt)(out->cap);
	ret = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return ret == Z_STREAM_END ? 0 : -ENOMEM;
}

static int http_prepare(struct agent *a, struct batch *b)
{
	struct http_state *s = st(a);
	struct otlp_stats os = { 0 };
	struct sbuf *enc = a->cfg->gzip ? &s->raw : &b->body;
	int ret;

	sbuf_reset(enc);
	if (a->cfg->protocol == PROTOCOL_JSON)
		ret = otlp_encode_json(enc, &a->host, &b->bb.batch, &os);
	else
		ret = otlp_encode_pb(enc, &a->host, &b->bb.batch, &os);
	a->st.utf8_repairs += os.utf8_repairs;
	if (!ret && a->cfg->gzip)
		ret = gzip_into(&b->body, s->raw.p, s->raw.len);
	return ret;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n, room = RESPONSE_MAX - r->resp.len;

	sbuf_add(&r->resp, p, len < room ? len : room);
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n, k;
	char line[256];

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = 0;
	for (k = len; k && (line[k - 1] == '\r' || line[k - 1] == '\n'); k--)
		line[k - 1] = 0;
	if (!strncasecmp(line, "Retry-After:", 12)) {
		uint32_t ms;

		if (retry_after_parse(line + 12, time(NULL), &ms) == 0)
			r->retry_after_ms = ms;
	} else if (!strncasecmp(line, "Content-Type:", 13)) {
		size_t n = strnlen(line + 13, sizeof(r->content_type) - 1);

		memcpy(r->content_type, line + 13, n);
		r->content_type[n] = 0;
	}
	return len;
}

static struct http_req *req_get(struct agent *a, struct batch *b)
{
	const struct config *c = a->cfg;
	struct http_req *r = b->req;

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->easy = curl_easy_init())) {
		free(r);
		return NULL;
	}
	r->b = b;
	curl_easy_setopt(r->easy, CURLOPT_URL, c->endpoint);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, st(a)->headers);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, st(a)->user_agent);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)c->export_timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	if (c->ca_file)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
	if (c->client_cert)
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key)
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, c->client_key);
	b->req = r;
	return r;
}

static void http_send(struct agent *a, struct batch *b)
{
	struct http_req *r = req_get(a, b);

	if (!r) {
		log_msg("cannot start an export: out of memory");
		agent_export_done(a, b, 0, UINT32_MAX, 0);
		return;
	}
	sbuf_reset(&r->resp);
	r->content_type[0] = 0;
	r->retry_after_ms = UINT32_MAX;
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, b->body.p);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->body.len);
	a->st.export_bytes += b->body.len;
	if (curl_multi_add_handle(st(a)->multi, r->easy) != CURLM_OK) {
		log_msg("cannot start an export");
		agent_export_done(a, b, 0, UINT32_MAX, 0);
	}
}

static void finish(struct agent *a, struct http_req *r, CURLcode result)
{
	struct batch *b = r->b;
	uint64_t rejected = 0;
	long status = 0;
	char msg[512];

	curl_multi_remove_handle(st(a)->multi, r->easy);
	if (result == CURLE_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	switch (retry_classify(status)) {
	case OUTCOME_ACKED:
		otlp_partial_success(a->cfg->protocol, r->resp.p, r->resp.len,
				     &rejected, msg, sizeof(msg));
		if (rejected || msg[0])
			log_msg("partial success: the backend rejected %llu of %u spans: %s",
				(unsigned long long)rejected, b->spans, msg[0] ? msg : "(no message)");
		break;
	case OUTCOME_REFUSED:
		otlp_error_reason(r->content_type, r->resp.p, r->resp.len, msg, sizeof(msg));
		log_msg("export of %u spans refused for good: HTTP %ld: %s", b->spans, status,
			msg[0] ? msg : "(no message)");
		break;
	case OUTCOME_RETRY:
		if (status)
			log_msg("export of %u spans: HTTP %ld, will retry%s", b->spans, status,
				r->retry_after_ms != UINT32_MAX ? " after the server's Retry-After" : "");
		else
			log_msg("export of %u spans failed: %s; will retry", b->spans,
				curl_easy_strerror(result));
		break;
	}
	agent_export_done(a, b, status, r->retry_after_ms, rejected);
}

static void check_done(struct agent *a)
{
	struct http_req *r;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(st(a)->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		finish(a, r, m->data.result);
	}
}

static void on_socket(struct agent *a, struct watch *w, uint32_t events)
{
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(st(a)->multi, w->fd, flags, &running);
	check_done(a);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct agent *a = arg;
	struct watch *w = sockp;
	uint32_t ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (w)
			agent_forget(a, w);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		w->fn = on_socket;
		w->fd = s;
		curl_multi_assign(st(a)->multi, s, w);
		return agent_watch(a, w, ev, EPOLL_CTL_ADD) ? -1 : 0;
	}
	return agent_watch(a, w, ev, EPOLL_CTL_MOD) ? -1 : 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *arg)
{
	struct agent *a = arg;
	struct itimerspec its = { 0 };

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		/* 0 would disarm: "at once" is one nanosecond. */
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000 + 1;
	}
	return timerfd_settime(st(a)->timer.fd, 0, &its, NULL) ? -1 : 0;
}

static void on_curl_timer(struct agent *a, struct watch *w, uint32_t events)
{
	uint64_t n;
	int running;

	(void)events;
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	curl_multi_socket_action(st(a)->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(a);
}

static void http_destroy(struct agent *a)
{
	struct http_state *s = st(a);
	uint32_t i;

	if (!s)
		return;
	for (i = 0; i < a->nbatches; i++) {
		struct http_req *r = a->batches[i].req;

		if (!r)
			continue;
		curl_multi_remove_handle(s->multi, r->easy);
		curl_easy_cleanup(r->easy);
		sbuf_free(&r->resp);
		free(r);
		a->batches[i].req = NULL;
	}
	curl_multi_cleanup(s->multi);
	curl_slist_free_all(s->headers);
	if (s->timer.fd >= 0)
		close(s->timer.fd);
	sbuf_free(&s->raw);
	free(s);
	a->exp_state = NULL;
	curl_global_cleanup();
}

static int http_init(struct agent *a)
{
	const struct config *c = a->cfg;
	struct http_state *s;
	struct curl_slist *l = NULL;
	size_t i;

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	a->exp_state = s;
	s->timer = (struct watch){ .fn = on_curl_timer,
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
	s->multi = curl_multi_init();
	if (s->timer.fd < 0 || !s->multi || agent_watch(a, &s->timer, EPOLLIN, EPOLL_CTL_ADD))
		return -ENOMEM;
	snprintf(s->user_agent, sizeof(s->user_agent), "spanagent/%s", SPANAGENT_VERSION);
	l = curl_slist_append(l, c->protocol == PROTOCOL_JSON ?
			      "Content-Type: application/json" :
			      "Content-Type: application/x-protobuf");
	if (c->gzip)
		l = curl_slist_append(l, "Content-Encoding: gzip");
	/* No "Expect: 100-continue" round trip before each body. */
	l = curl_slist_append(l, "Expect:");
	for (i = 0; l && i < c->nheaders; i++)
		l = curl_slist_append(l, c->headers[i]);
	if (!l)
		return -ENOMEM;
	s->headers = l;
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, a);
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_inflight);
	return 0;
}

const struct exporter_ops exporter_http_ops = {
	.init = http_init,
	.prepare = http_prepare,
	.send = http_send,
	.destroy = http_destroy,
};
