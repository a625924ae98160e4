// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_response.h"

/* Copies @n bytes as printable ASCII ('?' for the rest), NUL-terminated. */
static void sanitize(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t i;

	if (!cap)
		return;
	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[n] = 0;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

/* Skips a field of wire type @wt; false when the message is cut. */
static bool skip(const uint8_t **p, const uint8_t *end, unsigned int wt)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return get_varint(p, end, &v);
	case 1:
		if (end - *p < 8)
			return false;
		*p += 8;
		return true;
	case 2:
		if (!get_varint(p, end, &v) || v > (uint64_t)(end - *p))
			return false;
		*p += v;
		return true;
	case 5:
		if (end - *p < 4)
			return false;
		*p += 4;
		return true;
	default:
		return false;
	}
}

/*
 * Finds length-delimited field @field of the message [p, end); returns its
 * body in @body and @blen (a varint field: its value in @varint), or
 * false.
 */
static bool find_field(const uint8_t *p, const uint8_t *end, unsigned int field,
		       const uint8_t **body, size_t *blen, uint64_t *varint)
{
	uint64_t key, len;

	while (p < end) {
		if (!get_varint(&p, end, &key))
			return false;
		if ((key >> 3) == field && (key & 7) == 2) {
			if (!get_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return false;
			*body = p;
			*blen = (size_t)len;
			return true;
		}
		if ((key >> 3) == field && (key & 7) == 0 && varint)
			return get_varint(&p, end, varint);
		if (!skip(&p, end, (unsigned int)(key & 7)))
			return false;
	}
	return false;
}

/* The value of "key" in a flat JSON object text, as a string or number. */
static bool json_value(const char *text, size_t len, const char *key,
		       const char **val, size_t *vlen)
{
	size_t klen = strlen(key);
	const char *p = text, *end = text + len, *hit, *q;

	while ((hit = memmem(p, (size_t)(end - p), key, klen))) {
		p = hit + klen;
		if (hit == text || hit[-1] != '"' || p >= end || *p != '"')
			continue;
		q = p + 1;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q >= end || *q != ':')
			continue;
		q++;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q < end && *q == '"') {
			const char *s = ++q;

			while (q < end && *q != '"') {
				if (*q == '\\' && q + 1 < end)
					q++;
				q++;
			}
			*val = s;
			*vlen = (size_t)(q - s);
			return true;
		}
		*val = q;
		while (q < end && (isdigit((unsigned char)*q) || *q == '-'))
			q++;
		*vlen = (size_t)(q - *val);
		return *vlen > 0;
	}
	return false;
}

int otlp_partial_success(enum otlp_protocol proto, const uint8_t *body, size_t len,
			 uint64_t *rejected, char *msg, size_t cap)
{
	const uint8_t *ps, *m;
	size_t pslen, mlen;
	uint64_t r = 0;

	*rejected = 0;
	if (cap)
		msg[0] = 0;
	if (!len)
		return 0;
	if (proto == PROTOCOL_JSON) {
		const char *v;
		size_t vlen;
		char num[24];

		if (json_value((const char *)body, len, "rejectedSpans", &v, &vlen) &&
		    vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = 0;
			*rejected = strtoull(num, NULL, 10);
		}
		if (json_value((const char *)body, len, "errorMessage", &v, &vlen))
			sanitize(msg, cap, (const uint8_t *)v, vlen);
		return 0;
	}
	/* ExportTraceServiceResponse.partial_success = 1 */
	if (!find_field(body, body + len, 1, &ps, &pslen, NULL))
		return 0;
	/* ExportTracePartialSuccess: rejected_spans = 1, error_message = 2 */
	if (find_field(ps, ps + pslen, 1, &m, &mlen, &r))
		*rejected = r;
	if (find_field(ps, ps + pslen, 2, &m, &mlen, NULL))
		sanitize(msg, cap, m, mlen);
	return 0;
}

void otlp_error_reason(const char *content_type, const uint8_t *body, size_t len,
		       char *msg, size_t cap)
{
	const uint8_t *m;
	size_t mlen;

	/* google.rpc.Status.message = 2 */
	if (content_type && strstr(content_type, "protobuf") &&
	    find_field(body, body + len, 2, &m, &mlen, NULL)) {
		sanitize(msg, cap, m, mlen);
		return;
	}
	sanitize(msg, cap, body, len);
}
