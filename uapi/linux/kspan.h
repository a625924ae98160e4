/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kspan: the contract between the kspan kernel module, its producers and
 * its consumer (spanagent).
 *
 * Every structure here has a fixed layout on every architecture: explicit
 * sizes, natural alignment, explicit padding named __reserved*. Reserved
 * fields must be zero on input and are zero on output, so that a later ABI
 * minor version can give them a meaning. The layouts are pinned by
 * uapi/kspan_layout.h, which both the module and user space compile.
 */
#ifndef _UAPI_LINUX_KSPAN_H
#define _UAPI_LINUX_KSPAN_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define KSPAN_DEVICE_PATH	"/dev/kspan"

/*
 * ABI version: a consumer or producer built against major M works with any
 * module of major M and checks abi_minor for the features it needs.
 *
 * Minor 1: kspan_consumer_page.read_pos; kspan_stats.dropped_busy; a timed
 * wait interrupted by a signal fails with -EINTR (never restarted).
 * Minor 2: kspan_producer_page.prev_read_pos.
 * Minor 3: submission rings (KSPAN_IOC_SETUP_SUBMIT_RING, KSPAN_IOC_FLUSH).
 * Minor 4: kspan_submit_tail.active, the thread's current span for BPF.
 */
#define KSPAN_ABI_MAJOR		1
#define KSPAN_ABI_MINOR		4

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

/*
 * Records
 * =======
 *
 * One record format end to end: producers hand records to KSPAN_IOC_SUBMIT*,
 * the module stores them unchanged (but for the kernel-stamped identity) in
 * the per-CPU rings, the consumer reads them there. A record is a header,
 * a body chosen by the type, and padding to KSPAN_RECORD_ALIGN. Integers
 * are in the host's byte order: records never leave the host as such.
 */
#define KSPAN_RECORD_ALIGN	8
/* Default bound on a record's length (module parameter record_max). */
#define KSPAN_RECORD_MAX_DEFAULT 4096

/**
 * struct kspan_record_header - starts every record
 * @len: bytes of the record, this header included, before padding to
 *	KSPAN_RECORD_ALIGN
 * @type: enum kspan_record_type
 * @flags: KSPAN_RECORD_BUSY / KSPAN_RECORD_DISCARD; owned by the module:
 *	zero in what producers submit
 */
struct kspan_record_header {
	__u32 len;
	__u16 type;
	__u16 flags;
};

enum kspan_record_type {
	KSPAN_RECORD_SPAN = 1,	/* struct kspan_span + name + attributes */
	KSPAN_RECORD_LOST = 2,	/* struct kspan_lost */
};

/* Being written: the consumer stops here until the flag clears. */
#define KSPAN_RECORD_BUSY	0x0001
/* Committed but void: the consumer skips it. */
#define KSPAN_RECORD_DISCARD	0x0002

/**
 * struct kspan_identity - who submitted a span; written by the module,
 *	overwriting whatever the producer put there
 * @pid: thread group id in the initial pid namespace (0: kernel context)
 * @tid: thread id in the initial pid namespace (0: kernel context)
 * @uid: real uid in the initial user namespace
 * @cpu: CPU whose ring holds the record
 * @cgroup_id: id of the producer's cgroup v2 (0: none)
 * @submit_time_ns: CLOCK_REALTIME when the module took the record: the
 *	start of the submitting call, or the end of its last wait for space
 *	(one time for all the records a batch call takes at once)
 */
struct kspan_identity {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 cpu;
	__u64 cgroup_id;
	__u64 submit_time_ns;
};

/* OpenTelemetry SpanKind and StatusCode, with OTLP's numbering. */
enum kspan_span_kind {
	KSPAN_KIND_UNSPECIFIED = 0,
	KSPAN_KIND_INTERNAL = 1,
	KSPAN_KIND_SERVER = 2,
	KSPAN_KIND_CLIENT = 3,
	KSPAN_KIND_PRODUCER = 4,
	KSPAN_KIND_CONSUMER = 5,
};

enum kspan_status_code {
	KSPAN_STATUS_UNSET = 0,
	KSPAN_STATUS_OK = 1,
	KSPAN_STATUS_ERROR = 2,
};

/* W3C trace-context flag: the span was sampled. */
#define KSPAN_SPAN_SAMPLED	0x0001
#define KSPAN_SPAN_FLAGS_ALL	KSPAN_SPAN_SAMPLED

