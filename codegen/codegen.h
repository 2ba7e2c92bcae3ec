/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Public interface of the code generator: IR chain -> eBPF program ->
 * loaded program -> attached link. Used by the daemon, the tests and the
 * benchmarks. The codegen never knows which front-end a rule came from.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bpfilter/ir.h>

struct bf_program;
struct bf_link;

/* NFPROTO values, for the nfproto argument. */
#define BF_NFPROTO_UNSPEC 0
#define BF_NFPROTO_IPV4 2
#define BF_NFPROTO_IPV6 10

/**
 * Generate the eBPF program for base chain @chain of @table.
 *
 * @nfproto: for netfilter hooks, the protocol family the program serves
 * (an inet table gets one program per family); BF_NFPROTO_UNSPEC picks the
 * table's family (IP -> IPv4, IP6 -> IPv6) and is required elsewhere.
 *
 * The table is validated first (bf_table_validate()); regular chains
 * reached by jump/goto are compiled into the same program. Counter
 * expressions and the chain policy get slots in a counters map.
 *
 * @return 0 or a negative errno, with a message in @errbuf.
 */
int bf_program_generate(struct bf_program **prog, const struct bf_table *table,
			const char *chain, int nfproto, char *errbuf,
			size_t errlen);

/**
 * bf_program_generate() for a chain whose program @running runs: counters
 * keep their slot numbers, and at load the new program shares @running's
 * counters map when it has room, so a bf_link_replace() of @running by it
 * loses and doubles no count. @running must stay loaded until then.
 */
int bf_program_generate_for(struct bf_program **prog,
			    const struct bf_table *table, const char *chain,
			    int nfproto, const struct bf_program *running,
			    char *errbuf, size_t errlen);

/**
 * Create the maps and load the program in the kernel. On a verifier
 * rejection, returns the negative errno and copies the verifier log (tail)
 * into @log.
 */
int bf_program_load(struct bf_program *prog, char *log, size_t loglen);

void bf_program_free(struct bf_program **prog);

/** Program fd (after load), or -1. */
int bf_program_fd(const struct bf_program *prog);
/** Counters map fd (after load), or -1. */
int bf_program_counters_fd(const struct bf_program *prog);
/** Number of eBPF instructions emitted (before the kernel's rewrites). */
size_t bf_program_insn_count(const struct bf_program *prog);
/** Number of xlated instructions, as the kernel reports it (after load). */
int bf_program_xlated_count(const struct bf_program *prog, uint32_t *count);
/** Hook, nfproto, priority of the base chain the program was built for. */
enum bf_hook bf_program_hook(const struct bf_program *prog);
int bf_program_nfproto(const struct bf_program *prog);
/** Name of the base chain. */
const char *bf_program_chain(const struct bf_program *prog);
/** The base chain's priority, interface name ("" if none), cgroup path. */
int32_t bf_program_priority(const struct bf_program *prog);
const char *bf_program_ifname(const struct bf_program *prog);
const char *bf_program_cgroup(const struct bf_program *prog);

/**
 * Counters. A counter slot belongs to one counter expression, named by
 * (chain name, rule index in that chain, expression index in that rule);
 * each base chain also has a policy counter. Reading sums the per-CPU
 * values.
 *
 * @return 0, -ENOENT when there is no such counter, or a negative errno.
 */
int bf_program_get_counter(const struct bf_program *prog, const char *chain,
			   size_t rule, size_t expr, uint64_t *packets,
			   uint64_t *bytes);
int bf_program_get_policy_counter(const struct bf_program *prog,
				  uint64_t *packets, uint64_t *bytes);
/** Set every counter (including the policy counter) to zero. */
int bf_program_reset_counters(const struct bf_program *prog);
/**
 * Copy counter values from @old into @new (both loaded) for counters of
 * the same rule (bf_rule.id) and expression index: a rule keeps its
 * counters when its chain is renamed, a rule replaced by another starts
 * from the new one's initial values. The policy counter is copied too.
 * Used when a running chain is replaced.
 */
int bf_program_inherit_counters(struct bf_program *new_prog,
				const struct bf_program *old_prog);

