/* SPDX-License-Identifier: GPL-2.0 */
/*
 * otlp_response: what a backend said. A 2xx answer may carry a partial
 * success (ExportTraceServiceResponse.partial_success: rejected_spans and
 * error_message); a refusal may carry a google.rpc.Status whose message
 * says why. Both are read from a bounded body, defensively: a backend's
 * answer is untrusted input.
 */
#ifndef SPANAGENT_OTLP_RESPONSE_H
#define SPANAGENT_OTLP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Fills *rejected and @msg (printable, NUL-terminated); 0 or -EINVAL. */
int otlp_partial_success(enum otlp_protocol proto, const uint8_t *body, size_t len,
			 uint64_t *rejected, char *msg, size_t cap);

/* A refusal's reason: Status.message, or the body as text, sanitized. */
void otlp_error_reason(const char *content_type, const uint8_t *body, size_t len,
		       char *msg, size_t cap);

#endif /* SPANAGENT_OTLP_RESPONSE_H */
