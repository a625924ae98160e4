// SPDX-License-Identifier: GPL-2.0
/* The probes of lttng_tp.h, linked into producer_bench itself. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"
