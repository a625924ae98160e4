// SPDX-License-Identifier: GPL-2.0
/*
 * agent_bench: spanagent end to end, in a guest with kspan.ko loaded
 * (scripts/bench). A sink on loopback (libmicrohttpd) plays the backend:
 * it answers every export 200, or 503 while "down". Producer threads, one
 * per CPU, submit spans in batches of 64; a span counts as delivered once
 * the module says its bytes were released (spanagent releases only what
 * the backend acknowledged).
 *
 *   throughput   spans/s from the rings to the sink's socket
 *   cpu          spanagent's CPU time per 10^5 spans
 *   rss          spanagent's peak RSS under sustained load (VmHWM), and its
 *                RSS before and after 5 s of a backend that is down while
 *                producers block on full rings
 *
 *   agent_bench SPANAGENT RESULTS [SPANS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "kspan_client.h"
#include "kspan_record.h"

#define PORT 19318
#define PER_CALL 64

static atomic_int down;
static atomic_ulong requests, body_bytes;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result sink(void *cls, struct MHD_Connection *c, const char *url,
			    const char *method, const char *version, const char *data,
			    size_t *size, void **state)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (!*state) {			/* headers: wait for the body */
		*state = &marker;
		return MHD_YES;
	}
	if (*size) {			/* a piece of the body */
		atomic_fetch_add(&body_bytes, *size);
		*size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&requests, 1);
	r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
	ret = MHD_queue_response(c, atomic_load(&down) ? 503 : 200, r);
	MHD_destroy_response(r);
	return ret;
}

struct producer {
	int cpu;
	long spans;
	pthread_t th;
};

static long make_span(uint8_t *buf, size_t cap, uint64_t seq)
{
	struct kspan_builder b;
	struct kspan_span *s;

	kspan_build_begin(&b, buf, cap, "GET /api/items", 14);
	s = kspan_build_span(&b);
	memcpy(s->trace_id, &seq, sizeof(seq));
	s->trace_id[15] = 1;
	memcpy(s->span_id, &seq, sizeof(seq));
	s->span_id[7] |= 0x80;
	s->start_time_ns = 1700000000000000000ull + seq;
	s->end_time_ns = s->start_time_ns + 250000;
	s->kind = KSPAN_KIND_SERVER;
	kspan_build_str(&b, "http.request.method", "GET");
	kspan_build_str(&b, "http.route", "/api/items/{id}");
	kspan_build_int(&b, "http.response.status_code", 200);
	return kspan_build_end(&b);
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	static _Thread_local uint8_t recs[PER_CALL * 256];
	struct kspan_submit_batch b;
	size_t len = 0;
	cpu_set_t set;
	long done = 0;
	int fd, i;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	fd = kspan_open(O_WRONLY);
	if (fd < 0)
		return NULL;
	for (i = 0; i < PER_CALL; i++)
		len += kspan_record_total((size_t)make_span(recs + len, sizeof(recs) - len,
							    (uint64_t)p->cpu << 40 | (uint64_t)i));
	while (done < p->spans) {
		memset(&b, 0, sizeof(b));
		b.records = (uintptr_t)recs;
		b.len = (uint32_t)len;
		b.count = PER_CALL;
		if (ioctl(fd, KSPAN_IOC_SUBMIT_BATCH, &b) <= 0)
			break;
		done += b.accepted;
	}
	close(fd);
	return NULL;
}

static int stats(int fd, struct kspan_stats *st)
{
	struct kspan_stats_query q;

	memset(&q, 0, sizeof(q));
	q.ring = KSPAN_STATS_ALL;
	if (ioctl(fd, KSPAN_IOC_STATS, &q))
		return -errno;
	*st = q.stats;
	return 0;
}

/* utime + stime of @pid, in seconds. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	if (f)
		fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n))
			kb = atol(line + n);
	if (f)
		fclose(f);
	return kb;
}

/* Runs producers for @total spans; returns when all are released. */
static double run_load(int fd, long total, double *t_submit)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), i;
	struct producer p[64];
	struct kspan_stats st;
	double t0 = now();

	for (i = 0; i < ncpu && i < 64; i++) {
		p[i].cpu = i;
		p[i].spans = total / ncpu;
		pthread_create(&p[i].th, NULL, produce, &p[i]);
	}
	for (i = 0; i < ncpu && i < 64; i++)
		pthread_join(p[i].th, NULL);
	*t_submit = now() - t0;
	do {
		usleep(2000);
		stats(fd, &st);
	} while (st.bytes_consumed < st.bytes_committed);
	return now() - t0;
}

int main(int argc, char **argv)
{
	long spans = argc > 3 ? atol(argv[3]) : 200000;
	struct MHD_Daemon *d;
	struct kspan_stats st0, st1;
	double t, ts, c0, c1;
	long rss_down0, rss_down1;
	char endpoint[64];
	FILE *out;
	pid_t agent;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: agent_bench SPANAGENT RESULTS [SPANS]\n");
		return 2;
	}
	out = fopen(argv[2], "w");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, PORT, NULL, NULL, sink, NULL,
			     MHD_OPTION_END);
	fd = kspan_open(O_RDONLY);
	if (!out || !d || fd < 0) {
		fprintf(stderr, "agent_bench: setup failed\n");
		return 1;
	}
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/v1/traces", PORT);
	agent = fork();
	if (agent == 0) {
		execl(argv[1], argv[1], "--endpoint", endpoint, "--schedule-delay", "100",
		      "--retry-initial", "200", "--retry-max-interval", "1000",
		      "--log", "/dev/null", (char *)NULL);
		_exit(127);
	}
	sleep(1);

	/* Sustained load. */
	stats(fd, &st0);
	c0 = cpu_s(agent);
	t = run_load(fd, spans, &ts);
	c1 = cpu_s(agent);
	stats(fd, &st1);
	fprintf(out, "throughput   %.0f spans/s delivered (%ld spans in %.2f s; producers done after %.2f s)\n",
		(double)spans / t, spans, t, ts);
	fprintf(out, "cpu          %.3f s of spanagent CPU per 10^5 spans (%.2f s for %ld)\n",
		(c1 - c0) * 1e5 / (double)spans, c1 - c0, spans);
	fprintf(out, "rss          peak %ld kB (VmHWM) after sustained load\n",
		status_kb(agent, "VmHWM:"));
	fprintf(out, "requests     %lu requests, %.1f MB sent, %llu producer waits on full rings\n",
		atomic_load(&requests), (double)atomic_load(&body_bytes) / 1e6,
		(unsigned long long)(st1.blocked - st0.blocked));

	/* The backend is down while producers fill the rings and block. */
	atomic_store(&down, 1);
	rss_down0 = status_kb(agent, "VmRSS:");
	{
		pthread_t th;
		struct producer p = { .cpu = 0, .spans = spans / 4 };

		pthread_create(&th, NULL, produce, &p);
		sleep(5);
		rss_down1 = status_kb(agent, "VmRSS:");
		atomic_store(&down, 0);
		pthread_join(th, NULL);
	}
	do {
		usleep(2000);
		stats(fd, &st1);
	} while (st1.bytes_consumed < st1.bytes_committed);
	fprintf(out, "rss_down     %ld kB when the backend went down, %ld kB after 5 s down with producers blocked\n",
		rss_down0, rss_down1);
	kill(agent, SIGTERM);
	waitpid(agent, NULL, 0);
	MHD_stop_daemon(d);
	fclose(out);
	return 0;
}
