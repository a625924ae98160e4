// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <curl/curl.h>

#include "retry.h"

enum export_outcome retry_classify(long http_status)
{
	if (http_status >= 200 && http_status < 300)
		return OUTCOME_ACKED;
	switch (http_status) {
	case 0:
	case 429:
	case 502:
	case 503:
	case 504:
		return OUTCOME_RETRY;
	default:
		return OUTCOME_REFUSED;
	}
}

int retry_after_parse(const char *value, time_t now, uint32_t *ms)
{
	const char *p = value;
	unsigned long long secs;
	char *end;
	time_t t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		errno = 0;
		secs = strtoull(p, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno || *end)
			return -EINVAL;
	} else {
		t = curl_getdate(p, NULL);
		if (t == (time_t)-1)
			return -EINVAL;
		secs = t > now ? (unsigned long long)(t - now) : 0;
	}
	if (secs > RETRY_AFTER_MAX_S)
		secs = RETRY_AFTER_MAX_S;
	*ms = (uint32_t)secs * 1000;
	return 0;
}

uint32_t retry_backoff_ms(uint32_t initial_ms, uint32_t max_ms,
			  unsigned int attempt, uint32_t rnd)
{
	uint64_t base = initial_ms;
	unsigned int i;

	for (i = 0; i < attempt && base < max_ms; i++)
		base *= 2;
	if (base > max_ms)
		base = max_ms;
	return (uint32_t)(base - base / 2 + rnd % (base / 2 + 1));
}
