// SPDX-License-Identifier: GPL-2.0
/*
 * kspan_fuzz: an in-guest fuzzer of the module, run by scripts/fuzz with
 * kspan.ko loaded. Several worker processes, each with threads, issue
 * every ioctl with random and boundary arguments (pointers to unmapped,
 * read-only and kernel memory, lengths that change while the kernel copies
 * them), random and mutated records, random mmap offsets, lengths and
 * protections, mprotect/mremap/fork of mappings, garbage in the consumer
 * page and in submission rings; the parent kills and respawns workers,
 * tries to unload the module and takes a CPU offline and back. All of it
 * from one printed seed.
 *
 * One more process is an honest consumer (the drainer): it attaches when
 * it can, reads and releases everything, so that rings fill, wrap and
 * wake their blocked producers many times, and it checks what the module
 * committed: every record it reads must be well formed.
 *
 * The module must survive: the guest runner fails the run on any kernel
 * report; at the end every counter adds up, the drainer read no malformed
 * record, and the module unloads.
 *
 *   kspan_fuzz [--seed S] [--duration SECONDS] [--procs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kspan_client.h"
#include "kspan_consumer.h"
#include "kspan_record.h"

#define MAX_PROCS	16
#define THREADS		3
#define FDS		6
#define MAPS		8
#define REC_CAP		8192

static const unsigned long cmds[] = {
	KSPAN_IOC_VERSION, KSPAN_IOC_SUBMIT, KSPAN_IOC_SUBMIT_BATCH,
	KSPAN_IOC_SET_PRODUCER_OPTS, KSPAN_IOC_SETUP_SUBMIT_RING, KSPAN_IOC_FLUSH,
	KSPAN_IOC_CONSUMER_ATTACH, KSPAN_IOC_RING_INFO, KSPAN_IOC_RELEASE,
	KSPAN_IOC_STATS,
};
static const char *const cmd_names[] = {
	"VERSION", "SUBMIT", "SUBMIT_BATCH", "SET_PRODUCER_OPTS", "SETUP_SUBMIT_RING",
	"FLUSH", "CONSUMER_ATTACH", "RING_INFO", "RELEASE", "STATS", "unknown commands",
};
#define NCMDS		(sizeof(cmds) / sizeof(cmds[0]))
#define NERRNO		135	/* answers[][0] counts successes; larger errnos share the last */
_Static_assert(sizeof(cmd_names) / sizeof(cmd_names[0]) == NCMDS + 1, "a name per command");

/* Shared with the parent: operations done, by kind. */
struct shared {
	atomic_ulong ops;
	atomic_ulong ioctls, records, maps, rings, consumers, forks;
	/* The drainer's: records read and checked, lost-records among them. */
	atomic_ulong drained, drained_lost, malformed, resyncs;
	/* What the module answered to each command (unknown ones last). */
	atomic_ulong answers[NCMDS + 1][NERRNO];
};

static struct shared *shared;
static uint64_t deadline_ns;

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	/* splitmix64: reproducible from the seed, good enough to fuzz with. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? next(r) % n : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Memory a pointer argument may point at. */
struct targets {
	uint8_t *buf;		/* read-write, REC_CAP, then a guard page */
	uint8_t *ro;		/* read-only page */
	uint8_t *gone;		/* unmapped */
};

static void *pick_ptr(struct rng *r, const struct targets *t)
{
	switch (below(r, 8)) {
	case 0: return NULL;
	case 1: return t->ro;
	case 2: return t->gone;
	case 3: return (void *)0xffff888000000000ULL;	/* kernel memory */
	case 4: return t->buf + 1 + below(r, 7);		/* misaligned */
	case 5: return t->buf + REC_CAP - below(r, 64);	/* runs off the end */
	default: return t->buf;
	}
}

static void random_bytes(struct rng *r, void *p, size_t n)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)next(r);
}

static const char *const keys[] = { "k", "http.route", "\xff\xfe", "a.b.c.d.e" };

