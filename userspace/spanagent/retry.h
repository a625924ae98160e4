/* SPDX-License-Identifier: GPL-2.0 */
/*
 * retry: what to do with an export's answer, per the OTLP/HTTP spec, and
 * when to try again.
 */
#ifndef SPANAGENT_RETRY_H
#define SPANAGENT_RETRY_H

#include <stdint.h>
#include <time.h>

enum export_outcome {
	OUTCOME_ACKED,		/* 2xx: settled */
	OUTCOME_RETRY,		/* 429, 502, 503, 504, no answer: try again */
	OUTCOME_REFUSED,	/* any other status: settled as refused */
};

/* @http_status 0 means no HTTP answer (connect failure, timeout, reset). */
enum export_outcome retry_classify(long http_status);

/* The longest Retry-After honoured, in seconds (an hour). */
#define RETRY_AFTER_MAX_S 3600

/*
 * Parses a Retry-After value, delta-seconds or an HTTP-date, against
 * @now. Returns 0 and the wait in *ms (a date in the past waits 0), or
 * -EINVAL.
 */
int retry_after_parse(const char *value, time_t now, uint32_t *ms);

/*
 * The backoff before retry number @attempt (0: the first retry): the
 * interval doubles from @initial_ms up to @max_ms, and the wait is drawn
 * uniformly from its upper half with @rnd, so that agents that failed
 * together do not retry together.
 */
uint32_t retry_backoff_ms(uint32_t initial_ms, uint32_t max_ms,
			  unsigned int attempt, uint32_t rnd);

#endif /* SPANAGENT_RETRY_H */
