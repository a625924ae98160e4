// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: drain the rings into batches, hand sealed batches to the
 * exporter, settle them, release the rings in order (ledger.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "kspan_record.h"
#include "log.h"
#include "metrics.h"

#define LOST_LOG_INTERVAL_MS 10000

uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int agent_watch(struct agent *a, struct watch *w, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(a->epfd, op, w->fd, &ev) ? -errno : 0;
}

uint32_t agent_inflight(const struct agent *a)
{
	uint32_t i, n = 0;

	for (i = 0; i < a->nbatches; i++)
		n += a->batches[i].state == BATCH_SENDING ||
		     a->batches[i].state == BATCH_BACKOFF;
	return n;
}

void agent_forget(struct agent *a, struct watch *w)
{
	/* libcurl says REMOVE before it closes the socket: the fd is ours. */
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	w->next_dead = a->graveyard;
	a->graveyard = w;
}

static void bury(struct agent *a)
{
	struct watch *w;

	while ((w = a->graveyard)) {
		a->graveyard = w->next_dead;
		free(w);
	}
}

/* A slot to fill: free, and all its records released. */
static struct batch *open_batch(struct agent *a)
{
	uint32_t i;

	if (a->filling)
		return a->filling;
	for (i = 0; i < a->nbatches; i++) {
		struct batch *b = &a->batches[i];

		if (b->state == BATCH_FREE && !ledger_batch_busy(&a->led, b->id)) {
			otlp_batch_clear(&b->bb);
			b->records = 0;
			b->spans = 0;
			b->attempt = 0;
			sbuf_reset(&b->body);
			b->state = BATCH_FILLING;
			a->filling = b;
			return b;
		}
	}
	return NULL;
}

static void release_settled(struct agent *a, struct batch *b)
{
	uint32_t i;
	int ret;

	b->state = BATCH_FREE;
	if (!ledger_settle(&a->led, b->id, a->relpos))
		return;
	for (i = 0; i < a->c.info.nr_rings; i++)
		if (a->c.rings[i].cons)
			__atomic_store_n(&a->c.rings[i].cons->consumer_pos, a->relpos[i],
					 __ATOMIC_RELEASE);
	ret = ioctl(a->c.fd, KSPAN_IOC_RELEASE, (unsigned long)KSPAN_RELEASE_ALL);
	if (ret)
		log_msg("release: %s", strerror(errno));
}

/* Every loss is visible, at most one line per interval. */
static void log_lost(struct agent *a, uint64_t now)
{
	if (!a->lost_unlogged || now - a->lost_logged_ms < LOST_LOG_INTERVAL_MS)
		return;
	log_msg("the module dropped %" PRIu64 " spans (ring full or busy; %" PRIu64
		" since start): see kspanctl stats", a->lost_unlogged, a->st.lost);
	a->lost_unlogged = 0;
	a->lost_logged_ms = now;
}

static void note_lost(struct agent *a, const struct kspan_lost *l)
{
	a->st.lost += l->count;
	a->lost_unlogged += l->count;
	log_lost(a, agent_now_ms());
}

/* Takes one record of ring @i into @b; false when the batch is full. */
static bool take(struct agent *a, struct batch *b, uint32_t i,
		 const struct kspan_record_header *hdr)
{
	struct kspan_span_view v;

	if (hdr->type == KSPAN_RECORD_SPAN) {
		if (kspan_span_parse(hdr, hdr->len, &v) == 0) {
			otlp_batch_add(&b->bb, &v);
			a->st.drained++;
			/* Read by the previous agent, maybe exported already. */
			if (a->c.rings[i].read_pos <= a->c.rings[i].reread_end)
				a->st.reread++;
		} else {
			a->st.malformed++;
		}
	} else if (hdr->type == KSPAN_RECORD_LOST && hdr->len >= sizeof(*hdr) + sizeof(struct kspan_lost)) {
		note_lost(a, (const struct kspan_lost *)(hdr + 1));
	} else {
		a->st.malformed++;
	}
	if (!b->records++)
		b->opened_ms = agent_now_ms();
	ledger_read(&a->led, i, b->id, a->c.rings[i].read_pos);
	return !otlp_batch_full(&b->bb);
}

/* Whether ring @i may be read further (at shutdown: only what was there). */
static bool may_read(const struct agent *a, uint32_t i)
{
	return !a->stopping || a->c.rings[i].read_pos < a->stop_at[i];
}

/* Reads records into the filling batch until it is full or the rings are empty. */
static void drain(struct agent *a)
{
	uint32_t n = a->c.info.nr_rings, k, i;
	const struct kspan_record_header *hdr;
	struct batch *b;

	for (k = 0; k < n; k++) {
		i = (a->next_ring + k) % n;
		if (!a->c.rings[i].cons)
			continue;
		while (may_read(a, i)) {
			b = open_batch(a);
			if (!b || otlp_batch_full(&b->bb))
				goto out;
			hdr = kspan_consumer_next(&a->c, i);
			if (!hdr)
				break;
			if (!take(a, b, i, hdr))
				goto out;
		}
	}
out:
	a->next_ring = (a->next_ring + 1) % n;
	/* Only a store each: keeps prev_read_pos right for the next agent. */
	for (i = 0; i < n; i++)
		kspan_consumer_mark_read(&a->c, i);
}

static void send_batch(struct agent *a, struct batch *b)
{
	b->state = BATCH_SENDING;
	if (!b->attempt)
		b->first_try_ms = agent_now_ms();
	a->st.exports++;
	a->exp->send(a, b);
}

/* Seals the filling batch: encodes it now, while its records are readable. */
static void seal(struct agent *a)
{
	struct batch *b = a->filling;

	a->filling = NULL;
	b->spans = b->bb.batch.nspans;
	if (!b->spans) {
		/* Only lost records: nothing to export, settled at once. */
		release_settled(a, b);
		return;
	}
	if (a->exp->prepare(a, b)) {
		log_msg("cannot encode a batch of %u spans: out of memory; retrying", b->spans);
		/* The records stay in the ring: read them again later. */
		b->state = BATCH_BACKOFF;
		b->due_ms = agent_now_ms() + a->cfg->retry_initial_ms;
		return;
	}
	send_batch(a, b);
}

/* Whether the filling batch should go now. */
static bool batch_due(const struct agent *a, uint64_t now)
{
	const struct batch *b = a->filling;

	if (!b || !b->records)
		return false;
	return otlp_batch_full(&b->bb) || a->stopping ||
	       now - b->opened_ms >= a->cfg->schedule_delay_ms;
}

void agent_export_done(struct agent *a, struct batch *b, long http_status,
		       uint32_t retry_after_ms, uint64_t rejected)
{
	uint64_t now = agent_now_ms();

	switch (retry_classify(http_status)) {
	case OUTCOME_ACKED:
		if (rejected > b->spans)
			rejected = b->spans;
		a->st.exported += b->spans - rejected;
		a->st.partial_rejected += rejected;
		release_settled(a, b);
		return;
	case OUTCOME_REFUSED:
		a->st.refused += b->spans;
		release_settled(a, b);
		return;
	case OUTCOME_RETRY:
		break;
	}
	if (a->cfg->retry_max_elapsed_ms &&
	    now - b->first_try_ms >= a->cfg->retry_max_elapsed_ms) {
		log_msg("giving up a batch of %u spans after %u ms of retries (--retry-max-elapsed)",
			b->spans, a->cfg->retry_max_elapsed_ms);
		a->st.expired += b->spans;
		release_settled(a, b);
		return;
	}
	a->st.retries++;
	b->state = BATCH_BACKOFF;
	b->due_ms = now + (retry_after_ms != UINT32_MAX ? retry_after_ms :
			   retry_backoff_ms(a->cfg->retry_initial_ms,
					    a->cfg->retry_max_interval_ms, b->attempt,
					    (uint32_t)random()));
	b->attempt++;
}

/*
 * Everything the loop does between two waits. Returns true when it stopped
 * with work left (a bound keeps signals and metrics from starving behind
 * exporters that finish at once, like the file and console ones).
 */
static bool pump(struct agent *a)
{
	unsigned int sealed = 0;
	uint64_t now;
	uint32_t i;

	for (;;) {
		drain(a);
		now = agent_now_ms();
		log_lost(a, now);
		for (i = 0; i < a->nbatches; i++) {
			struct batch *b = &a->batches[i];

			if (b->state == BATCH_BACKOFF && now >= b->due_ms) {
				if (b->body.len)
					send_batch(a, b);
				else if (!a->exp->prepare(a, b))
					send_batch(a, b);
				else
					b->due_ms = now + a->cfg->retry_initial_ms;
			}
		}
		if (!batch_due(a, now) || agent_inflight(a) >= a->cfg->max_inflight)
			return false;
		if (sealed++ == 2 * a->nbatches)
			return true;
		seal(a);
	}
}

/* The next time the loop must wake up without an event, or 0. */
static uint64_t next_deadline(const struct agent *a)
{
	uint64_t t = 0;
	uint32_t i;

#define EARLIER(x) do { if (!t || (x) < t) t = (x); } while (0)
	if (a->filling && a->filling->records && agent_inflight(a) < a->cfg->max_inflight)
		EARLIER(a->filling->opened_ms + a->cfg->schedule_delay_ms);
	for (i = 0; i < a->nbatches; i++)
		if (a->batches[i].state == BATCH_BACKOFF)
			EARLIER(a->batches[i].due_ms);
	if (a->stopping)
		EARLIER(a->stop_deadline_ms);
	if (a->lost_unlogged)
		EARLIER(a->lost_logged_ms + LOST_LOG_INTERVAL_MS);
	if (metrics_deadline((struct agent *)a))
		EARLIER(metrics_deadline((struct agent *)a));
#undef EARLIER
	return t;
}

static void arm_timer(struct agent *a, uint64_t at_ms)
{
	struct itimerspec its = { 0 };

	if (at_ms) {
		/* 0 would disarm: a deadline already passed fires at once. */
		its.it_value.tv_sec = (time_t)(at_ms / 1000);
		its.it_value.tv_nsec = (long)(at_ms % 1000) * 1000000 + 1;
	}
	timerfd_settime(a->timer_watch.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_timer(struct agent *a, struct watch *w, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_msg("timerfd: %s", strerror(errno));
	/* Its connection timeouts are among the deadlines the timer serves. */
	metrics_poll(a);
}

static void on_device(struct agent *a, struct watch *w, uint32_t events)
{
	(void)a;
	(void)w;
	if (events & (EPOLLERR | EPOLLHUP)) {
		log_msg("the kspan device reported an error; stopping");
		a->stop_now = true;
		a->exit_code = EXIT_RUNTIME;
	}
}

static void begin_stop(struct agent *a)
{
	uint32_t i;

	if (a->stopping) {
		log_msg("second signal: exiting now, unsettled spans stay in the rings");
		a->stop_now = true;
		a->exit_code = EXIT_RUNTIME;
		return;
	}
	a->stopping = true;
	a->stop_deadline_ms = agent_now_ms() + a->cfg->shutdown_timeout_ms;
	for (i = 0; i < a->c.info.nr_rings; i++)
		if (a->c.rings[i].cons)
			a->stop_at[i] = __atomic_load_n(&a->c.rings[i].prod->producer_pos,
							__ATOMIC_ACQUIRE);
	log_msg("stopping: exporting what the rings hold (up to %u ms)",
		a->cfg->shutdown_timeout_ms);
}

static void on_signal(struct agent *a, struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(a);
			break;
		case SIGHUP:
			if (log_reopen())
				log_msg("cannot reopen the log: %s", strerror(errno));
			if (a->exp->reopen && a->exp->reopen(a))
				log_msg("cannot reopen the output: %s", strerror(errno));
			break;
		case SIGUSR1:
			agent_log_stats(a);
			break;
		}
	}
}

void agent_log_stats(struct agent *a)
{
	uint64_t fill = 0, size = a->c.info.data_size * a->c.info.nr_rings;
	uint32_t i;

	for (i = 0; i < a->c.info.nr_rings; i++)
		if (a->c.rings[i].cons)
			fill += a->c.rings[i].prod->producer_pos - a->c.rings[i].prod->consumer_pos;
	log_msg("drained %" PRIu64 " exported %" PRIu64 " retried %" PRIu64 " refused %" PRIu64
		" partial_rejected %" PRIu64 " expired %" PRIu64 " reread %" PRIu64
		" lost %" PRIu64 " malformed %" PRIu64 " utf8_repairs %" PRIu64
		" inflight %u ring_fill %" PRIu64 "/%" PRIu64 " bytes",
		a->st.drained, a->st.exported, a->st.retries, a->st.refused,
		a->st.partial_rejected, a->st.expired, a->st.reread, a->st.lost,
		a->st.malformed, a->st.utf8_repairs, agent_inflight(a), fill, size);
}

/* Whether a stopping agent is done: everything there was read and settled. */
static bool stop_done(const struct agent *a)
{
	uint32_t i;

	if (a->filling && a->filling->records)
		return false;
	for (i = 0; i < a->nbatches; i++) {
		const struct batch *b = &a->batches[i];

		if (b->state == BATCH_FILLING ? b->records != 0 : b->state != BATCH_FREE)
			return false;
		if (ledger_batch_busy(&a->led, i))
			return false;
	}
	for (i = 0; i < a->c.info.nr_rings; i++)
		if (a->c.rings[i].cons && a->c.rings[i].read_pos < a->stop_at[i])
			return false;
	return true;
}

/*
 * Watch the device only while a batch can take records, and not while
 * stopping: records past the snapshot keep it readable, and the stopping
 * loop looks every few milliseconds anyway.
 */
static void set_device_interest(struct agent *a)
{
	bool want = !a->stopping && open_batch(a) != NULL &&
		    !otlp_batch_full(&a->filling->bb);

	if (want == a->dev_watched)
		return;
	if (agent_watch(a, &a->dev_watch, want ? EPOLLIN : 0, EPOLL_CTL_MOD) == 0)
		a->dev_watched = want;
}

int agent_run(struct agent *a)
{
	struct epoll_event ev[16];
	int n, i, timeout;
	bool more;

	for (;;) {
		more = pump(a);
		if (a->stop_now)
			break;
		if (a->stopping) {
			if (stop_done(a)) {
				log_msg("stopped: every span read was settled");
				a->exit_code = EXIT_OK;
				break;
			}
			if (agent_now_ms() >= a->stop_deadline_ms) {
				log_msg("shutdown timeout: %u exports unsettled; their spans stay in the rings for the next agent",
					agent_inflight(a));
				a->exit_code = EXIT_RUNTIME;
				break;
			}
		}
		set_device_interest(a);
		timeout = -1;
		/*
		 * Sleep on the device only after telling it how far we read,
		 * and looking again after a full barrier (see <linux/kspan.h>).
		 * A stopping agent reads only up to where the rings were: it
		 * looks again every few milliseconds until the deadline.
		 */
		if (more)
			timeout = 0;
		else if (a->stopping)
			timeout = 10;
		else if (a->dev_watched && !kspan_consumer_idle(&a->c))
			timeout = 0;
		arm_timer(a, next_deadline(a));
		n = epoll_wait(a->epfd, ev, 16, timeout);
		if (n < 0 && errno != EINTR) {
			log_msg("epoll_wait: %s", strerror(errno));
			a->exit_code = EXIT_RUNTIME;
			break;
		}
		for (i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			if (!w->dead)
				w->fn(a, w, ev[i].events);
		}
		bury(a);
	}
	agent_log_stats(a);
	return a->exit_code;
}

static int open_consumer(struct agent *a)
{
	int ret = kspan_consumer_open(&a->c);

	switch (ret) {
	case 0:
		return 0;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		fprintf(stderr, "spanagent: %s: no such device — is the kspan module loaded?\n",
			KSPAN_DEVICE_PATH);
		return EXIT_NO_DEVICE;
	case -EBUSY:
		fprintf(stderr, "spanagent: %s: consumer already attached (another spanagent?)\n",
			KSPAN_DEVICE_PATH);
		return EXIT_BUSY;
	case -EPROTO:
		fprintf(stderr, "spanagent: %s: the kspan module speaks another ABI (this agent needs %d.1 or later)\n",
			KSPAN_DEVICE_PATH, KSPAN_ABI_MAJOR);
		return EXIT_NO_DEVICE;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "spanagent: %s: permission denied — run as root or as a member of the module's consumer_gid\n",
			KSPAN_DEVICE_PATH);
		return EXIT_NO_DEVICE;
	default:
		fprintf(stderr, "spanagent: %s: %s\n", KSPAN_DEVICE_PATH, strerror(-ret));
		return EXIT_NO_DEVICE;
	}
}

