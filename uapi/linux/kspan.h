/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kspan: the contract between the kspan kernel module, its producers and
 * its consumer (spanagent).
 *
 * Every structure here has a fixed layout on every architecture: explicit
 * sizes, natural alignment, explicit padding named __reserved*. Reserved
 * fields must be zero on input and are zero on output, so that a later ABI
 * minor version can give them a meaning. The layouts are pinned by the
 * assertions at the end of this file, which both the module and user space
 * compile.
 */
#ifndef _UAPI_LINUX_KSPAN_H
#define _UAPI_LINUX_KSPAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KSPAN_DEVICE_PATH	"/dev/kspan"

/*
 * ABI version: a consumer or producer built against major M works with any
 * module of major M and checks abi_minor for the features it needs.
 */
#define KSPAN_ABI_MAJOR		1
#define KSPAN_ABI_MINOR		0

#define KSPAN_VERSION_LEN	32

/**
 * struct kspan_version - answer of KSPAN_IOC_VERSION
 * @abi_major: KSPAN_ABI_MAJOR of the running module
 * @abi_minor: KSPAN_ABI_MINOR of the running module
 * @__reserved0: zero
 * @module_version: the module's MODULE_VERSION, NUL-terminated
 * @__reserved: zero; room for feature bits
 */
struct kspan_version {
	__u16 abi_major;
	__u16 abi_minor;
	__u32 __reserved0;
	char module_version[KSPAN_VERSION_LEN];
	__u64 __reserved[4];
};

/* ioctl magic 0xD5 is unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define KSPAN_IOC_MAGIC		0xD5

#define KSPAN_IOC_VERSION	_IOR(KSPAN_IOC_MAGIC, 0x00, struct kspan_version)

/*
 * Layout pins. The module (gnu11) and user space (C11) both see these; C++
 * users get static_assert.
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define __KSPAN_ASSERT(expr) static_assert(expr, #expr)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define __KSPAN_ASSERT(expr) _Static_assert(expr, #expr)
#else
#define __KSPAN_ASSERT(expr)
#endif

__KSPAN_ASSERT(sizeof(struct kspan_version) == 72);
__KSPAN_ASSERT(__builtin_offsetof(struct kspan_version, module_version) == 8);
__KSPAN_ASSERT(__builtin_offsetof(struct kspan_version, __reserved) == 40);

#endif /* _UAPI_LINUX_KSPAN_H */