/**
 * struct kspan_span - body of a KSPAN_RECORD_SPAN record
 * @trace_id: W3C trace id, not all zero
 * @span_id: span id, not all zero
 * @parent_span_id: parent's span id; all zero for a root span
 * @start_time_ns: CLOCK_REALTIME
 * @end_time_ns: CLOCK_REALTIME, not before @start_time_ns
 * @kind: enum kspan_span_kind
 * @status: enum kspan_status_code
 * @flags: KSPAN_SPAN_* bits
 * @name_len: bytes of the name (UTF-8, no NUL), at least 1
 * @attr_count: number of attributes
 * @attrs_len: bytes of attributes after the name
 * @__reserved0: zero
 * @id: written by the module
 *
 * The name follows the body, then @attr_count attributes: each a struct
 * kspan_attr, its key, its value, back to back without padding.
 */
struct kspan_span {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u64 start_time_ns;
	__u64 end_time_ns;
	__u8 kind;
	__u8 status;
	__u16 flags;
	__u16 name_len;
	__u16 attr_count;
	__u32 attrs_len;
	__u32 __reserved0;
	struct kspan_identity id;
};

enum kspan_attr_type {
	KSPAN_ATTR_STRING = 1,	/* UTF-8, no NUL */
	KSPAN_ATTR_INT64 = 2,	/* __s64, 8 bytes, unaligned */
	KSPAN_ATTR_DOUBLE = 3,	/* IEEE 754 binary64, 8 bytes, unaligned */
	KSPAN_ATTR_BOOL = 4,	/* one byte, 0 or 1 */
	KSPAN_ATTR_BYTES = 5,	/* opaque */
};

/**
 * struct kspan_attr - one typed attribute, followed by key and value
 * @type: enum kspan_attr_type
 * @key_len: bytes of the key (UTF-8, no NUL), at least 1
 * @value_len: bytes of the value: 8 for INT64 and DOUBLE, 1 for BOOL
 */
struct kspan_attr {
	__u8 type;
	__u8 key_len;
	__u16 value_len;
};

/**
 * struct kspan_lost - body of a KSPAN_RECORD_LOST record: written by the
 *	module before the next record that fits after spans were dropped
 * @count: spans dropped on this ring since the previous lost record
 * @first_ns: CLOCK_REALTIME of the first of those drops
 * @last_ns: CLOCK_REALTIME of the last of those drops; both times are
 *	exact for drops in one context at a time, and may be off by the
 *	drops that race with the writing of this record (which are counted
 *	in the next one)
 * @cpu: the ring's CPU
 * @__reserved0: zero
 */
struct kspan_lost {
	__u64 count;
	__u64 first_ns;
	__u64 last_ns;
	__u32 cpu;
	__u32 __reserved0;
};

/*
 * Producers
 * =========
 */

/**
 * struct kspan_submit_batch - argument of KSPAN_IOC_SUBMIT_BATCH
 * @records: user address of @count records, back to back, each padded to
 *	KSPAN_RECORD_ALIGN
 * @len: bytes at @records
 * @count: records at @records
 * @accepted: out: how many records, from the first, were accepted
 * @__reserved0: zero
 * @__reserved: zero
 *
 * The ioctl returns @accepted when it is at least one, else -errno of the
 * first record. Records after a refused one are not looked at, so a retry
 * starts at records + the accepted ones' length.
 */
struct kspan_submit_batch {
	__u64 records;
	__u32 len;
	__u32 count;
	__u32 accepted;
	__u32 __reserved0;
	__u64 __reserved[2];
};

/* Per-fd policy for a full ring. */
enum kspan_full_policy {
	KSPAN_FULL_BLOCK = 0,	/* sleep until space is freed (default) */
	KSPAN_FULL_EAGAIN = 1,	/* fail with -EAGAIN, as O_NONBLOCK does */
	KSPAN_FULL_DROP = 2,	/* succeed, drop the span and count it */
};

/**
 * struct kspan_producer_opts - argument of KSPAN_IOC_SET_PRODUCER_OPTS
 * @policy: enum kspan_full_policy
 * @__reserved0: zero
 * @timeout_ns: KSPAN_FULL_BLOCK: fail with -ETIMEDOUT after waiting this
 *	long in all (the clock starts when the call does; CLOCK_MONOTONIC,
 *	never less, usually longer by about the thread's timer slack); 0
 *	waits without limit. A signal ends a timed wait with -EINTR: it is never restarted,
 *	so its timeout cannot start over. An untimed wait ended by a signal
 *	fails with -EINTR, or is restarted after a handler with SA_RESTART, a
 *	stop and continue, or the freezer; the restarted call offers its
 *	record again.
 * @__reserved: zero
 */
