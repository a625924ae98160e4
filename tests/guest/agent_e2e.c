// SPDX-License-Identifier: GPL-2.0
/*
 * spanagent end to end, in a guest: producers submit spans through the
 * ioctl path, spanagent drains the rings and exports them to a real OTLP/HTTP
 * receiver on the guest's loopback (tests/node/otlp_receiver.js, the
 * OpenTelemetry JavaScript packages' schema decoding strictly), which
 * records every span it accepted. Fault cases play a backend that fails,
 * throttles, refuses, stalls or is down, and an agent that is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "span_util.h"

static char root[PATH_MAX / 2];

/* The repository: build/.. */
static void find_root(void)
{
	if (build_path("..", root, sizeof(root)))
		root[0] = '\0';
}

static uint64_t ms_now(void)
{
	return mono_ns() / 1000000;
}

/* Lines of @path that contain @needle (all lines: NULL). */
static int count_lines(const char *path, const char *needle)
{
	char line[16384];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !needle || strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* The first line of @path that contains @needle, into @buf. */
static int find_line(const char *path, const char *needle, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int found = 0;

	while (f && !found && fgets(buf, (int)len, f))
		found = strstr(buf, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

struct received {
	int distinct;
	int total;
	int dup;
	uint8_t *seen;		/* per seq: times received */
};

/* Counts the spans in the receiver's file by their "seq" attribute. */
static void tally(const char *path, int n, struct received *r)
{
	char line[16384];
	FILE *f = fopen(path, "re");

	memset(r, 0, sizeof(*r));
	r->seen = calloc((size_t)n, 1);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "\"seq\":");
		long s;

		if (!p)
			continue;
		s = strtol(p + 6, NULL, 10);
		r->total++;
		if (s < 0 || s >= n)
			continue;
		if (r->seen[s]++)
			r->dup++;
		else
			r->distinct++;
	}
	fclose(f);
}

FIXTURE(agent) {
	const char *scheme;		/* of the receiver: "http" or "https" */
	char tls_key[96], tls_cert[96];
	char dir[64];
	char spans[96], requests[96], port_file[96], agent_log[96];
	int port;
	int started_before;		/* "started:" lines before the last start */
	pid_t receiver;
	pid_t agent;
};

static pid_t spawn(const char *out, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* Gone with the test, however the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Starts the receiver with @script; waits until it listens. */
static int start_receiver(struct _test_data_agent *self, const char *script)
{
	char js[PATH_MAX], log[128], port[16];
	char *argv[] = { "/usr/bin/node", js, "--port-file", self->port_file,
			 "--spans", self->spans, "--requests", self->requests,
			 "--script", (char *)(script ? script : ""), "--port", port,
			 NULL, NULL, NULL, NULL, NULL };
	uint64_t t0 = ms_now();
	FILE *f;

	snprintf(js, sizeof(js), "%s/tests/node/otlp_receiver.js", root);
	snprintf(log, sizeof(log), "%s/receiver.log", self->dir);
	snprintf(port, sizeof(port), "%d", self->port);
	if (!strcmp(self->scheme, "https")) {
		argv[12] = "--tls-key";
		argv[13] = self->tls_key;
		argv[14] = "--tls-cert";
		argv[15] = self->tls_cert;
	}
	unlink(self->port_file);
	self->receiver = spawn(log, argv);
	while (ms_now() - t0 < 120000) {
		f = fopen(self->port_file, "re");
		if (f) {
			int ok = fscanf(f, "%d", &self->port) == 1;

			fclose(f);
			if (ok)
				return 0;
		}
		if (waitpid(self->receiver, NULL, WNOHANG) == self->receiver)
			return -1;
		usleep(50000);
	}
	return -1;
}

/*
 * Starts spanagent against the receiver, with extra flags. Its export and
 * shutdown timeouts are generous: in a loaded emulated guest the receiver
 * may take longer than the default 10 s to answer, and an export that times
 * out is sent again, a duplicate the tests would count. The tests of the
 * timeouts set their own (later flags win).
 */
static pid_t start_agent(struct _test_data_agent *self, const char *const *extra)
{
	char bin[PATH_MAX], endpoint[64];
	char *argv[32] = { bin, "--endpoint", endpoint, "--schedule-delay", "100",
			   "--export-timeout", "30000", "--shutdown-timeout", "30000" };
	int n = 9;

	snprintf(bin, sizeof(bin), "%s/build/bin/spanagent", root);
	snprintf(endpoint, sizeof(endpoint), "%s://127.0.0.1:%d/v1/traces", self->scheme,
		 self->port);
	while (extra && *extra && n < 31)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	self->started_before = count_lines(self->agent_log, "started:");
	self->agent = spawn(self->agent_log, argv);
	return self->agent;
}

/* Waits for the agent last started to be attached (its own "started" line). */
static int agent_started(struct _test_data_agent *self)
{
	uint64_t t0 = ms_now();

	while (ms_now() - t0 < 60000) {
		if (count_lines(self->agent_log, "started:") > self->started_before)
			return 1;
		if (waitpid(self->agent, NULL, WNOHANG) == self->agent)
			return 0;
		usleep(20000);
	}
	return 0;
}

/*
 * A producer process ("e2e-producer") that submits spans @first..@first+n-1
 * through the ioctl path, blocking when a ring is full. With @linger (a
 * pipe), it then stays until the pipe's write end is closed, so that its /proc entry
 * (executable name) outlives the export.
 */
static pid_t produce_linger(uint64_t first, int n, const int *linger)
{
	pid_t pid = fork();

	if (pid == 0) {
		uint8_t rec[512];
		char c;
		int fd, i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "e2e-producer");
		if (linger)
			close(linger[1]);
		fd = kspan_open(O_WRONLY);
		if (fd < 0)
			_exit(1);
		for (i = 0; i < n; i++) {
			long len = make_span(rec, sizeof(rec), first + (uint64_t)i, 160);

			if (len < 0 || submit(fd, rec))
				_exit(2);
		}
		if (linger && read(linger[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	return pid;
}

static pid_t produce(uint64_t first, int n)
{
	return produce_linger(first, n, NULL);
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t t0 = ms_now();
	int status;

	while (ms_now() - t0 < (uint64_t)timeout_ms) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	return -1;
}

/* Waits until the receiver holds @want distinct spans of 0..@n-1. */
static int wait_some(struct _test_data_agent *self, int n, int want, int timeout_ms,
		     struct received *r)
{
	uint64_t t0 = ms_now();

	for (;;) {
		tally(self->spans, n, r);
		if (r->distinct >= want || ms_now() - t0 > (uint64_t)timeout_ms)
			return r->distinct;
		free(r->seen);
		usleep(200000);
	}
}

/* Waits until the receiver holds all @n spans 0..n-1. */
static int wait_received(struct _test_data_agent *self, int n, int timeout_ms,
			 struct received *r)
{
	return wait_some(self, n, n, timeout_ms, r);
}

FIXTURE_SETUP(agent)
{
	int ret, tries;

	find_root();
	/* A failed test's processes may take a moment to die. */
	for (tries = 0; tries < 100; tries++) {
		ret = kspan_reload("ring_size=65536");
		if (ret != -EAGAIN && ret != -EBUSY)
			break;
		usleep(100000);
	}
	ASSERT_EQ(0, ret);
	strcpy(self->dir, "/tmp/spanagent.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->spans, sizeof(self->spans), "%s/spans", self->dir);
	snprintf(self->requests, sizeof(self->requests), "%s/requests", self->dir);
	snprintf(self->port_file, sizeof(self->port_file), "%s/port", self->dir);
	snprintf(self->agent_log, sizeof(self->agent_log), "%s/agent.log", self->dir);
	self->port = 0;
	self->scheme = "http";
	self->receiver = 0;
	self->agent = 0;
}

static void dump(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	while (f && fgets(line, sizeof(line), f) && n++ < 40)
		fprintf(stderr, "#   %s", line);
	if (f)
		fclose(f);
}

FIXTURE_TEARDOWN(agent)
{
	char cmd[128];

	if (self->agent > 0 && kill(self->agent, SIGKILL) == 0)
		waitpid(self->agent, NULL, 0);
	if (self->receiver > 0) {
		kill(self->receiver, SIGKILL);
		waitpid(self->receiver, NULL, 0);
	}
	if (_metadata->exit_code != KSFT_PASS) {
		fprintf(stderr, "# agent log:\n");
		dump(self->agent_log);
		fprintf(stderr, "# requests:\n");
		dump(self->requests);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

/* Every span arrives exactly once, with its ids, times, attributes, resource. */
TEST_F_TIMEOUT(agent, every_span_arrives_once_protobuf_gzip, 600)
{
	enum { N = 2000 };
	struct received r;
	char want[256], host[128];
	int linger[2];
	pid_t p1, p2;
	int i;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	ASSERT_EQ(0, pipe(linger));
	p1 = produce_linger(0, N / 2, linger);
	p2 = produce_linger(N / 2, N / 2, linger);
	close(linger[0]);
	EXPECT_EQ(N, wait_received(self, N, 120000, &r));
	close(linger[1]);
	EXPECT_EQ(0, wait_exit(p1, 120000));
	EXPECT_EQ(0, wait_exit(p2, 120000));
	EXPECT_EQ(N, r.total);
	EXPECT_EQ(0, r.dup);
	free(r.seen);

	/* Each span's content, as the receiver decoded it. */
	for (i = 0; i < N; i += 97) {
		uint8_t rec[512];
		struct kspan_span_view v;
		char line[16384], key[32], t[33], sp[17];

		long len = make_span(rec, sizeof(rec), (uint64_t)i, 160);

		ASSERT_LT(0, len);
		ASSERT_EQ(0, kspan_span_parse(rec, (size_t)len, &v));
		snprintf(key, sizeof(key), "{\"seq\":%d,", i);
		ASSERT_TRUE(find_line(self->spans, key, line, sizeof(line)));
		hex(t, v.span->trace_id, 16);
		hex(sp, v.span->span_id, 8);
		snprintf(want, sizeof(want), "{\"trace\":\"%s\",\"span\":\"%s\",\"parent\":\"\",\"name\":\"op\",\"kind\":1,\"start\":\"%llu\",\"end\":\"%llu\",\"status\":0,",
			 t, sp, (unsigned long long)v.span->start_time_ns,
			 (unsigned long long)v.span->end_time_ns);
		EXPECT_NE(NULL, strstr(line, want)) {
			TH_LOG("span %d: %s", i, line);
		}
		snprintf(want, sizeof(want), "\"process.pid\":%d,", i < N / 2 ? p1 : p2);
		EXPECT_NE(NULL, strstr(line, want));
	}
	gethostname(host, sizeof(host));
	EXPECT_EQ(N, count_lines(self->spans, "\"name\":\"op\",\"kind\":1"));
	EXPECT_EQ(N, count_lines(self->spans, "\"service.name\":\"e2e-producer\""));
	EXPECT_EQ(N, count_lines(self->spans, "\"process.executable.name\":\"agent_e2e\""));
	snprintf(want, sizeof(want), "\"host.name\":\"%s\"", host);
	EXPECT_EQ(N, count_lines(self->spans, want));
	EXPECT_EQ(N, count_lines(self->spans, "\"scope\":\"kspan\""));
	EXPECT_EQ(N, count_lines(self->spans, "\"thread.id\":"));
	EXPECT_EQ(N, count_lines(self->spans, "\"pad\":\""));
	/* Every request was protobuf, gzip, to /v1/traces, by spanagent. */
	EXPECT_EQ(0, count_lines(self->requests, "\"error\""));
	EXPECT_EQ(count_lines(self->requests, NULL),
		  count_lines(self->requests, "\"type\":\"application/x-protobuf\",\"encoding\":\"gzip\",\"agent\":\"spanagent/"));
	EXPECT_EQ(count_lines(self->requests, NULL),
		  count_lines(self->requests, "\"path\":\"/v1/traces\",\"method\":\"POST\""));
}

/* OTLP/JSON without compression: the same spans, by the JSON rules. */
TEST_F_TIMEOUT(agent, every_span_arrives_once_json_uncompressed, 600)
{
	static const char *const flags[] = { "--protocol", "http/json", "--compression",
					     "none", "--header", "x-tenant=t%201", NULL };
	enum { N = 300 };
	struct received r;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	EXPECT_EQ(N, wait_received(self, N, 120000, &r));
	EXPECT_EQ(0, r.dup);
	free(r.seen);
	EXPECT_EQ(N, count_lines(self->spans, "\"name\":\"op\",\"kind\":1"));
	EXPECT_EQ(0, count_lines(self->requests, "\"error\""));
	EXPECT_EQ(count_lines(self->requests, NULL),
		  count_lines(self->requests, "\"type\":\"application/json\",\"encoding\":\"identity\""));
	EXPECT_EQ(count_lines(self->requests, NULL),
		  count_lines(self->requests, "\"x-tenant\":\"t 1\""));
}

/*
 * The backend fails (503), throttles with Retry-After in both forms, then
 * recovers: nothing is lost, nothing is sent twice.
 */
TEST_F_TIMEOUT(agent, retries_until_the_backend_recovers, 600)
{
	static const char *const flags[] = { "--retry-initial", "200", NULL };
	enum { N = 400 };
	struct received r;

	ASSERT_EQ(0, start_receiver(self, "503x2,429:ra=1,503:radate=2,502,504"));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	EXPECT_EQ(N, wait_received(self, N, 180000, &r));
	EXPECT_EQ(0, r.dup);
	free(r.seen);
	EXPECT_EQ(6, count_lines(self->requests, "\"code\":5") +
		     count_lines(self->requests, "\"code\":429"));
	EXPECT_LE(6, count_lines(self->agent_log, "will retry"));
	EXPECT_LE(1, count_lines(self->agent_log, "Retry-After"));
}

/* A refused batch (400) is counted and logged with the reason; the rest flow. */
TEST_F_TIMEOUT(agent, a_refused_batch_is_counted_and_the_rest_flow, 600)
{
	static const char *const flags[] = { "--max-export-batch-size", "50", NULL };
	enum { N = 400 };
	struct received r;
	char line[4096];
	int refused, i;

	ASSERT_EQ(0, start_receiver(self, "200,400"));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	for (i = 0; i < 600 && !find_line(self->requests, "\"code\":400", line, sizeof(line)); i++)
		usleep(100000);
	ASSERT_TRUE(find_line(self->requests, "\"code\":400", line, sizeof(line)));
	refused = atoi(strstr(line, "\"spans\":") + 8);
	EXPECT_LT(0, refused);
	EXPECT_EQ(N - refused, wait_some(self, N, N - refused, 120000, &r));
	usleep(500000);
	free(r.seen);
	tally(self->spans, N, &r);
	EXPECT_EQ(N - refused, r.distinct);
	EXPECT_EQ(0, r.dup);
	free(r.seen);
	EXPECT_EQ(1, count_lines(self->agent_log, "refused for good: HTTP 400: test backend says 400"));
	/* The counters say so too (SIGUSR1). */
	kill(self->agent, SIGUSR1);
	usleep(500000);
	snprintf(line, sizeof(line), "refused %d ", refused);
	EXPECT_EQ(1, count_lines(self->agent_log, line));
}

/*
 * A backend that stalls past the export timeout: the batch is sent again.
 * The stalled request is answered later, so its spans arrive twice: every
 * duplicate belongs to an attempt that timed out.
 */
TEST_F_TIMEOUT(agent, a_stalled_export_times_out_and_is_retried, 600)
{
	static const char *const flags[] = { "--export-timeout", "5000", "--retry-initial",
					     "100", NULL };
	enum { N = 200 };
	struct received r;
	int timeouts;

	ASSERT_EQ(0, start_receiver(self, "200:stall=12000"));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	EXPECT_EQ(N, wait_received(self, N, 120000, &r));
	free(r.seen);
	timeouts = count_lines(self->agent_log, "Timeout was reached");
	EXPECT_LE(1, timeouts);
	/* The stalled answer comes after the retry's. */
	usleep(12000000);
	tally(self->spans, N, &r);
	EXPECT_EQ(N, r.distinct);
	EXPECT_GE(N * timeouts, r.dup);
	free(r.seen);
}

/* SIGTERM exports what the rings hold before exiting 0. */
TEST_F_TIMEOUT(agent, sigterm_flushes_everything, 600)
{
	static const char *const flags[] = { "--schedule-delay", "600000", NULL };
	enum { N = 300 };
	struct received r;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	/* Nothing goes before the (long) schedule delay... */
	usleep(1000000);
	EXPECT_EQ(0, count_lines(self->spans, NULL));
	/* ...but all of it on SIGTERM. */
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	tally(self->spans, N, &r);
	EXPECT_EQ(N, r.distinct);
	free(r.seen);
}

/*
 * spanagent killed while exports are in flight, then started again: every
 * span arrives at least once, and duplicates stay within the in-flight
 * window (2 batches of 512).
 */
TEST_F_TIMEOUT(agent, sigkill_mid_export_then_restart_loses_nothing, 600)
{
	enum { N = 1500 };
	struct received r;
	char line[1024];
	int reread;

	ASSERT_EQ(0, start_receiver(self, "200:stall=3000x3"));
	ASSERT_LT(0, start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 120000));
	/* Kill it while its first exports stall (3 s each). */
	usleep(1500000);
	kill(self->agent, SIGKILL);
	waitpid(self->agent, NULL, 0);
	ASSERT_LT(0, start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(N, wait_received(self, N, 180000, &r));
	free(r.seen);
	usleep(4000000);
	tally(self->spans, N, &r);
	EXPECT_EQ(N, r.distinct);
	EXPECT_GE(2 * 512, r.dup);
	/* The restarted agent counted what it read again: every duplicate. */
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	ASSERT_TRUE(find_line(self->agent_log, " reread ", line, sizeof(line)));
	reread = atoi(strstr(line, " reread ") + 8);
	EXPECT_LE(r.dup, reread);
	EXPECT_GE(2 * 512, reread);
	free(r.seen);
}

/*
 * The backend is down while producers fill the rings and block; it comes
 * back: everything arrives, and the agent's memory did not grow with the
 * backlog (the spans waited in the rings).
 */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

TEST_F_TIMEOUT(agent, backend_down_producers_block_then_everything_arrives, 900)
{
	static const char *const flags[] = { "--retry-initial", "200", "--retry-max-interval",
					     "1000", NULL };
	enum { N = 6000 };
	struct kspan_stats st;
	struct received r;
	long rss_early, rss_late;
	pid_t p1, p2;
	int fd;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	kill(self->receiver, SIGUSR2);		/* down */
	usleep(300000);
	p1 = produce(0, N / 2);
	p2 = produce(N / 2, N / 2);
	/* The rings fill (64 KiB each) and the producers block. */
	fd = kspan_open(O_RDONLY);
	ASSERT_LE(0, fd);
	for (int i = 0; i < 600; i++) {
		ASSERT_EQ(0, get_stats(fd, KSPAN_STATS_ALL, &st));
		if (st.blocked)
			break;
		usleep(100000);
	}
	EXPECT_LT(0u, st.blocked);
	/*
	 * Once the backlog is in place (every batch slot sealed and retrying,
	 * its request body built), memory must not grow with the wait.
	 */
	usleep(2000000);
	rss_early = rss_kb(self->agent);
	usleep(4000000);
	rss_late = rss_kb(self->agent);
	EXPECT_GE(rss_early + 256, rss_late) {
		TH_LOG("agent RSS grew from %ld to %ld kB while the backend was down",
		       rss_early, rss_late);
	}
	EXPECT_EQ(0, count_lines(self->spans, NULL));
	kill(self->receiver, SIGHUP);		/* back */
	EXPECT_EQ(0, wait_exit(p1, 300000));
	EXPECT_EQ(0, wait_exit(p2, 300000));
	EXPECT_EQ(N, wait_received(self, N, 300000, &r));
	EXPECT_EQ(0, r.dup);
	free(r.seen);
	ASSERT_EQ(0, get_stats(fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(0u, st.dropped_policy + st.dropped_atomic + st.full_eagain + st.full_timeout);
	close(fd);
}

/* A producer pinned to @cpu whose file drops spans on a full ring. */
static pid_t produce_dropping(int cpu, uint64_t first, int n)
{
	pid_t pid = fork();

	if (pid == 0) {
		uint8_t rec[512];
		int fd, i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = kspan_open(O_WRONLY);
		if (fd < 0 || pin_to_cpu(cpu) || set_policy(fd, KSPAN_FULL_DROP, 0))
			_exit(1);
		for (i = 0; i < n; i++)
			if (make_span(rec, sizeof(rec), first + (uint64_t)i, 160) < 0 ||
			    submit(fd, rec))
				_exit(2);
		_exit(0);
	}
	return pid;
}

/* A blocking producer pinned to @cpu (see produce_linger()). */
static pid_t produce_on(int cpu, uint64_t first, int n)
{
	pid_t pid = fork();

	if (pid == 0) {
		pin_to_cpu(cpu);
		pid = produce(first, n);
		_exit(pid > 0 ? wait_exit(pid, 600000) : 1);
	}
	return pid;
}

/*
 * Spans the module drops (a full ring, a file with the drop policy) reach
 * the agent as lost-records records: it logs them, at most a line per
 * interval, and its count matches the module's to the span.
 */
TEST_F_TIMEOUT(agent, module_drops_are_counted_and_logged, 600)
{
	static const char *const flags[] = { "--retry-initial", "200", "--retry-max-interval",
					     "1000", NULL };
	enum { N = 3000, D = 40 };
	struct kspan_stats st;
	struct received r;
	char line[512], want[64];
	pid_t p[2], d[2];
	int fd, cpu, i;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	kill(self->receiver, SIGUSR2);		/* down: the rings fill */
	usleep(300000);
	fd = kspan_open(O_RDONLY);
	ASSERT_LE(0, fd);
	for (cpu = 0; cpu < 2; cpu++)
		p[cpu] = produce_on(cpu, (uint64_t)cpu * N / 2, N / 2);
	for (cpu = 0; cpu < 2; cpu++) {
		for (i = 0; i < 600; i++) {
			ASSERT_EQ(0, get_stats(fd, cpu, &st));
			if (st.blocked)
				break;
			usleep(100000);
		}
		ASSERT_LT(0u, st.blocked) TH_LOG("ring %d never filled", cpu);
	}
	for (cpu = 0; cpu < 2; cpu++)
		d[cpu] = produce_dropping(cpu, 100000 + (uint64_t)cpu * D, D);
	for (cpu = 0; cpu < 2; cpu++)
		EXPECT_EQ(0, wait_exit(d[cpu], 60000));
	ASSERT_EQ(0, get_stats(fd, KSPAN_STATS_ALL, &st));
	EXPECT_EQ(2u * D, st.dropped_policy);

	kill(self->receiver, SIGHUP);		/* back */
	for (cpu = 0; cpu < 2; cpu++)
		EXPECT_EQ(0, wait_exit(p[cpu], 300000));
	EXPECT_EQ(N, wait_received(self, N, 300000, &r));
	/*
	 * Requests in flight as the backend went down may time out, be
	 * retried and still be answered: at least once, duplicates within
	 * the in-flight window (2 batches of 512).
	 */
	EXPECT_GE(2 * 512, r.dup);
	free(r.seen);
	EXPECT_LE(1, count_lines(self->agent_log, "the module dropped"));
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	/* The last stats line counts exactly what the module dropped. */
	snprintf(want, sizeof(want), " lost %u ", 2 * D);
	ASSERT_EQ(1, find_line(self->agent_log, "stopped:", line, sizeof(line)));
	EXPECT_LE(1, count_lines(self->agent_log, want));
	close(fd);
}

/*
 * An idle agent sleeps: over 10 idle seconds it wakes up (almost) never and
 * its CPU time stays near zero. Runtime comes from /proc/PID/schedstat (ns,
 * exact), wake-ups from the context-switch counts.
 */
/* utime + stime of @pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
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
	return (long)(ut + st);
}

static uint64_t run_ns(pid_t pid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	if (f)
		fclose(f);
	/* Kernels without schedstat (the trimmed ones): clock ticks. */
	if (!ns)
		ns = (unsigned long long)cpu_ticks(pid) * 1000000000ull /
		     (unsigned long long)sysconf(_SC_CLK_TCK);
	return ns;
}

static long switches(pid_t pid)
{
	char path[64], line[256];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "ctxt_switches:"))
			n += atol(strchr(line, ':') + 1);
	if (f)
		fclose(f);
	return n;
}

TEST_F_TIMEOUT(agent, an_idle_agent_uses_no_cpu, 300)
{
	struct kspan_stats st;
	struct received r;
	uint64_t ns0, ns1;
	long sw0, sw1;
	int fd, i;

	ASSERT_EQ(0, start_receiver(self, "200:late=3000"));
	ASSERT_LT(0, start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, 10), 60000));
	EXPECT_EQ(10, wait_received(self, 10, 60000, &r));
	free(r.seen);
	/*
	 * Received is not settled: this receiver stores the spans at once and
	 * acknowledges them 3 s later, as a slow backend (or the debug
	 * kernel's Node) does, and only then does the agent read the answer
	 * and release the rings. Idle starts once the module counts all ten
	 * released and a whole second passes without a context switch.
	 */
	fd = kspan_open(O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < 600; i++) {
		ASSERT_EQ(0, get_stats(fd, KSPAN_STATS_ALL, &st));
		if (st.consumed == 10)
			break;
		usleep(100000);
	}
	close(fd);
	ASSERT_EQ(10u, st.consumed);
	for (i = 0, sw0 = switches(self->agent); i < 20; i++, sw0 = sw1) {
		usleep(1000000);
		sw1 = switches(self->agent);
		if (sw1 == sw0)
			break;
	}
	ns0 = run_ns(self->agent);
	sw0 = switches(self->agent);
	usleep(10000000);
	ns1 = run_ns(self->agent);
	sw1 = switches(self->agent);
	/* A dead agent (a zombie) would look idle too. */
	ASSERT_EQ(0, waitpid(self->agent, NULL, WNOHANG));
	ASSERT_LT(0, sw0);
	/* A busy loop would switch thousands of times and use seconds. */
	EXPECT_GE(2, sw1 - sw0) {
		TH_LOG("%ld wake-ups in 10 idle seconds", sw1 - sw0);
	}
	EXPECT_GT(30000000u, ns1 - ns0) {
		TH_LOG("%llu ns of CPU in 10 idle seconds", (unsigned long long)(ns1 - ns0));
	}
}

/* The counters, in the Prometheus text format over HTTP. */
TEST_F_TIMEOUT(agent, metrics_over_http, 300)
{
	static const char *const flags[] = { "--metrics-listen", "127.0.0.1:19464", NULL };
	char cmd[256], out[128];
	struct received r;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, 50), 60000));
	EXPECT_EQ(50, wait_received(self, 50, 60000, &r));
	free(r.seen);
	usleep(300000);
	snprintf(out, sizeof(out), "%s/metrics", self->dir);
	snprintf(cmd, sizeof(cmd), "curl -sf http://127.0.0.1:19464/metrics > %s", out);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(1, count_lines(out, "spanagent_spans_exported_total 50"));
	EXPECT_EQ(1, count_lines(out, "spanagent_spans_drained_total 50"));
	EXPECT_EQ(1, count_lines(out, "spanagent_spans_lost_total 0"));
	EXPECT_EQ(1, count_lines(out, "# TYPE spanagent_exports_inflight gauge"));
	EXPECT_LE(1, count_lines(out, "spanagent_ring_fill_bytes{cpu=\"0\"} 0"));
	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:19464/other > %s", out);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(1, count_lines(out, "404"));
}

/* A partial success: the rejected spans are counted and logged. */
TEST_F_TIMEOUT(agent, a_partial_success_is_counted_and_logged, 300)
{
	enum { N = 100 };
	char line[1024];
	int i;

	ASSERT_EQ(0, start_receiver(self, "200:partial=7"));
	ASSERT_LT(0, start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, N), 60000));
	for (i = 0; i < 600 && !count_lines(self->agent_log, "partial success"); i++)
		usleep(100000);
	EXPECT_EQ(1, count_lines(self->agent_log,
				 "partial success: the backend rejected 7 of 100 spans: test rejected 7"));
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	ASSERT_TRUE(find_line(self->agent_log, " partial_rejected ", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "exported 93 "));
	EXPECT_NE(NULL, strstr(line, "partial_rejected 7 "));
	EXPECT_EQ(N - 7, count_lines(self->spans, NULL));
}

