/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ruleset core: the one commit path below every front-end. A front-end
 * (nft, iptables, bfcli) lowers what a client changed to IR tables of one
 * network namespace and hands them over here; the core compiles every base
 * chain, loads the programs, then attaches them or swaps them in (or
 * updates the running programs' maps in place) inside that namespace, all
 * or nothing, and keeps one opaque handle per base chain for the
 * front-end to store. Counters are read through the handles.
 *
 * The core never includes a front-end header and knows nothing of netlink;
 * a front-end never includes codegen/. Documentation/architecture.md, "The
 * ruleset core".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfilter/ir.h>

struct bf_netns_ctx;

/**
 * Attach state of one base chain, owned by the core and stored by the
 * front-end: the chain's programs (two for an inet chain at a netfilter
 * hook), their links, the priority they were attached at. A front-end
 * keeps it across commits of the chain (the same handle is updated in
 * place by a later commit) and may share it between copies of its own
 * objects; it frees it with bf_rs_chain_free() once the chain is gone
 * from a committed ruleset.
 */
struct bf_rs_chain;

/** Protocol families of a base chain's programs (bf_rs_base.nfprotos). */
#define BF_RS_IPV4 (1u << 0)
#define BF_RS_IPV6 (1u << 1)

/**
 * One base chain to commit, as the front-end declares it.
 *
 * The core writes @hook, @priority, @ifname and @cgroup into the IR base
 * chain of the same name before generating (what is declared here is what
 * gets attached), and leaves the rest of the table alone.
 */
struct bf_rs_base {
	/** Name of the base chain in the table's IR. */
	const char *name;
	/** Where to attach. */
	enum bf_hook hook;
	/**
	 * 0: one program for the table's family (ip, ip6, netdev, or a
	 * bfcli chain). BF_RS_IPV4 | BF_RS_IPV6: an inet chain, one program
	 * per family, attached and swapped together. One flag alone: one
	 * program of that family.
	 */
	unsigned int nfprotos;
	/**
	 * Netfilter priority, passed to the code generator unchanged: how
	 * chains sharing a hook are ordered (codegen/dispatch.c).
	 */
	int32_t priority;
	/**
	 * Device of a TC or XDP hook; NULL or "" for none. A device that does
	 * not exist (yet) is not an error: the chain is kept unattached, as
	 * nf_tables keeps a netdev chain, and a later commit tries again.
	 */
	const char *ifname;
	/** cgroup v2 path of a cgroup_skb hook; NULL or "" for none. */
	const char *cgroup;
	/**
	 * Dormant (nft's NFT_TABLE_F_DORMANT): programs are generated and
	 * loaded, and keep counting across commits, but are not attached;
	 * a running chain made dormant is detached.
	 */
	bool dormant;
	/**
	 * In: the chain's handle from a previous commit, or NULL for a chain
	 * never committed. Out (success only): the chain's handle, the same
	 * one when there was one, a new one otherwise. Untouched on failure.
	 */
	struct bf_rs_chain *rs;
	/**
	 * Restore (@rs NULL): what bf_rs_chain_describe() gave for this
	 * chain in the daemon that ran it, kept in the front-end's state.
	 * The core adopts the programs pinned for the chain: it generates
	 * the chain against them (the same counter slots, the same counters
	 * map: counters go on) and switches every attach point of the
	 * commit from the pinned programs to the new ones at once, one
	 * program array update per point: no packet goes unfiltered.
	 * Pin folders of the netns that no restored chain uses are
	 * unpinned. NULL: a chain committed as usual.
	 */
	const void *adopt;
	size_t adopt_len;
};

/** The base chains of one changed table, with its IR. */
struct bf_rs_table {
	/**
	 * The table, borrowed for the call: its chains and rules are not kept
	 * (the programs describe what they run on their own).
	 */
	struct bf_table *ir;
	/** Base chains to generate and attach (not every base chain of @ir
	 * needs to be here: one left out is neither compiled nor touched). */
	struct bf_rs_base *bases;
	size_t n_bases;
};

/** Where a refused commit failed. */
enum bf_rs_stage {
	/** Generation or load (verifier): nothing was visible yet. */
	BF_RS_STAGE_COMPILE,
	/** The namespace could not be entered: nothing was attached. */
	BF_RS_STAGE_NETNS,
	/** An attach, swap or map update: what was done was undone. */
	BF_RS_STAGE_ATTACH,
};

/** Why a commit was refused, for the front-end to report. */
struct bf_rs_error {
	enum bf_rs_stage stage;
	/**
	 * Index of the table and of the base chain in it that failed, so a
	 * front-end can blame its message; SIZE_MAX when no chain is to
	 * blame (the namespace could not be entered, memory).
	 */
	size_t table;
	size_t base;
	/** Human-readable: the chain, the step, the kernel's words. */
	char msg[256];
};

/**
 * Commit @n_tables changed tables of network namespace @ctx, all or
 * nothing.
 *
 * 1. Every base chain is compiled: either a plan to update its running
 *    programs in place (one map entry that packets see changes), or new
 *    programs, generated and loaded. A failure refuses the commit with
 *    nothing changed.
 * 2. Inside @ctx's namespace (entered through the fd the context keeps),
 *    each chain is attached, swapped in atomically (counters carried
 *    over), updated in place, or detached (made dormant). A failure undoes
 *    what was done so far, in reverse order.
 * 3. Each bf_rs_base.rs is set to the chain's handle.
 *
 * Handles of chains that are gone are not touched: the front-end frees
 * them with bf_rs_chain_free() after a successful commit (after, so that a
 * chain being replaced by another keeps running until the new one is in).
 *
 * @return 0, or a negative errno with @err filled in.
 */
int bf_ruleset_commit(struct bf_netns_ctx *ctx, struct bf_rs_table *tables,
		      size_t n_tables, struct bf_rs_error *err);

/** Detach and free a base chain's programs. Accepts NULL; sets *@rs NULL. */
void bf_rs_chain_free(struct bf_rs_chain **rs);

/**
 * Counter expression @expr of rule @rule (index in its chain) of chain
 * @chain, as counted by the programs of base chain @owner: @chain is
 * @owner's own name, or a regular chain its programs reach (each program
 * that inlines it counts separately: a front-end sums over the base
 * chains of the table). Sums both programs of an inet chain.
 *
 * @return 0, or -ENOENT when no program of @owner has that counter (not
 * loaded, not reached).
 */
int bf_rs_chain_counter(const struct bf_rs_chain *owner, const char *chain,
			size_t rule, size_t expr, uint64_t *packets,
			uint64_t *bytes);

/** The policy counter of base chain @owner (both programs of inet). */
int bf_rs_chain_policy_counter(const struct bf_rs_chain *owner,
			       uint64_t *packets, uint64_t *bytes);

/**
 * Dry run (for the fuzz targets): generate the programs, neither load nor
 * attach them, never enter a namespace. Handles are kept as usual; their
 * counters read -ENOENT. Off by default.
 */
void bf_ruleset_set_dry_run(bool dry_run);

/**
 * Housekeeping between requests: releases what chains taken off their
 * hooks left for packets still inside them (codegen/dispatch.c). Returns
 * the time in ms after which to call again, or -1 when nothing waits.
 */
int bf_ruleset_tick(void);

/**
 * Persistent mode: pin every chain's programs and maps, and every attach
 * point's dispatcher, under @bpffs/bpfilter/ (Documentation/daemon.md,
 * "Pins"); NULL (the default): pin nothing (--transient).
 * @return 0 or -ENOMEM.
 */
int bf_ruleset_set_pin_root(const char *bpffs);

/**
 * The daemon is stopping: from now on bf_rs_chain_free() of a pinned
 * chain only closes the daemon's descriptors, leaving the programs
 * attached and filtering (fail-closed). Unpinned chains go as before.
 */
void bf_ruleset_set_stopping(void);

/** The pin folder of @ctx's namespace; -ENOENT when nothing is pinned. */
int bf_ruleset_netns_dir(const struct bf_netns_ctx *ctx, char *buf,
			 size_t len);

/**
 * What a restarted daemon needs to adopt base chain @rs's pinned programs
 * (bf_rs_base.adopt): their counter slots. *@buf is malloc'd.
 * @return 0, -ENOENT (no programs), -ENOMEM.
 */
int bf_rs_chain_describe(const struct bf_rs_chain *rs, void **buf,
			 size_t *len);

/** Remove folder @path of pins and everything in it (rm -r): what they
 * held goes once nothing else does. */
void bf_ruleset_unpin_dir(const char *path);

/**
 * Tests (BF_TEST_CRASH=after-swap, read by daemon/main.c): the daemon
 * kills itself with SIGKILL right after it swapped a running chain's
 * program, before the final pins, to show the staged pins hold.
 */
void bf_ruleset_set_test_crash(bool crash);