struct kspan_producer_opts {
	__u32 policy;
	__u32 __reserved0;
	__u64 timeout_ns;
	__u64 __reserved[2];
};

/*
 * Submission rings (ABI 1.3)
 * ==========================
 *
 * A producer file (opened for writing, never the consumer's) may set up
 * one submission ring, and then hand the module records without a system
 * call: it writes them into the ring's data and moves the ring's tail. The
 * module moves them into the per-CPU rings (1) on KSPAN_IOC_FLUSH, (2) from
 * a kernel worker every flush_interval_ms (module parameter), and at once
 * when the consumer frees space a move waited for, and (3) when the file
 * is released, also when its process was killed: what was written before
 * the tail moved is not lost. A ring that cannot be emptied at release is
 * kept until it can, within orphan_max bytes of such rings (module
 * parameter); past that, what cannot move is dropped and counted as
 * dropped_atomic, and the consumer sees a lost-records record. A file has
 * at most one submission ring, and a ring one writer: a thread (libkspan
 * gives each thread a file of its own).
 *
 * The ring is mapped at KSPAN_MMAP_SUBMIT_OFF of the file that set it up,
 * and only by the process that set it up:
 *
 *	+0		head page, struct kspan_submit_head, read-only: mapped
 *			alone, exactly one page, never writable
 *	+page_size	tail page, struct kspan_submit_tail, read-write
 *	+2*page_size	data, size bytes, read-write, mapped twice back to
 *			back, so a record that wraps is contiguous
 *
 * The tail page and the data may be mapped with one mmap. Mappings are not
 * inherited by fork() children, and never executable.
 *
 * The producer writes a record (the format of KSPAN_IOC_SUBMIT: header
 * flags zero, each record padded to KSPAN_RECORD_ALIGN) at offset
 * tail % size, then stores the new tail with release ordering. A record of
 * total (padded) length t fits when tail + t - head <= size, head loaded
 * with acquire ordering: the module has copied out every record before it.
 *
 * The ring is shared memory the module does not trust: it copies each
 * record out before it checks it. A record that is whole but invalid is
 * refused and counted (rejected); the module goes on past it. A tail that
 * is misaligned, behind head or more than size ahead of it, or a record
 * length that cannot be right (shorter than a span, longer than
 * record_max, past the tail) makes the ring corrupt: the module moves the
 * records before it, refuses that one (rejected), takes nothing more from
 * the ring, sets corrupt, and every later producer call on the file fails
 * with -EBADMSG (poll reports EPOLLERR).
 *
 * The module never waits for space in a per-CPU ring on the producer's
 * behalf, but in KSPAN_IOC_FLUSH with KSPAN_FLUSH_WAIT: records it cannot
 * move stay in the submission ring, which fills, and the producer feels the
 * backpressure there. poll reports EPOLLOUT while at least
 * min(record_max rounded up to KSPAN_RECORD_ALIGN, size) bytes are free.
 * Records moved are stamped with the identity of the thread that set the
 * ring up (and, as submit time, when they were moved), whoever wrote them:
 * a ring written by other threads is the application's own choice.
 */
#define KSPAN_SUBMIT_RING_MIN	4096U
#define KSPAN_SUBMIT_RING_MAX	(16U << 20)
#define KSPAN_MMAP_SUBMIT_OFF	0

/**
 * struct kspan_submit_setup - argument of KSPAN_IOC_SETUP_SUBMIT_RING
 * @size: bytes of data, a power of two from the larger of
 *	KSPAN_SUBMIT_RING_MIN and the page size to KSPAN_SUBMIT_RING_MAX
 * @flags: zero
 * @mmap_offset: out: where the head page is mapped (KSPAN_MMAP_SUBMIT_OFF)
 *
 * Fails with -EBADF on a file not opened for writing, -EBUSY on a file
 * that has a ring or is the consumer's (which may then not attach).
 * @page_size: out: the kernel's page size
 * @record_max: out: longest record accepted, in bytes
 * @__reserved0: zero
 * @__reserved: zero
 */
