/* SPDX-License-Identifier: GPL-2.0 */
/* log: timestamped one-line messages to stderr or a file reopened on SIGHUP. */
#ifndef SPANAGENT_LOG_H
#define SPANAGENT_LOG_H

int log_open(const char *path);		/* NULL: stderr */
int log_reopen(void);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SPANAGENT_LOG_H */
