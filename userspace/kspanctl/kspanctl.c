// SPDX-License-Identifier: GPL-2.0
/*
 * kspanctl: inspect a running kspan module.
 *
 *   kspanctl version   print the module's version and ABI, and whether this
 *                      program speaks it (exit 1 when it does not)
 *   kspanctl stats     print every ring's counters and their sum
 *                      (struct kspan_stats; any user may read them)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kspan_client.h"

static int usage(FILE *out)
{
	fprintf(out, "usage: kspanctl version | stats\n");
	return out == stdout ? 0 : 2;
}

static int cmd_version(void)
{
	struct kspan_version ver;
	char text[128];
	int fd, ret;

	fd = kspan_open(0);
	if (fd < 0) {
		fprintf(stderr, "kspanctl: cannot open %s: %s (is kspan.ko loaded?)\n",
			KSPAN_DEVICE_PATH, strerror(-fd));
		return 1;
	}
	ret = kspan_get_version(fd, &ver);
	close(fd);
	if (ret) {
		fprintf(stderr, "kspanctl: KSPAN_IOC_VERSION: %s\n", strerror(-ret));
		return 1;
	}
	kspan_version_format(&ver, text, sizeof(text));
	printf("%s\n", text);
	if (kspan_abi_check(&ver, 0)) {
		fprintf(stderr, "kspanctl: built for ABI %u.%u, incompatible with the module\n",
			KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR);
		return 1;
	}
	return 0;
}

static void print_stats(const char *who, const struct kspan_stats *st)
{
	printf("%-5s %12llu %12llu %12llu %9llu %8llu %8llu %8llu %9llu %9llu %9llu %9llu %9llu %9llu %14llu %14llu %6llu\n",
	       who, (unsigned long long)st->submitted, (unsigned long long)st->committed,
	       (unsigned long long)st->consumed, (unsigned long long)st->rejected,
	       (unsigned long long)st->dropped_atomic, (unsigned long long)st->dropped_policy,
	       (unsigned long long)st->dropped_busy, (unsigned long long)st->full_eagain,
	       (unsigned long long)st->full_timeout, (unsigned long long)st->interrupted,
	       (unsigned long long)st->blocked, (unsigned long long)st->wakeups,
	       (unsigned long long)st->lost_records, (unsigned long long)st->bytes_committed,
	       (unsigned long long)st->bytes_consumed, (unsigned long long)st->bad_consumer_pos);
}

/* The highest possible CPU id + 1: the module has a ring per possible CPU. */
static unsigned int possible_cpus(void)
{
	char buf[256] = "", *last;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	last = strrchr(buf, '-');
	if (!last)
		last = strrchr(buf, ',');
	return (unsigned int)strtoul(last ? last + 1 : buf, NULL, 10) + 1;
}

static int cmd_stats(void)
{
	struct kspan_stats_query q;
	unsigned int i, n = possible_cpus();
	char who[16];
	int fd = kspan_open(0);

	if (fd < 0) {
		fprintf(stderr, "kspanctl: cannot open %s: %s (is kspan.ko loaded?)\n",
			KSPAN_DEVICE_PATH, strerror(-fd));
		return 1;
	}
	printf("%-5s %12s %12s %12s %9s %8s %8s %8s %9s %9s %9s %9s %9s %9s %14s %14s %6s\n",
	       "ring", "submitted", "committed", "consumed", "rejected", "drop_atm", "drop_pol",
	       "drop_bsy", "eagain", "timeout", "interrupt", "blocked", "wakeups", "lost_recs",
	       "bytes_commit", "bytes_consum", "badpos");
	for (i = 0; i <= n; i++) {
		memset(&q, 0, sizeof(q));
		q.ring = i == n ? KSPAN_STATS_ALL : i;
		if (ioctl(fd, KSPAN_IOC_STATS, &q)) {
			/* No ring for an id that is not a possible CPU. */
			if (errno == EINVAL && i < n)
				continue;
			fprintf(stderr, "kspanctl: KSPAN_IOC_STATS: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
		snprintf(who, sizeof(who), "%u", i);
		print_stats(i == n ? "all" : who, &q.stats);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "version"))
		return cmd_version();
	if (argc == 2 && !strcmp(argv[1], "stats"))
		return cmd_stats();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	return usage(stderr);
}
