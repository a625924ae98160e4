/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What spantrace's BPF programs (spantrace.bpf.c) and its loader
 * (spantrace.c) share: the counters and the syscall-name table.
 */
#ifndef SPANTRACE_H
#define SPANTRACE_H

/* Indices of the per-CPU counters map. */
enum spantrace_counter {
	ST_EVENTS,		/* events the programs looked at */
	ST_FILTERED,		/* left out by the pid, cgroup or span filter */
	ST_SPANS,		/* spans the module took */
	ST_DROPPED,		/* spans the module dropped (full or busy ring) */
	ST_REFUSED,		/* spans the module refused (a bug here) */
	ST_CHILDREN,		/* spans made children of an application span */
	ST_LOST_STATE,		/* a start not kept: its map was full */
	ST_NR_COUNTERS,
};

/* syscall_names: a syscall's name by number, filled by the loader. */
#define ST_NAME_MAX	24
#define ST_SYSCALLS_MAX	512

/* spantrace_name.flags: what a syscall's arguments and result mean. */
#define ST_FD_ARG0	0x1	/* its first argument is a file descriptor */
#define ST_BYTES_RET	0x2	/* it returns bytes transferred */

struct spantrace_name {
	__u16 len;
	__u16 flags;
	char name[ST_NAME_MAX];
};

#endif /* SPANTRACE_H */