/* A span record, valid or nearly: random fields, then a few bytes flipped. */
static size_t random_record(struct rng *r, uint8_t *buf, size_t cap)
{
	struct kspan_builder b;
	struct kspan_span *s;
	char name[300];
	size_t nlen = 1 + below(r, below(r, 4) ? 40 : sizeof(name) - 1), i, n;
	int bad;
	long len;

	for (i = 0; i < nlen; i++)
		name[i] = (char)(below(r, 10) ? 'a' + below(r, 26) : next(r));
	if (kspan_build_begin(&b, buf, cap, name, nlen))
		return 0;
	s = kspan_build_span(&b);
	random_bytes(r, s, offsetof(struct kspan_span, kind));
	/* Mostly valid, so that rings fill, wrap and block; else anything. */
	bad = below(r, 4) == 0;
	if (!bad) {
		s->trace_id[0] |= 1;
		s->span_id[0] |= 1;
		s->end_time_ns = s->start_time_ns + below(r, 1000000);
	}
	s->kind = bad ? below(r, 8) : below(r, 6);
	s->status = bad ? below(r, 4) : below(r, 3);
	s->flags = bad ? (uint16_t)next(r) : below(r, 2);
	n = below(r, 8);
	for (i = 0; i < n; i++) {
		switch (below(r, 5)) {
		case 0: kspan_build_int(&b, keys[below(r, 4)], (int64_t)next(r)); break;
		case 1: kspan_build_double(&b, keys[below(r, 4)], (double)next(r) / 3.0); break;
		case 2: kspan_build_bool(&b, keys[below(r, 4)], below(r, 2)); break;
		case 3: kspan_build_bytes(&b, keys[below(r, 4)], name, below(r, nlen)); break;
		default: kspan_build_str(&b, keys[below(r, 4)], below(r, 2) ? "v" : "\xc3\x28"); break;
		}
	}
	len = kspan_build_end(&b);
	if (len <= 0)
		return 0;
	/* Mutations: bytes anywhere, header and lengths included. */
	n = bad ? 1 + below(r, 4) : 0;
	for (i = 0; i < n; i++)
		buf[below(r, (uint64_t)len)] = (uint8_t)next(r);
	return (size_t)len;
}

struct worker {
	struct rng r;
	struct targets t;
	int fds[FDS];
	void *maps[MAPS];
	size_t map_len[MAPS];
	pthread_mutex_t lock;		/* fds and maps */
};

static int pick_fd(struct worker *w)
{
	return w->fds[below(&w->r, FDS)];
}

/* Every ioctl of the workers, tallied by command and answer. */
static long fuzz_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long ret = ioctl(fd, cmd, arg);
	int err = ret < 0 ? errno : 0;
	size_t i;

	for (i = 0; i < NCMDS && cmds[i] != cmd; i++)
		;
	atomic_fetch_add(&shared->answers[i][err < NERRNO ? err : NERRNO - 1], 1);
	if (ret < 0)
		errno = err;
	return ret;
}

static void op_open_close(struct worker *w, struct rng *r)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY, O_RDWR | O_NONBLOCK };
	int i = below(r, FDS);

	if (w->fds[i] >= 0)
		close(w->fds[i]);
	w->fds[i] = open(KSPAN_DEVICE_PATH, modes[below(r, 4)] | O_CLOEXEC);
}

static void op_ioctl(struct worker *w, struct rng *r)
{
	unsigned long cmd = below(r, 16) ? cmds[below(r, NCMDS)]
					 : (unsigned long)next(r);
	unsigned long arg;

	if (below(r, 2))
		random_bytes(r, w->t.buf, 256);
	if (below(r, 8) == 0)
		arg = next(r);			/* a number, not a pointer */
	else
		arg = (unsigned long)pick_ptr(r, &w->t);
	if (cmd == KSPAN_IOC_STATS && below(r, 2)) {
		/* A well-formed query now and then: its success path too. */
		struct kspan_stats_query *q = (void *)w->t.buf;

		memset(q, 0, sizeof(*q));
		q->ring = below(r, 4) ? (uint32_t)below(r, 3) : KSPAN_STATS_ALL;
		arg = (unsigned long)q;
	}
	fuzz_ioctl(pick_fd(w), cmd, arg);
	atomic_fetch_add(&shared->ioctls, 1);
}

