// SPDX-License-Identifier: GPL-2.0
/*
 * spantrace: turns kernel work (system calls, block I/O, off-CPU time)
 * into spans, children of the application spans libkspan publishes, and
 * hands them to the kspan module through its kfunc. Loads the BPF
 * programs of spantrace.bpf.c (CO-RE, libbpf skeleton), runs until
 * SIGINT or SIGTERM, detaches, and prints its counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "spantrace.h"
#include "spantrace.skel.h"
#include "syscall_names.h"

#define SPANTRACE_VERSION "1.0.0"

struct options {
	bool syscalls, block, off_cpu;
	unsigned int tgid, tid;
	const char *cgroup;
	bool active_only;
	unsigned long long min_us;
	unsigned int duration_s;
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spantrace [options]\n"
		"Kernel work as spans, children of the application spans (libkspan)\n"
		"the threads are in, handed to the kspan module.\n"
		"\n"
		"Sources (all three when none is given):\n"
		"  -s, --syscalls        a span per system call\n"
		"  -b, --block           a span per block I/O request, issue to completion\n"
		"  -o, --off-cpu         a span per interval a thread did not run, and why\n"
		"Filters:\n"
		"  -p, --pid TGID        only this process (global pid)\n"
		"  -t, --tid TID         only this thread (global tid)\n"
		"  -c, --cgroup PATH     only this cgroup, not its children (v2 directory)\n"
		"  -a, --active-only     only threads in an application span\n"
		"  -m, --min-us N        only work that lasted N microseconds (default 100)\n"
		"Other:\n"
		"  -d, --duration S      stop after S seconds (default: at SIGINT/SIGTERM)\n"
		"  -v, --verbose         libbpf's messages\n"
		"  -V, --version\n"
		"  -h, --help\n"
		"\n"
		"Needs the kspan module, built with BTF (its kfuncs), and CAP_BPF with\n"
		"CAP_PERFMON (or root). SIGUSR1 prints the counters.\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || *s == '-' || *out > max ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "syscalls", no_argument, NULL, 's' },
		{ "block", no_argument, NULL, 'b' },
		{ "off-cpu", no_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "active-only", no_argument, NULL, 'a' },
		{ "min-us", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	*o = (struct options){ .min_us = 100 };
	while ((c = getopt_long(argc, argv, "sbop:t:c:am:d:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->syscalls = true; break;
		case 'b': o->block = true; break;
		case 'o': o->off_cpu = true; break;
		case 'a': o->active_only = true; break;
		case 'c': o->cgroup = optarg; break;
		case 'v': o->verbose = true; break;
		case 'p':
		case 't':
			if (parse_uint(optarg, INT_MAX, &v) || !v) {
				fprintf(stderr, "spantrace: -%c %s: not a process id\n", c, optarg);
				return -1;
			}
			*(c == 'p' ? &o->tgid : &o->tid) = (unsigned int)v;
			break;
		case 'm':
			if (parse_uint(optarg, ULLONG_MAX / 1000, &o->min_us)) {
				fprintf(stderr, "spantrace: --min-us %s: not a number of microseconds\n",
					optarg);
				return -1;
			}
			break;
		case 'd':
			if (parse_uint(optarg, UINT_MAX, &v) || !v) {
				fprintf(stderr, "spantrace: --duration %s: not a number of seconds\n",
					optarg);
				return -1;
			}
			o->duration_s = (unsigned int)v;
			break;
		case 'V':
			printf("spantrace %s\n", SPANTRACE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "spantrace: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->syscalls && !o->block && !o->off_cpu)
		o->syscalls = o->block = o->off_cpu = true;
	return 0;
}

#define CGROUP2_MAGIC 0x63677270	/* CGROUP2_SUPER_MAGIC */

