/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkspan internals: the per-thread state every file here shares.
 */
#ifndef LIBKSPAN_INTERNAL_H
#define LIBKSPAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kspan_record.h"
#include "kspan_sring.h"
#include "libkspan.h"

#define KSPAN_API __attribute__((visibility("default")))

/* Span names are cut to this many bytes, at a UTF-8 character boundary. */
#define KSPAN_NAME_MAX		512

_Static_assert(KSPAN_MAX_OPEN_SPANS <= 32, "open slots are bits of a uint32_t");

struct kspan_active_span {
	struct kspan_builder b;
	bool open;		/* started, not yet submitted or discarded */
	bool ended;
	struct kspan_thread *owner;
	uint8_t rec[KSPAN_SPAN_CAPACITY];
};

/* One thread's state: its ring, its id generator, its spans. */
struct kspan_thread {
	int fd;				/* -1: not set up */
	struct kspan_sring ring;
	uint64_t rng[4];		/* xoshiro256** state */
	unsigned int depth;		/* spans on @stack */
	uint32_t used;			/* bit i: slots[i] is open */
	/* The ring's head when a doorbell last freed nothing (0: none). */
	uint64_t stuck_head;
	struct kspan_active_span *stack[KSPAN_MAX_OPEN_SPANS];
	struct kspan_active_span slots[KSPAN_MAX_OPEN_SPANS];
};

/* The calling thread's state, allocated on first use; NULL on ENOMEM. */
struct kspan_thread *kspan_thread_get(void);
/* The calling thread's ring, set up on first use; NULL when tracing is off. */
struct kspan_sring *kspan_thread_ring(struct kspan_thread *t);

/* ids.c */
void kspan_rng_seed(uint64_t rng[4]);
uint64_t kspan_rng_next(uint64_t rng[4]);

#endif /* LIBKSPAN_INTERNAL_H */
