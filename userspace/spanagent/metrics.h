/* SPDX-License-Identifier: GPL-2.0 */
/* metrics: the agent's counters for Prometheus (--metrics-listen). */
#ifndef SPANAGENT_METRICS_H
#define SPANAGENT_METRICS_H

#include <stdint.h>

struct agent;

int metrics_check_listen(const char *spec);	/* 0 or -EINVAL */
int metrics_start(struct agent *a, const char *spec);
uint64_t metrics_deadline(struct agent *a);	/* 0: none */
void metrics_poll(struct agent *a);
void metrics_stop(struct agent *a);

#endif /* SPANAGENT_METRICS_H */
