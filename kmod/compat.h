/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kspan: differences between the kernels kspan builds for (6.1 to 6.12).
 * Feature macros come from Kbuild, which looks for the interface in the
 * target kernel's headers rather than trusting its version number.
 */
#ifndef _KSPAN_COMPAT_H
#define _KSPAN_COMPAT_H

#include <linux/mm.h>

/* vm_flags became read-only behind vm_flags_*() in 6.3. */
static inline void kspan_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#ifdef KSPAN_HAVE_VM_FLAGS_CLEAR
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

static inline void kspan_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
#ifdef KSPAN_HAVE_VM_FLAGS_CLEAR
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* The devnode callbacks take a const device since 6.2. */
#ifdef KSPAN_HAVE_CONST_DEVNODE
#define KSPAN_DEVNODE_CONST const
#else
#define KSPAN_DEVNODE_CONST
#endif

#endif /* _KSPAN_COMPAT_H */
