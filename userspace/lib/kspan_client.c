// SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0
/*
 * kspan_client: opening the device and checking its ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kspan_client.h"

/* The uapi layouts, pinned here as in the module (kmod/main.c). */
#define KSPAN_ASSERT_LAYOUT(expr) _Static_assert(expr, #expr)
#include "kspan_layout.h"

int kspan_open(int flags)
{
	const char *path = getenv("KSPAN_DEVICE");
	int fd;

	if (!path || !*path)
		path = KSPAN_DEVICE_PATH;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kspan_get_version(int fd, struct kspan_version *ver)
{
	memset(ver, 0, sizeof(*ver));
	if (ioctl(fd, KSPAN_IOC_VERSION, ver) < 0)
		return -errno;
	return 0;
}

int kspan_abi_check(const struct kspan_version *ver, unsigned int min_minor)
{
	if (ver->abi_major != KSPAN_ABI_MAJOR)
		return -EPROTO;
	if (ver->abi_minor < min_minor)
		return -EPROTO;
	return 0;
}

int kspan_version_format(const struct kspan_version *ver, char *buf, size_t len)
{
	return snprintf(buf, len, "module %.*s, ABI %u.%u",
			(int)strnlen(ver->module_version, sizeof(ver->module_version)),
			ver->module_version, ver->abi_major, ver->abi_minor);
}

uint64_t kspan_stats_outcomes(const struct kspan_stats *st)
{
	return st->committed + st->rejected + st->dropped_atomic + st->dropped_policy +
	       st->dropped_busy + st->full_eagain + st->full_timeout + st->interrupted;
}