/* TLS: the configured CA is trusted; without it the agent retries and says why. */
TEST_F_TIMEOUT(agent, tls_with_the_configured_certificate, 300)
{
	char cmd[512];
	const char *flags[] = { "--certificate", self->tls_cert, NULL };
	struct received r;
	pid_t first;

	snprintf(self->tls_key, sizeof(self->tls_key), "%s/key.pem", self->dir);
	snprintf(self->tls_cert, sizeof(self->tls_cert), "%s/cert.pem", self->dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
		 self->tls_key, self->tls_cert);
	ASSERT_EQ(0, system(cmd));
	self->scheme = "https";
	ASSERT_EQ(0, start_receiver(self, NULL));
	/* Without the CA: refused by libcurl's verification, retried. */
	ASSERT_LT(0, first = start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(0, wait_exit(produce(0, 20), 60000));
	for (int i = 0; i < 300 && !count_lines(self->agent_log, "SSL"); i++)
		usleep(100000);
	EXPECT_LE(1, count_lines(self->agent_log, "will retry"));
	EXPECT_EQ(0, count_lines(self->spans, NULL));
	/* A second SIGTERM ends a stop that waits for acks, at once. */
	kill(first, SIGTERM);
	usleep(300000);
	kill(first, SIGTERM);
	EXPECT_EQ(1, wait_exit(first, 10000));
	EXPECT_EQ(1, count_lines(self->agent_log, "second signal: exiting now"));
	/* With it: delivered, the 20 spans left in the rings included. */
	ASSERT_LT(0, start_agent(self, flags));
	ASSERT_TRUE(agent_started(self));
	EXPECT_EQ(20, wait_received(self, 20, 60000, &r));
	EXPECT_EQ(0, r.dup);
	free(r.seen);
}

/* SIGHUP reopens the log (logrotate moved it away). */
TEST_F_TIMEOUT(agent, sighup_reopens_the_log, 300)
{
	char log[128], rotated[160];
	const char *flags[] = { "--log", log, NULL };
	int i;

	snprintf(log, sizeof(log), "%s/own.log", self->dir);
	snprintf(rotated, sizeof(rotated), "%s.1", log);
	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, start_agent(self, flags));
	for (i = 0; i < 600 && !count_lines(log, "started:"); i++)
		usleep(100000);
	ASSERT_EQ(1, count_lines(log, "started:"));
	ASSERT_EQ(0, rename(log, rotated));
	kill(self->agent, SIGHUP);
	usleep(300000);
	kill(self->agent, SIGUSR1);
	for (i = 0; i < 100 && !count_lines(log, " drained "); i++)
		usleep(100000);
	EXPECT_EQ(1, count_lines(log, " drained "));
	EXPECT_EQ(0, count_lines(rotated, " drained "));
}