static void op_records(struct worker *w, struct rng *r)
{
	struct kspan_producer_opts opts = { 0 };
	struct kspan_submit_batch batch = { 0 };
	uint8_t *p = w->t.buf;
	size_t len, total = 0;
	int fd = pick_fd(w), n = 0;

	if (below(r, 4) == 0) {
		opts.policy = below(r, 5);
		opts.timeout_ns = below(r, 3) ? below(r, 2000000) : next(r);
		fuzz_ioctl(fd, KSPAN_IOC_SET_PRODUCER_OPTS, (unsigned long)&opts);
	}
	if (below(r, 2)) {
		if (random_record(r, p, REC_CAP))
			fuzz_ioctl(fd, KSPAN_IOC_SUBMIT, (unsigned long)p);
		atomic_fetch_add(&shared->records, 1);
		return;
	}
	while (n < 64 && total + 512 < REC_CAP) {
		len = random_record(r, p + total, 512);
		if (!len)
			break;
		total += kspan_record_total(len);
		n++;
	}
	batch.records = (uint64_t)(uintptr_t)p;
	batch.len = below(r, 8) ? total : (uint32_t)next(r);
	batch.count = below(r, 8) ? (uint32_t)n : (uint32_t)next(r);
	if (below(r, 16) == 0)
		batch.__reserved0 = 1;
	fuzz_ioctl(fd, KSPAN_IOC_SUBMIT_BATCH, (unsigned long)&batch);
	atomic_fetch_add(&shared->records, n);
}

static void op_mmap(struct worker *w, struct rng *r)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
				     PROT_READ | PROT_EXEC, PROT_NONE };
	long page = sysconf(_SC_PAGESIZE);
	int i = below(r, MAPS), fd = pick_fd(w);
	size_t len;
	off_t off;
	void *p;

	if (w->maps[i]) {
		switch (below(r, 4)) {
		case 0:
			mprotect(w->maps[i], w->map_len[i], prots[below(r, 5)]);
			return;
		case 1:
			p = mremap(w->maps[i], w->map_len[i], w->map_len[i] * 2, MREMAP_MAYMOVE);
			if (p != MAP_FAILED) {
				w->maps[i] = p;
				w->map_len[i] *= 2;
			}
			return;
		default:
			munmap(w->maps[i], w->map_len[i]);
			w->maps[i] = NULL;
			return;
		}
	}
	len = (size_t)page * (1 + below(r, below(r, 4) ? 4 : 600));
	switch (below(r, 4)) {
	case 0: off = 0; break;
	case 1: off = (off_t)page * below(r, 4); break;
	case 2: off = (off_t)(below(r, 8) << 32) + (off_t)page * below(r, 3); break;
	default: off = (off_t)next(r) & ~(off_t)(page - 1); break;
	}
	p = mmap(NULL, len, prots[below(r, 5)], below(r, 8) ? MAP_SHARED : MAP_PRIVATE, fd, off);
	if (p == MAP_FAILED)
		return;
	w->maps[i] = p;
	w->map_len[i] = len;
	atomic_fetch_add(&shared->maps, 1);
	/* Scribble where we may: the consumer page, a submission ring. */
	if (below(r, 2)) {
		size_t at = below(r, len / 8) * 8;

		if (!mprotect(p, len, PROT_READ | PROT_WRITE))
			*(volatile uint64_t *)((uint8_t *)p + at) = below(r, 2) ? next(r) : below(r, 1 << 20);
	}
}

