// SPDX-License-Identifier: GPL-2.0
/*
 * spanagent: drain the kspan rings and export the spans over OTLP/HTTP, to
 * a file, or to the console. See spanagent(8).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct config cfg;
	struct agent a;
	sigset_t mask;
	int ret;

	/*
	 * From the start: a SIGTERM that comes while the agent attaches waits
	 * for the signalfd and stops it gracefully instead of killing it.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	ret = config_load(&cfg, argc, argv);
	if (ret) {
		config_free(&cfg);
		return ret == 1 ? EXIT_OK : ret;
	}
	if (log_open(cfg.log_path)) {
		fprintf(stderr, "spanagent: cannot open log %s: %m\n", cfg.log_path);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	ret = agent_init(&a, &cfg);
	if (!ret) {
		log_msg("started: exporter %s, %s, batches of %u, %u in flight",
			cfg.exporter == EXPORTER_OTLP ? "otlp" :
			cfg.exporter == EXPORTER_FILE ? "file" : "console",
			cfg.exporter == EXPORTER_OTLP ? cfg.endpoint : cfg.output,
			cfg.max_batch, cfg.max_inflight);
		ret = agent_run(&a);
	}
	agent_fini(&a);
	config_free(&cfg);
	return ret;
}
