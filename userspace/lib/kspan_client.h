/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0 */
/*
 * kspan_client: what every user-space part of kspan (tools, tests, the
 * agent) needs to talk to /dev/kspan.
 */
#ifndef KSPAN_CLIENT_H
#define KSPAN_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kspan.h>

/* Opens KSPAN_DEVICE_PATH (or $KSPAN_DEVICE) with O_CLOEXEC added to flags;
 * returns the fd or -errno.
 */
int kspan_open(int flags);

/* KSPAN_IOC_VERSION; returns 0 or -errno. */
int kspan_get_version(int fd, struct kspan_version *ver);

/* 0 when a module reporting ver speaks the ABI this program was built
 * against (same major) with at least the features of minor @min_minor
 * that the caller needs; -EPROTO otherwise.
 */
int kspan_abi_check(const struct kspan_version *ver, unsigned int min_minor);

/* "module 0.1.0, ABI 1.0" into buf (always NUL-terminated); the module's
 * string is bounded even when the kernel's copy lacks its NUL. Returns the
 * length snprintf would have written.
 */
int kspan_version_format(const struct kspan_version *ver, char *buf, size_t len);

/* The sum of @st's outcome counters: equal to st->submitted whenever no
 * submission is in flight (the invariant <linux/kspan.h> states).
 */
uint64_t kspan_stats_outcomes(const struct kspan_stats *st);

#endif /* KSPAN_CLIENT_H */
