/* SPDX-License-Identifier: GPL-2.0-only */
/* Conntrack kept running in a netns for the programs that read it
 * (codegen/conntrack.c). */
#pragma once

struct bf_ct_ref;

/**
 * Conntrack for @family (NFPROTO_IPV4 / NFPROTO_IPV6) in the calling
 * thread's network namespace, held until bf_ct_ref_put(). One reference
 * per attached program that reads conntrack.
 * @return 0, or a negative errno from the kernel.
 */
int bf_ct_ref_get(int family, struct bf_ct_ref **out);
/** Drop a reference (NULL accepted); the last one lets conntrack go. */
void bf_ct_ref_put(struct bf_ct_ref **ref);
