/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by every part: cleanup attributes, ownership. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define BF_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void bf_freep(void *p)
{
	free(*(void **)p);
}

static inline void bf_closep(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ __attribute__((cleanup(bf_freep)))
#define _cleanup_close_ __attribute__((cleanup(bf_closep)))

/* Hand ownership over: return the value and reset the variable. */
#define TAKE_PTR(p)                            \
	({                                     \
		__typeof__(p) _tmp_ = (p);     \
		(p) = NULL;                    \
		_tmp_;                         \
	})
#define TAKE_FD(fd)                            \
	({                                     \
		int _tmp_ = (fd);              \
		(fd) = -1;                     \
		_tmp_;                         \
	})