struct kspan_submit_setup {
	__u32 size;
	__u32 flags;
	__u64 mmap_offset;
	__u64 page_size;
	__u32 record_max;
	__u32 __reserved0;
	__u64 __reserved[2];
};

/**
 * struct kspan_submit_head - written by the module, read-only to the producer
 * @head: the module has copied out the records before it (acquire it
 *	before reusing their space)
 * @moved: records moved into the per-CPU rings
 * @rejected: records refused as invalid (and skipped)
 * @corrupt: 1 once the ring was found corrupt: nothing more is taken
 * @__reserved: zero
 */
struct kspan_submit_head {
	__u64 head;
	__u64 moved;
	__u64 rejected;
	__u64 corrupt;
	__u64 __reserved[4];
};

/* kspan_span_context.flags */
#define KSPAN_CONTEXT_ACTIVE	0x1	/* a span is current */
#define KSPAN_CONTEXT_SAMPLED	0x2	/* W3C sampled flag */

/*
 * kspan_bpf_current_span(out, out__sz, flags), flags: in an interrupt,
 * answer for the thread it interrupted (perf event sampling); without it,
 * interrupts get -ENOENT (their work is mostly done for other threads).
 */
#define KSPAN_CURRENT_SPAN_IN_IRQ	0x1ULL

/**
 * struct kspan_span_context - the span a thread is in now (ABI 1.4)
 * @seq: even while the rest is stable; the writer makes it odd, writes the
 *	rest, then makes it even again, each store with release ordering.
 *	A reader that sees it odd, or changed after it read, reads again.
 *	One writer: the thread itself (not from a signal handler that may
 *	interrupt a publication).
 * @flags: KSPAN_CONTEXT_*
 * @trace_id: the current span's trace id
 * @span_id: the current span's id
 */
struct kspan_span_context {
	__u32 seq;
	__u32 flags;
	__u8 trace_id[16];
	__u8 span_id[8];
};

/**
 * struct kspan_submit_tail - written by the producer
 * @tail: records before it are written (store it with release ordering)
 * @__reserved0: ignored by the module
 * @active: (ABI 1.4) the span the ring's thread is in now, for BPF
 *	programs that run on that thread (kspan_bpf_current_span()): their
 *	kernel spans become its children. Untrusted, like everything here.
 */
struct kspan_submit_tail {
	__u64 tail;
	__u64 __reserved0[7];
	struct kspan_span_context active;
};

/* KSPAN_IOC_FLUSH: wait until everything the ring held has moved. */
#define KSPAN_FLUSH_WAIT	0x1U

/*
 * Consumer
 * ========
 *
 * One consumer at a time attaches with KSPAN_IOC_CONSUMER_ATTACH: a process
 * with CAP_SYS_ADMIN, or a member of the group the module parameter
 * consumer_gid names. The attachment ends when its file is closed, and the
 * rings keep their contents for the next consumer. A file opened read-only
 * may attach and map the rings read-only (to watch, not to release).
 *
 * Ring i (0 <= i < nr_rings) belongs to CPU i and is mapped at mmap offset
 * i * KSPAN_MMAP_RING_STRIDE:
 *
 *	+0		consumer page, read-write, exactly one page
 *	+page_size	producer page, read-only
 *	+2*page_size	data, read-only, data_size bytes mapped twice back to
 *			back, so a record that wraps is contiguous
 *
 * The producer page and the data may be mapped with one mmap; no ring
 * mapping is ever executable. The consumer reads producer_pos with acquire
 * ordering, then each record's flags with acquire ordering; it stops at a
 * busy record. It stores how far it has read in read_pos, and, once records
 * are dealt with for good (e.g. acknowledged by a backend), the new
 * consumer_pos (release), and tells the module with KSPAN_IOC_RELEASE or
 * poll. The module trusts neither value: it only moves its own view of
 * consumer_pos forward, record by record, up to the first busy record, and
 * uses read_pos only when it lies between that view and producer_pos.
 *
 * poll/epoll report EPOLLIN when, on some ring, a committed record starts at
 * the reader's position (the larger of read_pos and consumer_pos) and
 * either at least "watermark" bytes (module parameter) lie between that
 * position and producer_pos, or data has waited there for "flush_interval_ms"
 * (module parameter). A consumer that has read everything but released
 * nothing sleeps until new records arrive.
 *
 * Going to sleep without missing a record: producers wake the consumer only
 * when its read position is at (or inside) what they just committed, as
 * they see it after a full barrier. So a consumer about to wait stores
 * read_pos (and consumer_pos), issues a full memory barrier, and looks once
 * more for a committed record at its read position on every ring; it waits
 * only when there is none. poll(2), and level-triggered epoll when it calls
 * the device's poll again, make that check in the kernel (and apply
 * consumer_pos); a consumer that waits in an edge-triggered epoll, or in an
 * epoll_wait that will not call poll again (after one that timed out), must
 * make it itself. A consumer_pos takes effect, and frees space for blocked
 * producers, on the next KSPAN_IOC_RELEASE or poll.
 */
