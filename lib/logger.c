/* SPDX-License-Identifier: GPL-2.0-only */
/* The log sink: stderr by default, replaceable by the daemon. */
#include <stdio.h>
#include <string.h>

#include <bpfilter/logger.h>

static bf_log_sink_fn _bf_sink;
static enum bf_log_level _bf_level = BF_LOG_INFO;

static const char *const _bf_level_str[] = {
	[BF_LOG_DBG] = "debug",
	[BF_LOG_INFO] = "info",
	[BF_LOG_WARN] = "warning",
	[BF_LOG_ERR] = "error",
};
_Static_assert(sizeof(_bf_level_str) / sizeof(_bf_level_str[0]) == _BF_LOG_MAX,
	       "log level names out of sync");

void bf_log_set_sink(bf_log_sink_fn sink)
{
	_bf_sink = sink;
}

void bf_log_set_level(enum bf_log_level level)
{
	_bf_level = level;
}

enum bf_log_level bf_log_get_level(void)
{
	return _bf_level;
}

void bf_log(enum bf_log_level level, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (level < _bf_level || level >= _BF_LOG_MAX)
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (_bf_sink)
		_bf_sink(level, msg);
	else
		fprintf(stderr, "bpfilter: %s: %s\n", _bf_level_str[level], msg);
}
