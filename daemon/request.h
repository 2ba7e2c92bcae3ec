/* SPDX-License-Identifier: GPL-2.0-only */
/* Requests: what the daemon does with one complete, well-framed request. */
#pragma once

#include "daemon/opts.h"
#include <bpfilter/proto.h>
#include "daemon/client.h"

/**
 * Handle one request whose header passed the framing checks; @payload holds
 * hdr->len - BF_FRAME_HDR_LEN bytes. Replies, errors included, are queued
 * on @c.
 * @return 0, or a negative errno when the connection must be dropped.
 */
int bf_request_handle(struct bf_client *c, const struct bf_opts *opts,
		      const struct bf_frame_hdr *hdr, const void *payload);
