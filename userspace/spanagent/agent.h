/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agent: spanagent's one event loop. One thread and one epoll set: the
 * consumer fd (ring readiness), a signalfd, a timerfd for batch delays,
 * retry backoffs and the shutdown deadline, and libcurl's sockets and timer
 * (export_http.c). Nothing in it busy-waits: while it can take no more
 * records it stops watching the consumer fd, and it sleeps on the device
 * only after kspan_consumer_idle() said there is nothing to read.
 */
#ifndef SPANAGENT_AGENT_H
#define SPANAGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "kspan_consumer.h"
#include "ledger.h"
#include "otlp_batch.h"
#include "retry.h"
#include "sbuf.h"

enum batch_state {
	BATCH_FREE,		/* unused, or settled and awaiting release */
	BATCH_FILLING,		/* taking records */
	BATCH_SENDING,		/* an export attempt is running */
	BATCH_BACKOFF,		/* waiting to retry */
};

struct batch {
	uint32_t id;			/* slot index, the ledger's batch id */
	enum batch_state state;
	struct otlp_batch_builder bb;	/* spans, read in place */
	uint32_t records;		/* records of every type it holds */
	uint64_t opened_ms;		/* first record: the schedule delay runs */
	struct sbuf body;		/* the encoded request, kept for retries */
	uint32_t spans;			/* spans in @body */
	unsigned int attempt;
	uint64_t first_try_ms;
	uint64_t due_ms;		/* BACKOFF: when to try again */
	void *req;			/* the exporter's per-attempt state */
};

/* The agent's own counters (SIGUSR1, --metrics-listen). */
struct agent_stats {
	uint64_t drained;		/* span records read from the rings */
	uint64_t exported;		/* spans acknowledged by the backend */
	uint64_t partial_rejected;	/* spans a partial success refused */
	uint64_t refused;		/* spans of batches refused for good */
	uint64_t expired;		/* spans given up after --retry-max-elapsed */
	uint64_t retries;		/* export attempts retried */
	uint64_t lost;			/* spans the module dropped (lost records) */
	uint64_t reread;		/* records read again after a restart */
	uint64_t malformed;		/* records that did not parse */
	uint64_t utf8_repairs;		/* invalid UTF-8 sequences replaced */
	uint64_t exports;		/* export attempts */
	uint64_t export_bytes;		/* request bytes sent */
};

struct agent;

/*
 * An exporter turns a sealed batch into a request (prepare, while the
 * records can still be read) and sends it; it reports every attempt's end
 * with agent_export_done(), at once or later from the event loop.
 */
struct exporter_ops {
	int (*init)(struct agent *a);
	int (*prepare)(struct agent *a, struct batch *b);
	void (*send)(struct agent *a, struct batch *b);
	int (*reopen)(struct agent *a);		/* SIGHUP */
	void (*destroy)(struct agent *a);
};

/*
 * One epoll registration: what to call when its fd is ready. A watch
 * removed while events are being dispatched may still be named by a later
 * event of the same epoll_wait(): it is marked dead and freed after the
 * dispatch (agent_forget()).
 */
struct watch {
	void (*fn)(struct agent *a, struct watch *w, uint32_t events);
	int fd;
	bool dead;
	struct watch *next_dead;
};

struct agent {
	const struct config *cfg;
	struct kspan_consumer c;
	struct ledger led;
	struct batch *batches;
	uint32_t nbatches;
	struct batch *filling;
	uint32_t next_ring;		/* where the next drain starts */
	uint64_t *relpos;		/* per ring, scratch for the ledger */
	struct otlp_host host;
	struct otlp_kv host_attrs[CONFIG_MAX_RESOURCE_ATTRS + 1];

	int epfd;
	struct watch dev_watch, sig_watch, timer_watch;
	bool dev_watched;

	const struct exporter_ops *exp;
	void *exp_state;

	bool stopping;			/* first SIGTERM/SIGINT */
	bool stop_now;			/* second one, or a fatal error */
	int exit_code;
	uint64_t stop_deadline_ms;
	uint64_t *stop_at;		/* per ring: producer_pos at SIGTERM */

	void *metrics;			/* --metrics-listen */
	struct watch *graveyard;	/* dead watches, freed after dispatch */
	uint64_t lost_logged_ms;	/* rate limit of the lost-spans line */
	uint64_t lost_unlogged;
	struct agent_stats st;
};

uint64_t agent_now_ms(void);
uint32_t agent_inflight(const struct agent *a);
int agent_watch(struct agent *a, struct watch *w, uint32_t events, int op);
/* Takes a malloc'd watch out of the set; freed once no event can name it. */
void agent_forget(struct agent *a, struct watch *w);

/* Reports the end of an export attempt of @b. */
void agent_export_done(struct agent *a, struct batch *b, long http_status,
		       uint32_t retry_after_ms, uint64_t rejected);

int agent_init(struct agent *a, const struct config *cfg);
int agent_run(struct agent *a);
void agent_fini(struct agent *a);
void agent_log_stats(struct agent *a);

extern const struct exporter_ops exporter_http_ops;
extern const struct exporter_ops exporter_file_ops;
extern const struct exporter_ops exporter_console_ops;

#endif /* SPANAGENT_AGENT_H */
