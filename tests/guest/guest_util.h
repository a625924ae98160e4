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

/*
 * @rel under the build directory the running suite comes from
 * (build/tests/guest/<suite>: three levels up); 0 or -errno.
 */
static inline int build_path(const char *rel, char *path, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int i;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	for (i = 0; i < 3; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
	}
	return snprintf(path, len, "%s/%s", exe, rel) < (int)len ? 0 : -ENAMETOOLONG;
}

/* Runs build/bin/@cmd (a command line) to its end, output discarded. */
static inline int run_build_bin(const char *cmd)
{
	char rel[PATH_MAX], line[PATH_MAX + 64];

	snprintf(rel, sizeof(rel), "bin/%s", cmd);
	if (build_path(rel, line, sizeof(line) - 16))
		return -1;
	strcat(line, " > /dev/null");
	return system(line);
}

#endif /* KSPAN_GUEST_UTIL_H */
