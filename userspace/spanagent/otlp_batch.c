// SPDX-License-Identifier: GPL-2.0
/*
 * Building an otlp_batch: spans are added in ring order and linked into
 * their resource's list, so that encoding walks each resource once.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otlp_batch.h"

int otlp_service_attr(const struct kspan_span_view *v)
{
	struct kspan_attr_view a;
	unsigned int i;

	for (i = 0; kspan_span_attr(v, i, &a) == 0; i++)
		if (a.type == KSPAN_ATTR_STRING && a.key_len == 12 &&
		    !memcmp(a.key, "service.name", 12) && a.val_len)
			return (int)i;
	return -1;
}

int otlp_batch_init(struct otlp_batch_builder *bb, uint32_t max)
{
	memset(bb, 0, sizeof(*bb));
	bb->batch.spans = calloc(max, sizeof(*bb->batch.spans));
	bb->batch.res = calloc(max, sizeof(*bb->batch.res));
	if (!bb->batch.spans || !bb->batch.res) {
		otlp_batch_free(bb);
		return -ENOMEM;
	}
	bb->max = max;
	bb->procfs = "/proc";
	return 0;
}

void otlp_batch_free(struct otlp_batch_builder *bb)
{
	free(bb->batch.spans);
	free(bb->batch.res);
	memset(bb, 0, sizeof(*bb));
}

void otlp_batch_clear(struct otlp_batch_builder *bb)
{
	bb->batch.nspans = 0;
	bb->batch.nres = 0;
}

/* Reads a small /proc file of @pid into @buf; returns its length or -1. */
static ssize_t read_proc(const struct otlp_batch_builder *bb, uint32_t pid,
			 const char *name, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/%s", bb->procfs, pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return n;
}

static void fill_process(const struct otlp_batch_builder *bb, struct otlp_resource *s)
{
	char path[64], target[4096];
	const char *base;
	ssize_t n;

	s->comm[0] = 0;
	s->exe[0] = 0;
	s->exe_name = NULL;
	if (read_proc(bb, s->pid, "comm", s->comm, sizeof(s->comm)) < 0)
		s->comm[0] = 0;
	snprintf(path, sizeof(path), "%s/%u/exe", bb->procfs, s->pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		n = (ssize_t)strnlen(base, sizeof(s->exe) - 1);
		memcpy(s->exe, base, (size_t)n);
		s->exe[n] = 0;
		s->exe_name = s->exe;
	}
}

static void set_default_service(const struct otlp_batch_builder *bb,
				struct otlp_resource *s)
{
	if (bb->service_default) {
		s->service = bb->service_default;
	} else if (!s->pid) {
		s->service = "kernel";
	} else if (s->comm[0]) {
		s->service = s->comm;
	} else {
		/* The convention for a service whose name is not known. */
		snprintf(s->comm, sizeof(s->comm), "unknown_service");
		s->service = s->comm;
	}
	s->service_len = strlen(s->service);
}

static int same_service(const struct otlp_resource *r, const char *svc, size_t len)
{
	return r->service_len == len && !memcmp(r->service, svc, len);
}

int otlp_batch_add(struct otlp_batch_builder *bb, const struct kspan_span_view *v)
{
	struct otlp_batch *b = &bb->batch;
	uint32_t pid = v->span->id.pid, idx = b->nspans, r;
	struct otlp_resource *res = NULL;
	struct kspan_attr_view a;
	struct otlp_span *s;
	int svc = otlp_service_attr(v);

	if (idx == bb->max)
		return -ENOSPC;
	s = &b->spans[idx];
	s->v = *v;
	s->service_attr = svc;
	s->next = 0;
	if (svc >= 0)
		kspan_span_attr(v, (unsigned int)svc, &a);

	/* Most batches hold few processes: look from the newest down. */
	for (r = b->nres; r-- > 0;) {
		res = &b->res[r];
		if (res->pid == pid && res->from_attr == (svc >= 0) &&
		    (svc < 0 || same_service(res, (const char *)a.val, a.val_len)))
			break;
	}
	if (r == UINT32_MAX) {
		res = &b->res[b->nres++];
		memset(res, 0, offsetof(struct otlp_resource, comm));
		res->comm[0] = 0;
		res->pid = pid;
		if (pid)
			fill_process(bb, res);
		if (svc >= 0) {
			res->service = (const char *)a.val;
			res->service_len = a.val_len;
			res->from_attr = 1;
		} else {
			set_default_service(bb, res);
		}
		res->first = idx;
	} else {
		b->spans[res->last].next = idx;
	}
	res->last = idx;
	res->count++;
	b->nspans++;
	return 0;
}