static void op_submit_ring(struct worker *w, struct rng *r)
{
	struct kspan_submit_setup setup = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	int fd = pick_fd(w);
	uint8_t *m;
	size_t len;

	setup.size = below(r, 8) ? 4096u << below(r, 4) : (uint32_t)next(r);
	if (fuzz_ioctl(fd, KSPAN_IOC_SETUP_SUBMIT_RING, (unsigned long)&setup))
		return;
	atomic_fetch_add(&shared->rings, 1);
	len = (size_t)page + 2 * (size_t)setup.size;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
	if (m == MAP_FAILED)
		return;
	/* Records, good and bad, then a tail anywhere near them. */
	if (below(r, 2)) {
		size_t at = 0, rl;

		while (at + 600 < setup.size && below(r, 8)) {
			rl = random_record(r, m + page + at, 512);
			if (!rl)
				break;
			at += kspan_record_total(rl);
		}
		__atomic_store_n((uint64_t *)m, below(r, 8) ? at : next(r), __ATOMIC_RELEASE);
	} else {
		random_bytes(r, m, 64);
		random_bytes(r, m + page, below(r, 2048));
	}
	fuzz_ioctl(fd, KSPAN_IOC_FLUSH, below(r, 4) ? 0 : (unsigned long)below(r, 4));
	if (below(r, 2))
		munmap(m, len);
}

static void op_consumer(struct worker *w, struct rng *r)
{
	struct kspan_ring_info info;
	struct pollfd pfd;
	int fd = pick_fd(w);
	uint8_t *m;
	size_t len;

	if (fuzz_ioctl(fd, KSPAN_IOC_CONSUMER_ATTACH, 0))
		return;
	atomic_fetch_add(&shared->consumers, 1);
	if (fuzz_ioctl(fd, KSPAN_IOC_RING_INFO, (unsigned long)&info) == 0 && info.nr_rings) {
		unsigned int ring = below(r, info.nr_rings + 1);

		len = info.data_off + 2 * info.data_size;
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)ring * (off_t)KSPAN_MMAP_RING_STRIDE);
		if (m != MAP_FAILED) {
			volatile struct kspan_consumer_page *cp = (void *)(m + info.consumer_off);
			const volatile struct kspan_producer_page *pp = (void *)(m + info.producer_off);

			/* Everything, or garbage, or almost right. */
			switch (below(r, 3)) {
			case 0: cp->consumer_pos = pp->producer_pos; break;
			case 1: cp->consumer_pos = next(r); break;
			default: cp->consumer_pos = pp->producer_pos - below(r, 64); break;
			}
			cp->read_pos = below(r, 2) ? cp->consumer_pos : next(r);
			fuzz_ioctl(fd, KSPAN_IOC_RELEASE, below(r, 4) ? ring : (unsigned long)next(r));
			munmap(m, len);
		}
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	poll(&pfd, 1, (int)below(r, 3));
	fuzz_ioctl(fd, KSPAN_IOC_RELEASE, KSPAN_RELEASE_ALL);
	/* Detach by closing: the next consumer may attach. */
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < FDS; i++)
		if (w->fds[i] == fd) {
			close(fd);
			w->fds[i] = -1;
		}
	pthread_mutex_unlock(&w->lock);
}

