/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest suites: load and unload kspan.ko (and the test-only
 * modules) with the raw syscalls, so that the errno of a refused unload is
 * seen exactly. Module paths come from the environment that
 * tests/guest/run sets: KSPAN_KO and KSPAN_TEST_KMOD_DIR.
 */
#ifndef KSPAN_GUEST_UTIL_H
#define KSPAN_GUEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline const char *kspan_ko_path(void)
{
	const char *p = getenv("KSPAN_KO");

	return p && *p ? p : "kspan.ko";
}

/* finit_module(2); returns 0 or -errno. */
static inline int module_load(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* delete_module(2) without waiting; returns 0 or -errno. */
static inline int module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline int module_is_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return access(path, F_OK) == 0;
}

/* The contents of a one-line sysfs file without its newline, or "". */
static inline void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

#endif /* KSPAN_GUEST_UTIL_H */
