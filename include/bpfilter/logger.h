/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One log sink for every part. Library code logs at debug at most; the
 * caller logs once: `return bf_err_r(r, "failed to load chain '%s'", n);`.
 */
#pragma once

#include <stdarg.h>

enum bf_log_level {
	BF_LOG_DBG,
	BF_LOG_INFO,
	BF_LOG_WARN,
	BF_LOG_ERR,
	_BF_LOG_MAX,
};

typedef void (*bf_log_sink_fn)(enum bf_log_level level, const char *msg);

/** Route log lines to @sink (NULL: stderr). */
void bf_log_set_sink(bf_log_sink_fn sink);
/** Lines below @level are dropped (default: BF_LOG_INFO). */
void bf_log_set_level(enum bf_log_level level);
enum bf_log_level bf_log_get_level(void);

void bf_log(enum bf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define bf_dbg(fmt, ...) bf_log(BF_LOG_DBG, fmt, ##__VA_ARGS__)
#define bf_info(fmt, ...) bf_log(BF_LOG_INFO, fmt, ##__VA_ARGS__)
#define bf_warn(fmt, ...) bf_log(BF_LOG_WARN, fmt, ##__VA_ARGS__)
#define bf_err(fmt, ...) bf_log(BF_LOG_ERR, fmt, ##__VA_ARGS__)

/* Log an error with strerror(-r) and evaluate to r (r is a negative errno). */
#define bf_err_r(r, fmt, ...)                                              \
	({                                                                 \
		int _r_ = (r);                                             \
		bf_log(BF_LOG_ERR, fmt ": %s", ##__VA_ARGS__,              \
		       strerror(-_r_));                                    \
		_r_;                                                       \
	})