static void op_fork(struct worker *w, struct rng *r)
{
	pid_t pid = fork();
	int i;

	if (!pid) {
		/* The child touches what it inherited, then dies at once. */
		for (i = 0; i < MAPS; i++)
			if (w->maps[i] && below(r, 2))
				(void)*(volatile uint8_t *)w->maps[i];
		fuzz_ioctl(pick_fd(w), KSPAN_IOC_FLUSH, 0);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	atomic_fetch_add(&shared->forks, 1);
}

/*
 * Each thread gets its own signal every 200 ms: a blocking call ends with
 * EINTR (no SA_RESTART), so no thread waits for ever on a full ring.
 */
static void thread_timer(void)
{
	struct itimerspec its = { { 0, 200000000 }, { 0, 200000000 } };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	timer_t t;

	/* glibc names it only for _GNU_SOURCE C, under its own union. */
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (!timer_create(CLOCK_MONOTONIC, &sev, &t))
		timer_settime(t, 0, &its, NULL);
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	struct rng r = { next(&w->r) };

	thread_timer();

	while (mono_ns() < deadline_ns) {
		switch (below(&r, 16)) {
		case 0: case 1:
			pthread_mutex_lock(&w->lock);
			op_open_close(w, &r);
			pthread_mutex_unlock(&w->lock);
			break;
		case 2: case 3: case 4: op_ioctl(w, &r); break;
		case 5: case 6: case 7: case 8: op_records(w, &r); break;
		case 9: case 10:
			pthread_mutex_lock(&w->lock);
			op_mmap(w, &r);
			pthread_mutex_unlock(&w->lock);
			break;
		case 11: case 12: op_submit_ring(w, &r); break;
		case 13: case 14: op_consumer(w, &r); break;
		default: if (below(&r, 8) == 0) op_fork(w, &r); break;
		}
		atomic_fetch_add(&shared->ops, 1);
	}
	return NULL;
}

/* Blocking calls end with EINTR: nothing waits for ever. */
static void on_alarm(int sig)
{
	(void)sig;
}

static void worker_main(uint64_t seed)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	long page = sysconf(_SC_PAGESIZE);
	pthread_t th[THREADS];
	struct worker w = { .r = { seed } };
	uint8_t *base;
	size_t span;
	int i;

	sigaction(SIGALRM, &sa, NULL);
	pthread_mutex_init(&w.lock, NULL);
	/* A pointer that runs off the buffer's end runs into no memory. */
	span = ((size_t)REC_CAP + (size_t)page - 1) / (size_t)page * (size_t)page;
	base = mmap(NULL, span + (size_t)page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || mprotect(base + span, (size_t)page, PROT_NONE))
		_exit(1);
	w.t.buf = base + span - REC_CAP;
	w.t.ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.t.gone = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(w.t.gone, page);
	for (i = 0; i < FDS; i++)
		w.fds[i] = open(KSPAN_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, thread_main, &w);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

/*
 * Whether a record the module committed to ring @ring is well formed: a
 * span by the module's own rules, or a lost-records record.
 */
static bool record_ok(const struct kspan_record_header *hdr, unsigned int ring)
{
	const struct kspan_lost *l = (const void *)(hdr + 1);
	struct kspan_span_view v;

	if (hdr->flags & KSPAN_RECORD_DISCARD)
		return true;
	if (hdr->type == KSPAN_RECORD_SPAN)
		return kspan_span_parse(hdr, hdr->len, &v) == 0;
	return hdr->type == KSPAN_RECORD_LOST && hdr->len == sizeof(*hdr) + sizeof(*l) &&
	       l->count && l->first_ns <= l->last_ns && l->cpu == ring;
}

/*
 * Reads ring @i of @c to its end, checking each record. Returns false when
 * the module freed space under the reader (a stale mapping of another
 * consumer released it): the reader must start again from the module's
 * position.
 */
static bool drain_ring(struct kspan_consumer *c, unsigned int i)
{
	struct kspan_cring *r = &c->rings[i];
	const struct kspan_record_header *hdr;
	uint64_t pos;
	bool ok;

	while ((pos = r->read_pos, hdr = kspan_consumer_next(c, i))) {
		ok = record_ok(hdr, i);
		/*
		 * The record's bytes were read before the module's consumer
		 * position: if that is still at or before the record, its
		 * space was never free and the bytes were the module's.
		 */
		atomic_thread_fence(memory_order_acquire);
		if (__atomic_load_n(&r->prod->consumer_pos, __ATOMIC_RELAXED) > pos) {
			atomic_fetch_add(&shared->resyncs, 1);
			return false;
		}
		if (!ok && atomic_fetch_add(&shared->malformed, 1) < 5)
			printf("kspan_fuzz: ring %u at %llu: malformed record (type %u, flags %#x, len %u)\n",
			       i, (unsigned long long)pos, hdr->type, hdr->flags, hdr->len);
		atomic_fetch_add(&shared->drained, 1);
		if (hdr->type == KSPAN_RECORD_LOST)
			atomic_fetch_add(&shared->drained_lost, 1);
	}
	return true;
}

/* The honest consumer; other consumers get their turns in between. */
static void drainer_main(uint64_t seed)
{
	struct rng r = { seed };
	struct kspan_consumer c;
	struct pollfd pfd;
	uint64_t until;
	unsigned int i;
	bool in_step;

	while (mono_ns() < deadline_ns) {
		if (kspan_consumer_open(&c)) {
			usleep(1000 + below(&r, 5000));
			continue;
		}
		until = mono_ns() + (50 + below(&r, 450)) * 1000000ULL;
		in_step = true;
		while (in_step && mono_ns() < until) {
			for (i = 0; i < c.info.nr_rings && in_step; i++)
				if (c.rings[i].cons)
					in_step = drain_ring(&c, i);
			kspan_consumer_release_all(&c);
			pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
			poll(&pfd, 1, 10);
		}
		kspan_consumer_close(&c);
		usleep(below(&r, 20000));
	}
	fflush(stdout);
	_exit(0);
}

static pid_t spawn_drainer(uint64_t seed)
{
	pid_t pid = fork();

	if (!pid)
		drainer_main(seed);
	return pid;
}

static pid_t spawn(uint64_t seed)
{
	pid_t pid = fork();

	if (!pid)
		worker_main(seed);
	return pid;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) < 0 ? -1 : 0;
	close(fd);
	return ret;
}

