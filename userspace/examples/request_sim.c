// SPDX-License-Identifier: GPL-2.0
/*
 * request_sim: a small multi-threaded request handler, instrumented with
 * libkspan. Each worker thread serves requests; a request is a SERVER
 * span with children for authentication, a database query (itself with a
 * child for its connection) and rendering: five spans. Every third request arrives
 * with a W3C traceparent from an "upstream" service and joins its trace.
 *
 *   request_sim [-t THREADS] [-n REQUESTS_PER_THREAD]
 *
 * Prints one line per thread and, at the end, whether spans were recorded
 * (kspan_status()). Never fails because tracing is off.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "libkspan.h"

static int threads = 4;
static int requests = 5;

static void work_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

/* A child span of the current one: started, worked, ended, submitted. */
static void step(const char *name, enum kspan_kind kind, long us)
{
	kspan_span_t *s = kspan_span_start(name, kind);

	work_us(us);
	kspan_span_end(s);
	kspan_submit(s);
}

static void query(int id)
{
	kspan_span_t *q = kspan_span_start("SELECT cart_items", KSPAN_SPAN_KIND_CLIENT);

	kspan_span_set_str(q, "db.system", "postgresql");
	kspan_span_set_str(q, "db.query.text", "SELECT * FROM cart_items WHERE cart_id = $1");
	kspan_span_set_int(q, "db.response.returned_rows", id % 7);
	step("pool.acquire", KSPAN_SPAN_KIND_INTERNAL, 50);
	work_us(300);
	kspan_span_end(q);
	kspan_submit(q);
}

static void serve(int worker, int n)
{
	struct kspan_context upstream;
	char traceparent[KSPAN_TRACEPARENT_SIZE];
	kspan_span_t *req;
	int id = worker * 1000 + n;

	if (n % 3 == 0) {
		/* What an upstream service would have sent in its header. */
		kspan_new_trace_id(upstream.trace_id);
		kspan_new_span_id(upstream.span_id);
		upstream.sampled = 1;
		kspan_traceparent_format(&upstream, traceparent);
		kspan_traceparent_parse(traceparent, sizeof(traceparent) - 1, &upstream);
		req = kspan_span_start_child_of("GET /cart/{id}", KSPAN_SPAN_KIND_SERVER, &upstream);
	} else {
		req = kspan_span_start("GET /cart/{id}", KSPAN_SPAN_KIND_SERVER);
	}
	kspan_span_set_str(req, "http.request.method", "GET");
	kspan_span_set_str(req, "http.route", "/cart/{id}");
	kspan_span_set_int(req, "app.cart.id", id);
	kspan_span_set_bool(req, "app.cache.hit", n % 2);
	step("auth.check", KSPAN_SPAN_KIND_INTERNAL, 100);
	query(id);
	step("render", KSPAN_SPAN_KIND_INTERNAL, 150);
	if (n % 5 == 4) {
		kspan_span_set_int(req, "http.response.status_code", 503);
		kspan_span_set_status(req, KSPAN_SPAN_STATUS_ERROR);
	} else {
		kspan_span_set_int(req, "http.response.status_code", 200);
	}
	kspan_span_end(req);
	kspan_submit(req);
}

static void *worker(void *arg)
{
	int w = (int)(long)arg, n;

	for (n = 0; n < requests; n++)
		serve(w, n);
	/* Make sure the module has them before the thread says it is done. */
	kspan_flush();
	printf("worker %d: %d requests\n", w, requests);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid[64];
	const char *status;
	int opt, i;

	while ((opt = getopt(argc, argv, "t:n:h")) != -1) {
		switch (opt) {
		case 't':
			threads = atoi(optarg);
			break;
		case 'n':
			requests = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-t THREADS] [-n REQUESTS_PER_THREAD]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (threads < 1 || threads > 64 || requests < 0) {
		fprintf(stderr, "request_sim: 1 to 64 threads, requests >= 0\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, (void *)(long)i)) {
			threads = i;
			break;
		}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	status = kspan_status();
	printf("request_sim: %d spans %s%s\n", threads * requests * 5,
	       *status ? "not recorded: " : "recorded", status);
	return 0;
}
