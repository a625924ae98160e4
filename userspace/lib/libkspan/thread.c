// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkspan: per-thread state, the device, and the fallback when tracing
 * is unavailable.
 *
 * Each thread gets its own file and submission ring on first use: a ring
 * has one writer, and the module stamps the records of a ring with the
 * identity of the thread that set it up. The ring is unmapped and the file
 * closed when the thread exits; closing it makes the module move what is
 * left. After fork() the child has no mapping of its parent's rings (the
 * module does not let them be inherited): its thread forgets them and sets
 * up its own on next use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "kspan_client.h"

#define KSPAN_RING_DEFAULT	65536

static __thread struct kspan_thread *self;
static pthread_key_t thread_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Why tracing is off, written once by the first thread that finds it off. */
static char off_reason[160];
static atomic_int off;
static atomic_flag claimed = ATOMIC_FLAG_INIT;

static void thread_teardown(struct kspan_thread *t)
{
	if (t->fd >= 0) {
		kspan_sring_unmap(&t->ring);
		/* The module moves whatever the ring still holds. */
		close(t->fd);
		t->fd = -1;
	}
}

static void thread_exit(void *arg)
{
	struct kspan_thread *t = arg;

	thread_teardown(t);
	if (t == self)
		self = NULL;
	free(t);
}

/*
 * The child of a fork has no mapping of the rings (VM_DONTCOPY): forget
 * them, close its copy of the file, and draw ids from a new seed.
 */
static void atfork_child(void)
{
	if (!self)
		return;
	if (self->fd >= 0) {
		close(self->fd);
		self->fd = -1;
		memset(&self->ring, 0, sizeof(self->ring));
	}
	kspan_rng_seed(self->rng);
}

static void init_once(void)
{
	pthread_key_create(&thread_key, thread_exit);
	pthread_atfork(NULL, NULL, atfork_child);
}

struct kspan_thread *kspan_thread_get(void)
{
	struct kspan_thread *t = self;

	if (t)
		return t;
	pthread_once(&once, init_once);
	/* Once per thread, never per span. */
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = -1;
	kspan_rng_seed(t->rng);
	pthread_setspecific(thread_key, t);
	self = t;
	return t;
}

/* Tracing is off for the whole process: say why, once. */
static void turn_off(const char *what, int err)
{
	if (atomic_flag_test_and_set(&claimed))
		return;
	snprintf(off_reason, sizeof(off_reason), "%s: %s", what, strerror(err));
	/* After the reason: kspan_status() reads it once this is set. */
	atomic_store(&off, err);
	if (!getenv("KSPAN_QUIET"))
		fprintf(stderr, "libkspan: spans are not recorded: %s%s\n", off_reason,
			err == ENOENT || err == ENODEV ? " (is the kspan module loaded?)" : "");
}

static uint32_t ring_size(void)
{
	const char *v = getenv("KSPAN_RING_SIZE");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return KSPAN_RING_DEFAULT;
	n = strtoul(v, &end, 0);
	if (*end || n < KSPAN_SUBMIT_RING_MIN || n > KSPAN_SUBMIT_RING_MAX || (n & (n - 1)))
		return KSPAN_RING_DEFAULT;
	return (uint32_t)n;
}

struct kspan_sring *kspan_thread_ring(struct kspan_thread *t)
{
	struct kspan_version ver;
	const char *dev;
	int fd, ret;

	/* The hot path: every span comes here. */
	if (t->fd >= 0)
		return &t->ring;
	if (atomic_load(&off))
		return NULL;
	dev = getenv("KSPAN_DEVICE");
	fd = kspan_open(O_RDWR);
	if (fd < 0) {
		turn_off(dev && *dev ? dev : KSPAN_DEVICE_PATH, -fd);
		return NULL;
	}
	ret = kspan_get_version(fd, &ver);
	if (!ret)
		ret = kspan_abi_check(&ver, 3);
	if (!ret)
		ret = kspan_sring_setup(&t->ring, fd, ring_size());
	if (ret) {
		close(fd);
		/* A failed allocation is this thread's problem, not the process's. */
		if (ret != -ENOMEM && ret != -EMFILE)
			turn_off(ret == -EPROTO ? "kspan module ABI older than 1.3" :
				 "submission ring", -ret);
		return NULL;
	}
	t->fd = fd;
	return &t->ring;
}

KSPAN_API void kspan_thread_release(void)
{
	if (self)
		thread_teardown(self);
}

KSPAN_API int kspan_init(void)
{
	struct kspan_thread *t = kspan_thread_get();

	if (!t)
		return -ENOMEM;
	if (kspan_thread_ring(t))
		return 0;
	return atomic_load(&off) ? -atomic_load(&off) : -ENOMEM;
}

KSPAN_API const char *kspan_status(void)
{
	return atomic_load(&off) ? off_reason : "";
}