/* A cgroup v2 directory's id, as bpf_get_current_cgroup_id() says it. */
static int cgroup_id(const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	struct statfs fs;
	int mount_id;

	if (statfs(path, &fs))
		return -errno;
	if (fs.f_type != CGROUP2_MAGIC)
		return -ENOTDIR;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

static __u64 clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/*
 * Programs stamp CLOCK_MONOTONIC; spans carry CLOCK_REALTIME. The offset
 * is read between two monotonic reads, and the narrowest of a few tries
 * kept: a preemption between the reads would shift every span by as much.
 */
static void update_clock(struct spantrace_bpf *skel)
{
	__u64 m1, m2, real, best_gap = UINT64_MAX, offset = 0;
	int i;

	for (i = 0; i < 8; i++) {
		m1 = clock_ns(CLOCK_MONOTONIC);
		real = clock_ns(CLOCK_REALTIME);
		m2 = clock_ns(CLOCK_MONOTONIC);
		if (m2 - m1 < best_gap) {
			best_gap = m2 - m1;
			offset = real - (m1 + (m2 - m1) / 2);
		}
	}
	__atomic_store_n(&skel->bss->realtime_offset_ns, offset, __ATOMIC_RELAXED);
}

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

/* The syscall table of this architecture's headers, into the programs' map. */
static int fill_syscall_names(struct spantrace_bpf *skel)
{
	static const char *const fd_first[] = {
		"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv",
		"pwritev", "preadv2", "pwritev2", "sendto", "recvfrom", "sendmsg",
		"recvmsg", "sendmmsg", "recvmmsg", "fsync", "fdatasync", "close",
		"ioctl", "fcntl", "lseek", "connect", "accept", "accept4", "fstat",
		"getdents64", "epoll_wait", "epoll_pwait", "epoll_pwait2", "flock",
		"ftruncate", "fallocate", "sync_file_range", "splice", "sendfile",
		"copy_file_range", "io_uring_enter", NULL,
	};
	static const char *const bytes_ret[] = {
		"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv",
		"pwritev", "preadv2", "pwritev2", "sendto", "recvfrom", "sendmsg",
		"recvmsg", "splice", "sendfile", "copy_file_range", "getdents64",
		"getrandom", NULL,
	};
	int fd = bpf_map__fd(skel->maps.syscall_names);
	struct spantrace_name v;
	__u32 nr;

	for (nr = 0; nr < sizeof(syscall_names) / sizeof(syscall_names[0]); nr++) {
		if (!syscall_names[nr] || nr >= ST_SYSCALLS_MAX)
			continue;
		memset(&v, 0, sizeof(v));
		v.len = (__u16)strnlen(syscall_names[nr], ST_NAME_MAX);
		memcpy(v.name, syscall_names[nr], v.len);
		v.flags = (in_list(syscall_names[nr], fd_first) ? ST_FD_ARG0 : 0) |
			  (in_list(syscall_names[nr], bytes_ret) ? ST_BYTES_RET : 0);
		if (bpf_map_update_elem(fd, &nr, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * Runs a program skipped because it was already running on the CPU (a
 * block completion in an interrupt above the same program): events lost.
 */
static unsigned long long recursion_misses(struct spantrace_bpf *skel)
{
	struct bpf_prog_info info;
	struct bpf_program *p;
	unsigned long long sum = 0;
	__u32 len;

	bpf_object__for_each_program(p, skel->obj) {
		if (bpf_program__fd(p) < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

static void print_counters(struct spantrace_bpf *skel, FILE *f)
{
	static const char *const names[ST_NR_COUNTERS] = {
		[ST_EVENTS] = "events", [ST_FILTERED] = "filtered", [ST_SPANS] = "spans",
		[ST_DROPPED] = "dropped", [ST_REFUSED] = "refused",
		[ST_CHILDREN] = "children", [ST_LOST_STATE] = "lost_state",
	};
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.counters), i;
	__u64 vals[ncpu > 0 ? ncpu : 1], sum;
	__u32 k;

	fprintf(f, "spantrace:");
	for (k = 0; k < ST_NR_COUNTERS; k++) {
		sum = 0;
		if (ncpu > 0 && !bpf_map_lookup_elem(fd, &k, vals))
			for (i = 0; i < ncpu; i++)
				sum += vals[i];
		fprintf(f, " %s %llu", names[k], (unsigned long long)sum);
	}
	fprintf(f, " recursion_misses %llu\n", recursion_misses(skel));
	fflush(f);
}

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The signals spantrace takes (blocked, then waited for). */
static void stop_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGHUP);
	sigaddset(sigs, SIGQUIT);
	sigaddset(sigs, SIGUSR1);
}

static int run(struct spantrace_bpf *skel, const struct options *o)
{
	struct timespec tick = { .tv_sec = 1 };
	__u64 stop = o->duration_s ? clock_ns(CLOCK_MONOTONIC) + o->duration_s * 1000000000ULL : 0;
	sigset_t sigs;
	int sig;

	stop_signals(&sigs);
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGUSR1)
			print_counters(skel, stdout);
		else if (sig > 0)
			return 0;
		update_clock(skel);
		if (stop && clock_ns(CLOCK_MONOTONIC) >= stop)
			return 0;
	}
}

/* The programs compare global ids: learn our own as they see it. */
static int learn_self(struct spantrace_bpf *skel)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.learn_self), &opts))
		return -errno;
	return skel->bss->self_tgid ? 0 : -ESRCH;
}

