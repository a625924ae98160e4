// SPDX-License-Identifier: GPL-2.0
/*
 * checkout: an example producer. It plays a small web service handling a
 * few requests, each a trace of nested spans with attributes (an HTTP
 * server span, a database query, a cache lookup, a payment call that
 * sometimes fails), and submits them to /dev/kspan through the ioctl path.
 *
 *   checkout [REQUESTS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kspan_client.h"
#include "kspan_record.h"

struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];
	uint64_t start_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void begin(struct span *s, const struct span *parent)
{
	if (parent) {
		memcpy(s->trace_id, parent->trace_id, sizeof(s->trace_id));
		memcpy(s->parent_id, parent->span_id, sizeof(s->parent_id));
	} else {
		if (getrandom(s->trace_id, sizeof(s->trace_id), 0) != sizeof(s->trace_id))
			memset(s->trace_id, 0x42, sizeof(s->trace_id));
		memset(s->parent_id, 0, sizeof(s->parent_id));
	}
	if (getrandom(s->span_id, sizeof(s->span_id), 0) != sizeof(s->span_id))
		memset(s->span_id, 0x24, sizeof(s->span_id));
	s->start_ns = now_ns();
}

/* Ends @s and submits it with the attributes @fill adds. */
static int end(int fd, const struct span *s, const char *name, uint8_t kind, uint8_t status,
	       void (*fill)(struct kspan_builder *b, void *arg), void *arg)
{
	uint8_t rec[1024];
	struct kspan_builder b;
	struct kspan_span *sp;
	long len;

	kspan_build_begin(&b, rec, sizeof(rec), name, strlen(name));
	sp = kspan_build_span(&b);
	memcpy(sp->trace_id, s->trace_id, sizeof(sp->trace_id));
	memcpy(sp->span_id, s->span_id, sizeof(sp->span_id));
	memcpy(sp->parent_span_id, s->parent_id, sizeof(sp->parent_span_id));
	sp->start_time_ns = s->start_ns;
	sp->end_time_ns = now_ns();
	sp->kind = kind;
	sp->status = status;
	sp->flags = KSPAN_SPAN_SAMPLED;
	kspan_build_str(&b, "service.name", "checkout");
	if (fill)
		fill(&b, arg);
	len = kspan_build_end(&b);
	if (len < 0)
		return (int)len;
	return ioctl(fd, KSPAN_IOC_SUBMIT, rec) ? -errno : 0;
}

static void http_attrs(struct kspan_builder *b, void *arg)
{
	int code = *(int *)arg;

	kspan_build_str(b, "http.request.method", "POST");
	kspan_build_str(b, "http.route", "/checkout");
	kspan_build_int(b, "http.response.status_code", code);
}

static void db_attrs(struct kspan_builder *b, void *arg)
{
	(void)arg;
	kspan_build_str(b, "db.system", "postgresql");
	kspan_build_str(b, "db.query.text", "SELECT * FROM cart WHERE user_id = $1");
	kspan_build_int(b, "db.response.returned_rows", 3);
}

static void cache_attrs(struct kspan_builder *b, void *arg)
{
	kspan_build_bool(b, "cache.hit", *(int *)arg);
}

static void pay_attrs(struct kspan_builder *b, void *arg)
{
	kspan_build_double(b, "payment.amount", 42.5);
	kspan_build_str(b, "payment.currency", "EUR");
	if (*(int *)arg)
		kspan_build_str(b, "error.type", "card_declined");
}

static void pause_us(unsigned int us)
{
	usleep(us);
}

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 3;
	int fd = kspan_open(O_WRONLY | O_CLOEXEC), i, ret = 0;

	if (fd < 0) {
		fprintf(stderr, "checkout: %s: %s\n", KSPAN_DEVICE_PATH, strerror(-fd));
		return 1;
	}
	for (i = 0; i < requests && !ret; i++) {
		struct span req, db, cache, pay;
		int hit = i % 2, declined = i % 3 == 2, code = declined ? 402 : 200;

		begin(&req, NULL);
		begin(&cache, &req);
		pause_us(200);
		ret = ret ? ret : end(fd, &cache, "cache.get cart", KSPAN_KIND_CLIENT, 0, cache_attrs, &hit);
		if (!hit) {
			begin(&db, &req);
			pause_us(1500);
			ret = ret ? ret : end(fd, &db, "SELECT cart", KSPAN_KIND_CLIENT, 0, db_attrs, NULL);
		}
		begin(&pay, &req);
		pause_us(3000);
		ret = ret ? ret : end(fd, &pay, "POST /payments", KSPAN_KIND_CLIENT,
			   declined ? KSPAN_STATUS_ERROR : KSPAN_STATUS_OK, pay_attrs, &declined);
		ret = ret ? ret : end(fd, &req, "POST /checkout", KSPAN_KIND_SERVER,
			   declined ? KSPAN_STATUS_ERROR : KSPAN_STATUS_UNSET, http_attrs, &code);
	}
	if (ret)
		fprintf(stderr, "checkout: submit: %s\n", strerror(-ret));
	close(fd);
	return ret ? 1 : 0;
}