static int setup_fds(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	/* A backend that closes the connection must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->sig_watch = (struct watch){ .fn = on_signal,
		.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC) };
	a->timer_watch = (struct watch){ .fn = on_timer,
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
	a->dev_watch = (struct watch){ .fn = on_device, .fd = a->c.fd };
	if (a->epfd < 0 || a->sig_watch.fd < 0 || a->timer_watch.fd < 0)
		return -errno;
	if (agent_watch(a, &a->sig_watch, EPOLLIN, EPOLL_CTL_ADD) ||
	    agent_watch(a, &a->timer_watch, EPOLLIN, EPOLL_CTL_ADD) ||
	    agent_watch(a, &a->dev_watch, EPOLLIN, EPOLL_CTL_ADD))
		return -errno;
	a->dev_watched = true;
	return 0;
}

int agent_init(struct agent *a, const struct config *cfg)
{
	uint64_t *released;
	uint32_t i, nr;
	size_t k;
	int ret;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->epfd = -1;
	a->c.fd = -1;
	switch (cfg->exporter) {
	case EXPORTER_OTLP:
		a->exp = &exporter_http_ops;
		break;
	case EXPORTER_FILE:
		a->exp = &exporter_file_ops;
		break;
	case EXPORTER_CONSOLE:
		a->exp = &exporter_console_ops;
		break;
	}
	ret = open_consumer(a);
	if (ret)
		return ret;
	nr = a->c.info.nr_rings;
	a->relpos = calloc(nr, sizeof(*a->relpos));
	a->stop_at = calloc(nr, sizeof(*a->stop_at));
	released = calloc(nr, sizeof(*released));
	/* One batch filling and max_inflight awaiting their answer. */
	a->nbatches = cfg->max_inflight + 1;
	a->batches = calloc(a->nbatches, sizeof(*a->batches));
	if (!a->relpos || !a->stop_at || !released || !a->batches)
		goto nomem;
	for (i = 0; i < nr; i++)
		if (a->c.rings[i].cons)
			released[i] = a->c.rings[i].read_pos;
	ret = ledger_init(&a->led, nr, a->nbatches, released);
	free(released);
	if (ret)
		goto nomem;
	for (i = 0; i < a->nbatches; i++) {
		a->batches[i].id = i;
		if (otlp_batch_init(&a->batches[i].bb, cfg->max_batch))
			goto nomem;
		a->batches[i].bb.service_default = cfg->service_name;
	}
	a->host_attrs[0] = (struct otlp_kv){ "host.name", cfg->host_name };
	for (k = 0; k < cfg->nresource; k++)
		a->host_attrs[k + 1] = cfg->resource[k];
	a->host = (struct otlp_host){ a->host_attrs, cfg->nresource + 1 };
	/* A host.name in OTEL_RESOURCE_ATTRIBUTES replaces the agent's own. */
	for (k = 0; k < cfg->nresource; k++) {
		if (!strcmp(cfg->resource[k].key, "host.name")) {
			a->host.attrs++;
			a->host.nattrs--;
			break;
		}
	}
	if (setup_fds(a)) {
		fprintf(stderr, "spanagent: cannot set up the event loop: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	ret = a->exp->init(a);
	if (ret) {
		fprintf(stderr, "spanagent: cannot set up the exporter: %s\n", strerror(-ret));
		return EXIT_RUNTIME;
	}
	if (cfg->metrics_listen) {
		ret = metrics_start(a, cfg->metrics_listen);
		if (ret) {
			fprintf(stderr, "spanagent: cannot serve metrics on %s: %s\n",
				cfg->metrics_listen, strerror(-ret));
			return EXIT_RUNTIME;
		}
	}
	srandom((unsigned int)(agent_now_ms() ^ (uint64_t)getpid()));
	return 0;
nomem:
	fprintf(stderr, "spanagent: out of memory\n");
	return EXIT_RUNTIME;
}

void agent_fini(struct agent *a)
{
	uint32_t i;

	metrics_stop(a);
	if (a->exp && a->exp->destroy)
		a->exp->destroy(a);
	for (i = 0; a->batches && i < a->nbatches; i++) {
		otlp_batch_free(&a->batches[i].bb);
		sbuf_free(&a->batches[i].body);
	}
	bury(a);
	free(a->batches);
	free(a->relpos);
	free(a->stop_at);
	ledger_free(&a->led);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->sig_watch.fd > 0)
		close(a->sig_watch.fd);
	if (a->timer_watch.fd > 0)
		close(a->timer_watch.fd);
	kspan_consumer_close(&a->c);
}