int main(int argc, char **argv)
{
	struct spantrace_bpf *skel;
	struct options o;
	sigset_t sigs;
	__u64 cg = 0;
	int ret;

	if (parse_args(argc, argv, &o))
		return 2;
	verbose = o.verbose;
	if (o.cgroup && (ret = cgroup_id(o.cgroup, &cg))) {
		fprintf(stderr, "spantrace: cgroup %s: %s\n", o.cgroup,
			ret == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-ret));
		return 1;
	}
	if (access("/sys/kernel/btf/kspan", R_OK)) {
		fprintf(stderr, "spantrace: the kspan module is not loaded, or was built "
			"without BTF: its kfuncs are missing (/sys/kernel/btf/kspan: %s)\n",
			strerror(errno));
		return 1;
	}
	/* Signals are taken by sigtimedwait() only; blocked before threads exist. */
	stop_signals(&sigs);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	libbpf_set_print(print_libbpf);
	skel = spantrace_bpf__open();
	if (!skel) {
		fprintf(stderr, "spantrace: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->targ_tgid = o.tgid;
	skel->rodata->targ_tid = o.tid;
	skel->rodata->targ_cgroup = cg;
	skel->rodata->active_only = o.active_only;
	skel->rodata->min_ns = o.min_us * 1000;
	bpf_program__set_autoload(skel->progs.sys_enter, o.syscalls);
	bpf_program__set_autoload(skel->progs.sys_exit, o.syscalls);
	bpf_program__set_autoload(skel->progs.block_insert, o.block);
	bpf_program__set_autoload(skel->progs.block_issue, o.block);
	bpf_program__set_autoload(skel->progs.block_complete, o.block);
	bpf_program__set_autoload(skel->progs.sched_switch, o.off_cpu);
	bpf_program__set_autoload(skel->progs.sched_exit, o.off_cpu || o.syscalls);
	ret = spantrace_bpf__load(skel);
	if (ret) {
		fprintf(stderr, "spantrace: the kernel refused the BPF programs: %s "
			"(-v shows the verifier's log)\n", strerror(-ret));
		goto out;
	}
	ret = fill_syscall_names(skel);
	if (!ret)
		ret = learn_self(skel);
	if (!ret) {
		update_clock(skel);
		ret = spantrace_bpf__attach(skel);
	}
	if (ret) {
		fprintf(stderr, "spantrace: cannot attach: %s\n", strerror(-ret));
		goto out;
	}
	fprintf(stderr, "spantrace: tracing%s%s%s, min %llu us%s\n",
		o.syscalls ? " syscalls" : "", o.block ? " block" : "",
		o.off_cpu ? " off-cpu" : "", o.min_us,
		o.active_only ? ", threads in application spans only" : "");
	ret = run(skel, &o);
	/* Detach first: the counters are final after. */
	spantrace_bpf__detach(skel);
	print_counters(skel, stdout);
out:
	spantrace_bpf__destroy(skel);
	return ret ? 1 : 0;
}