#define KSPAN_MMAP_RING_STRIDE	_BITULL(32)

/**
 * struct kspan_consumer_page - written by the consumer
 * @consumer_pos: records before it are released: their space may be reused
 * @read_pos: records before it have been read (ABI 1.1); 0, or any value
 *	at or behind consumer_pos, means "read up to consumer_pos". The module
 *	sets it to 0 when a consumer attaches.
 */
struct kspan_consumer_page {
	__u64 consumer_pos;
	__u64 read_pos;
};

/**
 * struct kspan_producer_page - read-only ring state for the consumer
 * @producer_pos: bytes reserved since the module was loaded; records
 *	before it are committed or busy
 * @consumer_pos: the module's own view of the consumer position
 * @lost: spans dropped on this ring, every reason (the sum of the
 *	ring's dropped_* counters)
 * @prev_read_pos: (ABI 1.2) set at attach: how far the previous consumer
 *	had read, as it reported in read_pos and the module walked it; records
 *	between consumer_pos (at attach) and it were read but never released,
 *	so a consumer that forwards records may have forwarded them already
 *	(duplicates). A lower bound: a consumer that never stored read_pos
 *	reports nothing. Equal to consumer_pos at attach when there are none.
 */
struct kspan_producer_page {
	__u64 producer_pos;
	__u64 consumer_pos;
	__u64 lost;
	__u64 prev_read_pos;
};

/**
 * struct kspan_ring_info - answer of KSPAN_IOC_RING_INFO
 * @nr_rings: rings, one per possible CPU id (nr_cpu_ids)
 * @record_max: longest record accepted, in bytes
 * @data_size: bytes of data per ring, a power of two
 * @page_size: the kernel's page size
 * @consumer_off: offset of the consumer page inside a ring's region
 * @producer_off: offset of the producer page inside a ring's region
 * @data_off: offset of the data inside a ring's region
 * @__reserved: zero
 */
struct kspan_ring_info {
	__u32 nr_rings;
	__u32 record_max;
	__u64 data_size;
	__u64 page_size;
	__u64 consumer_off;
	__u64 producer_off;
	__u64 data_off;
	__u64 __reserved[2];
};

/* KSPAN_IOC_RELEASE: every ring, or the one named. */
#define KSPAN_RELEASE_ALL	0xffffffffU

/*
 * Accounting
 * ==========
 */

/**
 * struct kspan_stats - counters of one ring, or summed over all
 *
 * Every record a producer offers reaches exactly one outcome, counted on
 * the ring where it happened (the ring written, or found full, or, for a
 * refused record, the ring of the CPU that refused it), together with
 * @submitted on that same ring. So, per ring and in total, once producers
 * are quiet:
 *
 *	submitted = committed + rejected + dropped_atomic + dropped_policy +
 *		    dropped_busy + full_eagain + full_timeout + interrupted
 *
 * and, once the consumer has released everything, committed = consumed and
 * bytes_committed = bytes_consumed. Counters are read without stopping
 * producers or the consumer: while they run, a snapshot may catch one
 * counter of a pair updated and not yet the other.
 *
 * @submitted: records offered by producers, once per offer: a record
 *	refused (e.g. -EAGAIN) and offered again counts again. Records of a
 *	batch after the one that stopped it are not offered.
 * @committed: span records written into the ring
 * @consumed: span records the consumer released
 * @rejected: records refused as invalid (-EINVAL, -EMSGSIZE), unreadable
 *	(-EFAULT), or for want of kernel memory to copy them into (-ENOMEM)
 * @dropped_atomic: spans dropped on a full ring by callers that cannot
 *	sleep (in-kernel API, BPF), and by the release of a submission ring
 *	that could not be kept (orphan_max)
 * @dropped_policy: spans dropped on a full ring by KSPAN_FULL_DROP files
 * @full_eagain: records refused with -EAGAIN on a full ring
 * @full_timeout: records refused with -ETIMEDOUT: the file's timeout ran
 *	out (or had run out when the ring was found full again)
 * @interrupted: records not taken because a signal ended their wait (the
 *	call failed with -EINTR, or is restarted and offers them again)
 * @blocked: times a producer went to sleep on a full ring (a wait whose
 *	condition holds at once does not count)
 * @wakeups: times freed space woke the ring's waiters
 * @lost_records: KSPAN_RECORD_LOST records written
 * @bytes_committed: bytes of the span records committed, padding included
 * @bytes_consumed: bytes of the span records released, padding included
 * @bad_consumer_pos: values of consumer_pos or read_pos that the module
 *	ignored (consumer_pos behind its view; either past producer_pos or
 *	misaligned); a value is counted once however often the module meets
 *	it in a row
 * @dropped_busy: spans dropped because this CPU was already writing the
 *	ring (an NMI, or a BPF program, re-entered the writer), or BPF
 *	programs nested deeper than four levels on one CPU
 * @__reserved: zero
 */
