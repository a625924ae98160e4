// SPDX-License-Identifier: GPL-2.0
/*
 * The file exporter: one OTLP/JSON ExportTraceServiceRequest per line, as
 * the OpenTelemetry Collector's file exporter writes them. A batch is
 * settled once its line is written in full; a failed write (disk full) is
 * retried with backoff, and the records wait in the rings meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

struct file_state {
	int fd;
};

static int file_open(struct agent *a)
{
	struct file_state *s = a->exp_state;
	int fd;

	if (!strcmp(a->cfg->output, "-")) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	fd = open(a->cfg->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (s->fd > STDOUT_FILENO)
		close(s->fd);
	s->fd = fd;
	return 0;
}

static int file_init(struct agent *a)
{
	struct file_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	a->exp_state = s;
	ret = file_open(a);
	if (ret)
		log_msg("cannot open %s: %s", a->cfg->output, strerror(-ret));
	return ret;
}

static int file_prepare(struct agent *a, struct batch *b)
{
	struct otlp_stats os = { 0 };
	int ret;

	sbuf_reset(&b->body);
	ret = otlp_encode_json(&b->body, &a->host, &b->bb.batch, &os);
	sbuf_addc(&b->body, '\n');
	a->st.utf8_repairs += os.utf8_repairs;
	return ret ? ret : sbuf_failed(&b->body) ? -ENOMEM : 0;
}

static void file_send(struct agent *a, struct batch *b)
{
	struct file_state *s = a->exp_state;
	size_t off = 0;
	ssize_t n;

	/* O_APPEND: a retried line is written whole again, never half. */
	while (off < b->body.len) {
		n = write(s->fd, b->body.p + off, b->body.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_msg("writing %s: %s; will retry", a->cfg->output,
				n < 0 ? strerror(errno) : "short write");
			if (off && ftruncate(s->fd, lseek(s->fd, 0, SEEK_END) - (off_t)off))
				log_msg("%s now holds a partial line", a->cfg->output);
			agent_export_done(a, b, 0, UINT32_MAX, 0);
			return;
		}
		off += (size_t)n;
	}
	a->st.export_bytes += b->body.len;
	agent_export_done(a, b, 200, UINT32_MAX, 0);
}

static int file_reopen(struct agent *a)
{
	return file_open(a);
}

static void file_destroy(struct agent *a)
{
	struct file_state *s = a->exp_state;

	if (s && s->fd > STDOUT_FILENO)
		close(s->fd);
	free(s);
	a->exp_state = NULL;
}

const struct exporter_ops exporter_file_ops = {
	.init = file_init,
	.prepare = file_prepare,
	.send = file_send,
	.reopen = file_reopen,
	.destroy = file_destroy,
};