/**
 * In-place update of a loaded, running program @prog to the rules of
 * chain @chain_name in @table, when that changes at most one entry of a
 * group map that packets see, or, for a program that looks up sets, when
 * its rules are the same and only set contents changed (one new inner
 * map per changed set, swapped in by one update each) (codegen/update.c):
 * no new program is loaded. A chain that is not @prog's (renamed, say)
 * gets a new program.
 *
 * bf_update_plan() returns 0 with the plan in *@out; -EAGAIN when @prog
 * cannot take the change in place, with the chain's generated program in
 * *@gen (to be loaded) unless the plan did not need to generate it
 * (*@gen NULL); or another negative errno (with a message in @errbuf) when
 * the chain does not generate. bf_update_apply() writes the maps, all or
 * nothing; @prog then counts and describes the new rules.
 * bf_update_undo() puts the previous rules back. bf_update_free() keeps
 * what was applied.
 */
struct bf_update;
int bf_update_plan(struct bf_program *prog, const struct bf_table *table,
		   const char *chain_name, struct bf_program **gen,
		   struct bf_update **out,
		   char *errbuf, size_t errlen);
int bf_update_apply(struct bf_update *u);
int bf_update_undo(struct bf_update *u);
void bf_update_free(struct bf_update **u);

/**
 * Run the loaded program once on @pkt with BPF_PROG_TEST_RUN.
 * @pkt always starts at the Ethernet header (the kernel strips it for the
 * netfilter and cgroup_skb flavours, which see the packet from the network
 * header, as they do at run time). @retval gets the program's return value
 * (XDP_*, TCX_*, NF_*, or 1/0 for cgroup_skb).
 *
 * @repeat: > 1 to measure; @duration_ns gets the mean time per run (may be
 * NULL).
 */
int bf_program_test_run(const struct bf_program *prog, const void *pkt,
			size_t len, uint32_t repeat, int *retval,
			uint32_t *duration_ns);

/**
 * Daemon verbosity: @bytecode prints every generated program to stderr
 * (`-v bytecode`), @verifier prints the verifier's statistics line of
 * every load (`-v bpf`; a rejection's log is always returned).
 */
void bf_codegen_set_verbose(bool bytecode, bool verifier);

/**
 * Print the generated instructions, one per line, readable (for
 * `-v bytecode`).
 */
void bf_program_dump(const struct bf_program *prog, FILE *f);

/**
 * Attach options: where the base chain's program goes. ifname for XDP and
 * TC hooks, cgroup path for cgroup_skb hooks; the priority and nfproto of
 * netfilter hooks come from the program.
 */
struct bf_link_opts {
	const char *ifname; /* overrides the chain's ifname when set */
	const char *cgroup; /* overrides the chain's cgroup when set */
	bool xdp_skb_mode; /* XDP generic mode (for veth tests) */
};

/**
 * Attach a loaded program at its hook. Chains do not own kernel links:
 * each attach point (a netfilter hook, family and priority of the calling
 * thread's netns; a device's XDP or TCX hook; a cgroup's hook) has one
 * dispatcher, and any number of chains (up to 32) are spliced behind it in
 * nf_tables' order: by priority, the chain attached last first among
 * equal ones (codegen/dispatch.c). An accepted packet goes on to the next
 * chain. Returns -ENODEV for a missing interface, -ENOENT for a missing
 * cgroup, -E2BIG for a full attach point, or the kernel's error.
 */
int bf_link_attach(struct bf_link **link, const struct bf_program *prog,
		   const struct bf_link_opts *opts);

/**
 * Replace the program of a chain by @new_prog: one program array update,
 * so each packet runs the old program or the new one, exactly once. When
 * @old_prog is given it must be the program in place (-EPERM otherwise)
 * and counters are carried over (bf_program_inherit_counters(); nothing to
 * do when @new_prog was generated against it and shares its counters map,
 * which keeps every count exact).
 */
int bf_link_replace(struct bf_link *link, struct bf_program *new_prog,
		    const struct bf_program *old_prog);

