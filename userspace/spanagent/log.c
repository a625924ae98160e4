// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static FILE *log_file;
static const char *log_path;

int log_open(const char *path)
{
	log_path = path;
	return log_reopen();
}

int log_reopen(void)
{
	FILE *f;

	if (!log_path) {
		log_file = stderr;
		return 0;
	}
	f = fopen(log_path, "ae");
	if (!f)
		return -errno;
	if (log_file && log_file != stderr)
		fclose(log_file);
	setvbuf(f, NULL, _IOLBF, 0);
	log_file = f;
	return 0;
}

void log_msg(const char *fmt, ...)
{
	FILE *f = log_file ? log_file : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%03ldZ spanagent: ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}
