/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the persisted state, which a starting daemon reads
 * as untrusted bytes (Documentation/daemon.md, "State and restore"): the
 * file parser (bf_state_parse(): header, version, lengths, checksum,
 * sections) and the nft front-end's section parser (bf_nft_parse_state():
 * records, netlink messages replayed through the batch handlers, handles
 * put back). The input is tried as a whole state file and, since a fuzzed
 * file rarely has the right checksum, as an nft section on its own.
 * Nothing is committed: no program is generated or loaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/logger.h>

#include "daemon/persist.h"
#include "nfnl/nft.h"

static void _bf_nft_section(const uint8_t *data, size_t size)
{
	struct bf_nft_world *w = NULL;
	char why[256];

	if (bf_nft_world_new(&w))
		return;
	(void)bf_nft_parse_state(w, data, size, why, sizeof(why));
	if (strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	bf_nft_world_free(&w, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_state st;
	char msg[256];

	bf_log_set_level(_BF_LOG_MAX);
	if (!bf_state_parse(data, size, &st, msg, sizeof(msg))) {
		for (int f = 0; f < _BF_FRONT_MAX; f++) {
			const uint8_t *s = st.sections[f];

			if (s && (s < data || s + st.lens[f] > data + size))
				abort();
		}
		if (st.sections[BF_FRONT_NFT])
			_bf_nft_section(st.sections[BF_FRONT_NFT],
					st.lens[BF_FRONT_NFT]);
	}
	_bf_nft_section(data, size);
	return 0;
}
