/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The front-end registry (front.h): one const ops struct per front-end
 * slot, looked up by the request dispatch (request.c), the connections
 * (client.c) and the per-netns contexts (netns.c).
 */
#include <errno.h>
#include <stddef.h>

#include <bpfilter/logger.h>

#include "daemon/front.h"

static const struct bf_front_ops *_bf_fronts[_BF_FRONT_MAX];

int bf_front_register(const struct bf_front_ops *ops)
{
	if (!ops || !ops->name || (unsigned int)ops->front >= _BF_FRONT_MAX ||
	    ops->open_type >= _BF_MSG_MAX ||
	    (ops->frame_types & ~((1ull << _BF_MSG_MAX) - 1)))
		return -EINVAL;
	if (_bf_fronts[ops->front])
		return -EEXIST;
	for (int i = 0; i < _BF_FRONT_MAX; i++) {
		const struct bf_front_ops *o = _bf_fronts[i];
		uint64_t mine = ops->frame_types, theirs;

		if (!o)
			continue;
		if (ops->open)
			mine |= 1ull << ops->open_type;
		theirs = o->frame_types | (o->open ? 1ull << o->open_type : 0);
		if (mine & theirs)
			return -EEXIST;
	}
	_bf_fronts[ops->front] = ops;
	bf_dbg("front-end %s registered", ops->name);

	return 0;
}

const struct bf_front_ops *bf_front_get(enum bf_front front)
{
	if ((unsigned int)front >= _BF_FRONT_MAX)
		return NULL;
	return _bf_fronts[front];
}