/* Every ring's outcomes add up to its offers, and so do the totals. */
static int counters_add_up(void)
{
	struct kspan_stats_query q = { .ring = KSPAN_STATS_ALL };
	struct kspan_stats *st = &q.stats;
	int fd = kspan_open(O_RDONLY), ret = 0;
	uint32_t ring;

	if (fd < 0)
		return -1;
	/* Rings are numbered by possible CPU: a hole answers EINVAL. */
	for (ring = 0; ring < 4096 && !ret; ring++) {
		q = (struct kspan_stats_query){ .ring = ring };
		if (ioctl(fd, KSPAN_IOC_STATS, &q))
			continue;
		if (kspan_stats_outcomes(st) != st->submitted) {
			printf("kspan_fuzz: ring %u: %llu outcomes for %llu offers\n", ring,
			       (unsigned long long)kspan_stats_outcomes(st),
			       (unsigned long long)st->submitted);
			ret = -1;
		}
	}
	q = (struct kspan_stats_query){ .ring = KSPAN_STATS_ALL };
	if (ioctl(fd, KSPAN_IOC_STATS, &q))
		ret = -1;
	close(fd);
	printf("kspan_fuzz: module: submitted %llu committed %llu rejected %llu dropped %llu "
	       "eagain %llu timeout %llu interrupted %llu lost_records %llu\n",
	       (unsigned long long)st->submitted, (unsigned long long)st->committed,
	       (unsigned long long)st->rejected,
	       (unsigned long long)(st->dropped_atomic + st->dropped_policy + st->dropped_busy),
	       (unsigned long long)st->full_eagain, (unsigned long long)st->full_timeout,
	       (unsigned long long)st->interrupted, (unsigned long long)st->lost_records);
	return ret || kspan_stats_outcomes(st) != st->submitted ? -1 : 0;
}

/*
 * What the module answered, per command. A fuzzer that never got through
 * a command's argument checks, or never failed them, tested less than it
 * claims: every known command must have been answered both ways.
 */