/* Clear one-line errors: no module, a second consumer. */
TEST_F_TIMEOUT(agent, clear_errors_for_no_device_and_a_busy_consumer, 300)
{
	char line[512];
	pid_t first, second;

	ASSERT_EQ(0, start_receiver(self, NULL));
	ASSERT_LT(0, first = start_agent(self, NULL));
	ASSERT_TRUE(agent_started(self));
	second = start_agent(self, NULL);
	self->agent = first;
	EXPECT_EQ(4, wait_exit(second, 30000));
	EXPECT_TRUE(find_line(self->agent_log, "consumer already attached", line, sizeof(line)));
	kill(first, SIGTERM);
	EXPECT_EQ(0, wait_exit(first, 30000));
	ASSERT_EQ(0, module_unload("kspan"));
	second = start_agent(self, NULL);
	EXPECT_EQ(3, wait_exit(second, 30000));
	EXPECT_TRUE(find_line(self->agent_log, "no such device — is the kspan module loaded?",
			      line, sizeof(line)));
	self->agent = 0;
}

/* The console exporter prints trace trees; the file exporter OTLP/JSON lines. */
TEST_F_TIMEOUT(agent, console_trees_and_file_lines, 300)
{
	char bin[PATH_MAX], out[128], line[4096], cmd[PATH_MAX];
	char *argv[] = { bin, "--exporter", "console", "--schedule-delay", "100", NULL };
	uint8_t rec[512];
	struct kspan_builder b;
	struct kspan_span *s;
	int fd, i;
	long len;

	snprintf(bin, sizeof(bin), "%s/build/bin/spanagent", root);
	snprintf(out, sizeof(out), "%s/console.out", self->dir);
	self->agent = spawn(out, argv);
	usleep(300000);
	fd = kspan_open(O_WRONLY);
	ASSERT_LE(0, fd);
	/* GET /cart > db.query, cache.get */
	for (i = 0; i < 3; i++) {
		static const char *const names[] = { "GET /cart", "db.query", "cache.get" };

		kspan_build_begin(&b, rec, sizeof(rec), names[i], strlen(names[i]));
		s = kspan_build_span(&b);
		memset(s->trace_id, 0xab, 16);
		memset(s->span_id, i + 1, 8);
		if (i)
			memset(s->parent_span_id, 1, 8);
		s->start_time_ns = 1000000000ull + (uint64_t)i * 1000000;
		s->end_time_ns = s->start_time_ns + (i ? 2500000 : 12000000);
		s->kind = i ? KSPAN_KIND_CLIENT : KSPAN_KIND_SERVER;
		kspan_build_str(&b, "service.name", "cart");
		if (i == 1)
			kspan_build_int(&b, "db.rows", 3);
		len = kspan_build_end(&b);
		ASSERT_LT(0, len);
		ASSERT_EQ(0, submit(fd, rec));
	}
	close(fd);
	for (i = 0; i < 100 && count_lines(out, "cache.get") == 0; i++)
		usleep(100000);
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	EXPECT_TRUE(find_line(out, "trace abababababababababababababababab  cart", line, sizeof(line)));
	EXPECT_TRUE(find_line(out, "GET /cart  12.000 ms  server", line, sizeof(line)));
	EXPECT_TRUE(find_line(out, "  └─ db.query  2.500 ms  client  db.rows=3", line, sizeof(line)));
	EXPECT_TRUE(find_line(out, "  └─ cache.get  2.500 ms  client", line, sizeof(line)));

	/* The same through the file exporter, read back by the decoder. */
	snprintf(out, sizeof(out), "%s/file.out", self->dir);
	char *fargv[] = { bin, "--exporter", "file", "--output", out, "--schedule-delay", "100", NULL };

	self->agent = spawn(self->agent_log, fargv);
	usleep(300000);
	EXPECT_EQ(0, wait_exit(produce(0, 20), 60000));
	for (i = 0; i < 100 && count_lines(out, NULL) == 0; i++)
		usleep(100000);
	kill(self->agent, SIGTERM);
	EXPECT_EQ(0, wait_exit(self->agent, 60000));
	self->agent = 0;
	snprintf(cmd, sizeof(cmd), "head -1 %s > %s/line1 && node %s/tests/node/otlp_decode.js json %s/line1 > %s/decoded",
		 out, self->dir, root, self->dir, self->dir);
	EXPECT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s/decoded", self->dir);
	EXPECT_LE(1, count_lines(cmd, "name=\"op\""));
}

TEST_HARNESS_MAIN