struct kspan_stats {
	__u64 submitted;
	__u64 committed;
	__u64 consumed;
	__u64 rejected;
	__u64 dropped_atomic;
	__u64 dropped_policy;
	__u64 full_eagain;
	__u64 full_timeout;
	__u64 interrupted;
	__u64 blocked;
	__u64 wakeups;
	__u64 lost_records;
	__u64 bytes_committed;
	__u64 bytes_consumed;
	__u64 bad_consumer_pos;
	__u64 dropped_busy;
	__u64 __reserved[4];
};

#define KSPAN_STATS_ALL		0xffffffffU

/**
 * struct kspan_stats_query - argument of KSPAN_IOC_STATS
 * @ring: a ring index, or KSPAN_STATS_ALL for the sum
 * @__reserved0: zero
 * @stats: out
 */
struct kspan_stats_query {
	__u32 ring;
	__u32 __reserved0;
	struct kspan_stats stats;
};

/*
 * ioctls. Magic 0xD5 is unused in
 * Documentation/userspace-api/ioctl/ioctl-number.rst.
 */
#define KSPAN_IOC_MAGIC		0xD5

#define KSPAN_IOC_VERSION	_IOR(KSPAN_IOC_MAGIC, 0x00, struct kspan_version)
/* Argument: one record; the size names its header. */
#define KSPAN_IOC_SUBMIT	_IOW(KSPAN_IOC_MAGIC, 0x01, struct kspan_record_header)
#define KSPAN_IOC_SUBMIT_BATCH	_IOWR(KSPAN_IOC_MAGIC, 0x02, struct kspan_submit_batch)
#define KSPAN_IOC_SET_PRODUCER_OPTS _IOW(KSPAN_IOC_MAGIC, 0x03, struct kspan_producer_opts)
#define KSPAN_IOC_SETUP_SUBMIT_RING _IOWR(KSPAN_IOC_MAGIC, 0x04, struct kspan_submit_setup)
/*
 * Argument: KSPAN_FLUSH_* flags, by value. Moves what the submission ring
 * holds into the per-CPU rings. Returns 0 once everything it held when
 * the call started has moved; -EAGAIN when a per-CPU ring was full and
 * the call may not wait (no KSPAN_FLUSH_WAIT, O_NONBLOCK, or a policy
 * other than KSPAN_FULL_BLOCK); -ETIMEDOUT or -EINTR as a blocking submit
 * (struct kspan_producer_opts); -EBADMSG when the ring is corrupt;
 * -ENXIO when the file has no submission ring.
 */
#define KSPAN_IOC_FLUSH		_IO(KSPAN_IOC_MAGIC, 0x05)
#define KSPAN_IOC_CONSUMER_ATTACH _IO(KSPAN_IOC_MAGIC, 0x10)
#define KSPAN_IOC_RING_INFO	_IOR(KSPAN_IOC_MAGIC, 0x11, struct kspan_ring_info)
/* Argument: a ring index or KSPAN_RELEASE_ALL, by value. */
#define KSPAN_IOC_RELEASE	_IO(KSPAN_IOC_MAGIC, 0x12)
#define KSPAN_IOC_STATS		_IOWR(KSPAN_IOC_MAGIC, 0x20, struct kspan_stats_query)

/* The layouts above are pinned on both sides by ../kspan_layout.h. */

#endif /* _UAPI_LINUX_KSPAN_H */