static bool answers_cover_every_command(void)
{
	bool covered = true;
	unsigned long n, ok, errs;
	const char *name;
	size_t i, e;

	for (i = 0; i <= NCMDS; i++) {
		printf("kspan_fuzz: %s:", cmd_names[i]);
		for (e = 0, ok = 0, errs = 0; e < NERRNO; e++) {
			n = atomic_load(&shared->answers[i][e]);
			if (!n)
				continue;
			if (!e)
				ok = n;
			else
				errs += n;
			name = e ? strerrorname_np((int)e) : "ok";
			printf(" %s %lu", e == NERRNO - 1 ? "other" : name ? name : "E?", n);
		}
		printf("\n");
		if (i < NCMDS && (!ok || !errs)) {
			printf("kspan_fuzz: %s never %s\n", cmd_names[i],
			       !ok ? "succeeded" : "failed");
			covered = false;
		}
	}
	return covered;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "procs", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32), start;
	unsigned int duration = 60, procs = 4, i, kills = 0, unloads = 0, hotplugs = 0;
	pid_t pids[MAX_PROCS], drainer;
	struct rng r;
	int c, ok;

	while ((c = getopt_long(argc, argv, "s:d:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'd': duration = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'p': procs = (unsigned int)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: kspan_fuzz [--seed S] [--duration SECONDS] [--procs N]\n");
			return 2;
		}
	}
	if (!procs || procs > MAX_PROCS) {
		fprintf(stderr, "kspan_fuzz: 1 to %d processes\n", MAX_PROCS);
		return 2;
	}
	printf("kspan_fuzz: seed %llu, %u s, %u processes of %d threads\n",
	       (unsigned long long)seed, duration, procs, THREADS);
	fflush(stdout);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	r.s = seed;
	start = mono_ns();
	deadline_ns = start + (uint64_t)duration * 1000000000ULL;
	for (i = 0; i < procs; i++)
		pids[i] = spawn(next(&r));
	drainer = spawn_drainer(next(&r));
	/* The parent: kill and respawn, try to unload, take a CPU away. */
	while (mono_ns() < deadline_ns) {
		usleep(50000 + below(&r, 200000));
		switch (below(&r, 8)) {
		case 0: case 1: case 2:
			i = below(&r, procs);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = spawn(next(&r));
			kills++;
			break;
		case 3:
			/* Open files pin it: this must fail, and change nothing. */
			if (syscall(SYS_delete_module, "kspan", O_NONBLOCK) == 0) {
				printf("kspan_fuzz: the module unloaded while in use\n");
				return 1;
			}
			unloads++;
			break;
		case 5:
			/* A consumer dies mid-read: the next one re-reads. */
			kill(drainer, SIGKILL);
			waitpid(drainer, NULL, 0);
			drainer = spawn_drainer(next(&r));
			kills++;
			break;
		case 4:
			if (!write_str("/sys/devices/system/cpu/cpu1/online", "0")) {
				usleep(below(&r, 100000));
				write_str("/sys/devices/system/cpu/cpu1/online", "1");
				hotplugs++;
			}
			break;
		default:
			break;
		}
	}
	/* Stopped wherever they are: one more way to die mid-call. */
	for (i = 0; i < procs; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	kill(drainer, SIGKILL);
	waitpid(drainer, NULL, 0);
	write_str("/sys/devices/system/cpu/cpu1/online", "1");
	printf("kspan_fuzz: %lu operations in %.0f s (ioctls %lu, record offers %lu, mappings %lu, "
	       "submission rings %lu, consumers %lu, forks %lu); %u kills, %u unload attempts, "
	       "%u CPU hotplugs\n",
	       atomic_load(&shared->ops), (mono_ns() - start) / 1e9, atomic_load(&shared->ioctls),
	       atomic_load(&shared->records), atomic_load(&shared->maps),
	       atomic_load(&shared->rings), atomic_load(&shared->consumers),
	       atomic_load(&shared->forks), kills, unloads, hotplugs);
	printf("kspan_fuzz: drainer: %lu records read and checked (%lu lost-records), "
	       "%lu malformed, %lu restarts after space freed under it\n",
	       atomic_load(&shared->drained), atomic_load(&shared->drained_lost),
	       atomic_load(&shared->malformed), atomic_load(&shared->resyncs));
	ok = answers_cover_every_command();
	if (counters_add_up()) {
		printf("kspan_fuzz: counters DO NOT ADD UP\n");
		ok = 0;
	} else {
		printf("kspan_fuzz: counters add up\n");
	}
	if (atomic_load(&shared->malformed)) {
		printf("kspan_fuzz: the module committed malformed records\n");
		ok = 0;
	}
	return ok ? 0 : 1;
}