/** Take the chain off its hook and free; the last chain of an attach
 * point takes the dispatcher's kernel link with it. */
void bf_link_free(struct bf_link **link);
/**
 * Close the program arrays of programs taken off a hook more than a second
 * ago (packets inside them may go on through them until then). Returns
 * true when some are still waiting: call again within a second or so.
 */
bool bf_codegen_reap(void);

/**
 * Forget the chain without touching the kernel: its fds are closed, it is
 * not spliced out; the last chain of an attach point closes the
 * dispatcher's fds without detaching. What is pinned (bf_link_pin(),
 * bf_program_pin()) goes on filtering: a daemon stopping in persistent
 * mode. What is not pinned goes when its last fd closes.
 */
void bf_link_release(struct bf_link **link);

/**
 * Pin the chain's attach point's dispatcher in bpffs directory @dir
 * (created if missing): files link, prog and next (its program array).
 * Once per attach point: a point pinned already keeps its directory. The
 * pins go when the point's last chain is freed (bf_link_free()).
 */
int bf_link_pin(struct bf_link *link, const char *dir);

/**
 * Pin loaded program @prog in bpffs directory @dir (created if missing):
 * prog, counters, keys, next (its program array: pinned, it keeps the
 * next chain of the list when the daemon dies) and group_<i> for each
 * group map. Each file is replaced atomically; group files of a previous
 * program beyond @prog's groups are removed.
 */
int bf_program_pin(const struct bf_program *prog, const char *dir);

/** Remove the files of @dir that are @prog's objects, then @dir if empty. */
void bf_program_unpin(const struct bf_program *prog, const char *dir);

/**
 * Adoption by a restarted daemon (codegen/adopt.c, Documentation/daemon.md
 * "Restore").
 *
 * bf_program_describe(): what a program's pins do not tell, its counter
 * slots (chain, rule index, expression index per slot), as bytes for the
 * caller to keep (malloc'd in *@buf).
 *
 * bf_program_adopt(): the program pinned in @dir (bf_program_pin()) with
 * its counters map, as a stand-in for the running program of base chain
 * @chain of @table, described by @desc: a hint for
 * bf_program_generate_for() (same slot numbers, the same counters map,
 * so counters go on exactly) and the program bf_link_adopt() replaces.
 * -ENOENT when nothing is pinned there; -EBADMSG (message in @errbuf)
 * when the pins are not one such program or @desc is not its description.
 */
int bf_program_describe(const struct bf_program *prog, void **buf,
			size_t *len);
int bf_program_adopt(struct bf_program **out, const char *dir,
		     const struct bf_table *table, const char *chain,
		     int nfproto, const void *desc, size_t desc_len,
		     char *errbuf, size_t errlen);

/**
 * Put loaded @prog behind the dispatcher pinned in @dir (bf_link_pin()),
 * at the place of @running (a bf_program_adopt() stand-in, or NULL),
 * without touching what packets see: every chain of the point is spliced
 * in at once by bf_link_adopt_finish(), one program array update per
 * point, so the point switches from the programs it ran to the new ones
 * atomically. Called in the point's netns, before any bf_link_attach()
 * there. -ENOENT: no pins in @dir; -EBADMSG: pins that are not one
 * dispatcher; -EBUSY: the point runs already (attach instead).
 * A link freed before the finish leaves the point untouched.
 */
int bf_link_adopt(struct bf_link **link, const struct bf_program *prog,
		  const struct bf_program *running, const char *dir);
int bf_link_adopt_finish(void);

/** The kernel link of the chain's attach point (its dispatcher's). */
int bf_link_fd(const struct bf_link *link);
/**
 * bf_program_test_run() through the attach point's dispatcher: the packet
 * goes through every chain of the point, as on the hook. @like gives the
 * hook and family (any chain program of the point).
 */
int bf_link_test_run(const struct bf_link *link, const struct bf_program *like,
		     const void *pkt, size_t len, uint32_t repeat, int *retval,
		     uint32_t *duration_ns);
/** The kernel id of the chain program in place, 0 if none. */
uint32_t bf_link_prog_id(const struct bf_link *link);
