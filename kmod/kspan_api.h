/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan: the API for kernel code that produces spans. Records are laid out
 * as in <uapi/linux/kspan.h>; the identity fields are filled in by kspan.
 */
#ifndef _KSPAN_API_H
#define _KSPAN_API_H

#include <linux/types.h>

int kspan_submit(const void *rec, size_t len);

#endif /* _KSPAN_API_H */
