/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan: declarations shared between the module's files.
 */
#ifndef _KSPAN_KMOD_KSPAN_H
#define _KSPAN_KMOD_KSPAN_H

#include <uapi/linux/kspan.h>

#define KSPAN_MODULE_VERSION	"0.1.0"

int kspan_chrdev_register(void);
void kspan_chrdev_unregister(void);

#endif /* _KSPAN_KMOD_KSPAN_H */
