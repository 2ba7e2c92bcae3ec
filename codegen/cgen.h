/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the code generator's files: the generation context
 * (instruction buffer, labels, sticky error), the stack layout of generated
 * programs, the per-hook flavour ops and the per-expression emitters.
 */
#pragma once

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfilter/ir.h>

#include "codegen/codegen.h"
#include "codegen/insn.h"

/*
 * Stack layout (offsets from r10). The nf_tables register file, three
 * header windows holding copies of the first bytes of the link, network
 * and transport headers, and 8-byte slots for what the prologue parsed.
 * A load inside a window is one instruction once its availability is
 * checked; a load beyond a window falls back to a helper call.
 */
#define BF_FP_REGS (-64) /* 64 bytes: register file */
#define BF_WIN_LL_LEN 24
#define BF_FP_WIN_LL (BF_FP_REGS - BF_WIN_LL_LEN) /* -88 */
#define BF_WIN_NH_LEN 64
#define BF_FP_WIN_NH (BF_FP_WIN_LL - BF_WIN_NH_LEN) /* -152 */
#define BF_WIN_TH_LEN 64
#define BF_FP_WIN_TH (BF_FP_WIN_NH - BF_WIN_TH_LEN) /* -216 */
#define BF_FP_AVAIL_LL (-224) /* bytes available from the LL header */
#define BF_FP_AVAIL_NH (-232) /* bytes available from the network header */
#define BF_FP_AVAIL_TH (-240) /* bytes available from the transport header, 0 if none */
#define BF_FP_OFF_NH (-248) /* network header offset in the packet data */
#define BF_FP_OFF_TH (-256) /* transport header offset */
#define BF_FP_PKT_LEN (-264) /* packet length as the hook sees it */
#define BF_FP_L4PROTO (-272) /* l4 protocol, or BF_UNSET */
#define BF_FP_L3PROTO (-280) /* ethertype, host order, or BF_UNSET */
#define BF_FP_NF_LEN (-288) /* length as nf_tables counts it (meta len, counters) */
#define BF_FP_DYNPTR (-304) /* 16 bytes: skb dynptr (netfilter) */
#define BF_FP_TMP (-320) /* 16 bytes: scratch for loads beyond windows */
#define BF_FP_KEY (-328) /* scratch: map key */
#define BF_FP_FRAG (-336) /* 1 for a non-first fragment, else 0 */
#define BF_FP_BOTTOM BF_FP_FRAG
/* Slots the prologue writes and rules only read: [BF_FP_PROLOGUE_LO, BF_FP_REGS). */
#define BF_FP_PROLOGUE_LO BF_FP_NF_LEN

/* Value stored in a slot whose field could not be parsed: larger than any
 * value of the field, so an equality test fails without a branch. */
#define BF_UNSET 0x10000

/* Registers with a fixed role in generated code. */
#define BF_R_CTX BPF_REG_6
/* Pending failures of the current rule: non-zero once a test failed.
 * Availability and validity checks and equality tests fold into it
 * without branches and the rule tests it once, before any side effect:
 * the verifier then learns nothing about the parsed slots from rules, so
 * its states keep merging from one rule to the next. */
#define BF_R_ACC BPF_REG_7

struct bf_cg;

/* Per-hook code generation ops. */
struct bf_flavour_ops {
	enum bpf_prog_type prog_type;
	enum bpf_attach_type attach_type; /* expected_attach_type */
	bool has_ll; /* packet data starts at the link-layer header */
	/* Emit: fill BF_FP_PKT_LEN, BF_FP_L3PROTO (if !has_ll), and anything
	 * load_bytes needs. r6 holds the context. */
	int (*prologue)(struct bf_cg *cg);
	/* Emit a copy of r4 bytes (a bounded register, >= 1) from packet offset
	 * r2 to the stack at r10 + @fp_off. r0 = 0 on success. Clobbers
	 * r0-r5. */
	int (*load_bytes)(struct bf_cg *cg, int fp_off);
	/* Optional: set meta @key (mark, priority) to the u32 at r10 +
	 * @fp_off. NULL: the hook cannot write it, meta set is refused. */
	int (*meta_set)(struct bf_cg *cg, enum bf_meta_key key, int fp_off);
	/* Optional: emit a ct load (BF_EXPR_CT) into its registers, jumping
	 * to @fail when the packet has no conntrack entry (nft_ct's
	 * NFT_BREAK). NULL: the hook cannot read conntrack, ct is refused. */
	int (*ct)(struct bf_cg *cg, const struct bf_expr *e, int fail);
	/* Optional, for flavours without has_ll: fill BF_FP_WIN_LL and
	 * BF_FP_AVAIL_LL from the MAC header the kernel kept. */
	int (*ll_window)(struct bf_cg *cg);
	/* Optional, for flavours with has_ll: after the link-layer window is
	 * copied, put back a VLAN tag the stack holds out of the packet data
	 * (nf_tables shows it to link-layer loads), and set r9 to the number
	 * of bytes inserted (0 or 4). */
	int (*ll_vlan)(struct bf_cg *cg);
	/* Return value implementing an accept / drop verdict. */
	int (*retval)(enum bf_verdict verdict);
	/* Emit a load of a meta key into BPF register @dst (values up to 8
	 * bytes, in register-file byte order, zero-extended), jumping to
	 * @fail when the key is not available at this hook. Names (16 bytes)
	 * are written straight to the stack at r10 + @fp_off instead.
	 * May clobber r0-r5. */
	int (*meta)(struct bf_cg *cg, enum bf_meta_key key, int dst, int fp_off,
		    int fail);
};

extern const struct bf_flavour_ops bf_flavour_xdp;
extern const struct bf_flavour_ops bf_flavour_tc;
extern const struct bf_flavour_ops bf_flavour_nf;
extern const struct bf_flavour_ops bf_flavour_cgroup;

const struct bf_flavour_ops *bf_flavour_get(enum bf_hook hook);

/* Counter slot bookkeeping: one slot per counter expression. */
struct bf_counter_slot {
	const char *chain; /* one of bf_program.names */
	size_t rule;
	size_t expr;
	uint64_t rule_id; /* bf_rule.id: the counter follows it */
	uint64_t init_packets;
	uint64_t init_bytes;
	/* Same number, rule and expression in the running program the
	 * chain was generated against: the counters map shared with it
	 * already holds the value (bf_program_load()). */
	bool carried;
	/* Emptied by an edit of the running program's description
	 * (codegen/edit.c): not a hole to fill before the next generation,
	 * so that a rule replaced in place never hands its number (and
	 * count) to its successor. */
	bool freed;
};

/* Maps a program refers to. */
enum bf_map_id {
	BF_MAP_COUNTERS, /* per-CPU array: {packets, bytes} per slot */
	BF_MAP_KEYS, /* one-entry array holding u32 keys 0..n-1 */
	BF_MAP_NEXT, /* one-entry program array: the next chain on the hook */
	_BF_MAP_MAX,
};

/* Hash maps of grouped rules are numbered from here (bf_program.groups). */
#define BF_MAP_GROUP0 16
/* Maps of the sets the program looks up, from here (bf_program.sets). */
#define BF_MAP_SET0 (1 << 20)

/* A set the program looks up: its own copy of the IR set, filled into a
 * hash map (exact keys) or an LPM trie (prefixes), the inner map of a
 * one-entry array of maps (fd) the program looks it up through, so that
 * new contents are one map update away (codegen/update.c). */
struct bf_set_map {
	struct bf_set *set;
	int fd; /* the outer array of maps */
	int inner_fd;
	/* max_entries of the inner maps: an array of maps only takes inner
	 * maps of its template's size (BPF_F_INNER_MAP is for arrays). */
	size_t cap;
};

/* A new inner map of @cap entries holding the keys of @set (-E2BIG when
 * they do not fit). */
int bf_set_map_fill(const struct bf_set *set, size_t cap, int *fd);

struct bf_map_ref {
	size_t insn;
	int map; /* enum bf_map_id, or BF_MAP_GROUP0 + group index */
};

/*
 * A run of rules `PREFIX KEY == C [counter] accept|drop` compiled as one
 * hash map lookup of the key: entries in rule order, the first rule with a
 * key wins (first match), its value {counter slot, code}.
 */
#define BF_GROUP_NO_SLOT UINT32_MAX
#define BF_GROUP_CODE_DROP 1u /* else accept */
#define BF_GROUP_CODE_COUNT 2u /* update counter slot */
struct bf_group_map {
	uint64_t *keys;
	uint32_t *values; /* pairs: slot, code */
	size_t n;
	size_t ent_cap; /* room in keys and values */
	int fd;
	size_t cap; /* the map's max_entries, after load */
	/* Rules [first, end) of chain, prefix p exprs long; base: emitted
	 * once, as the program's own chain (not inlined by a jump). */
	char chain[BF_NAME_MAX];
	size_t first, end, p;
	bool base;
};

/* Room a loaded map keeps for rules added later (bf_program_update()). */
static inline size_t bf_map_room(size_t n)
{
	return n + n / 8 + 32;
}

/* What a program was generated from: every chain of the table, its rules
 * by serial (bf_rule.serial). */
struct bf_snap_chain {
	struct bf_chain hdr; /* rules: NULL */
	uint64_t *serials;
	size_t n, cap;
};

struct bf_fixup {
	size_t insn;
	int label;
};

struct bf_program {
	char chain[BF_NAME_MAX];
	enum bf_hook hook;
	int nfproto;
	int32_t priority;
	char ifname[BF_IFNAME_MAX];
	char cgroup[BF_NAME_MAX];
	const struct bf_flavour_ops *flavour;

	struct bpf_insn *insns;
	size_t n_insns;
	/* Instructions that load a map fd (patched at load). */
	struct bf_map_ref *map_refs;
	size_t n_map_refs;

	struct bf_counter_slot *slots;
	size_t n_slots; /* slot 0 is the policy counter */
	size_t slots_cap;
	/* Chain names the slots point to, each once. Slots with no chain
	 * are numbers left unused (bf_slot_hint()). */
	char **names;
	size_t n_names;
	/* While generating with a hint (codegen/slots.c). */
	const struct bf_program *hint;
	uint32_t *hint_index;
	size_t hint_cap;
	uint32_t next_fresh;
	/* Lowest slot number that may be a hole to fill (codegen/slots.c):
	 * holes below it are known to be taken. */
	uint32_t hole_scan;
	/* Open-addressing index of slots 1.. by (chain, rule, expr): slot
	 * number, 0 for an empty bucket. */
	uint32_t *slot_index;
	size_t slot_index_cap;

	struct bf_group_map *groups;
	size_t n_groups;

	struct bf_set_map *sets;
	size_t n_sets;

	char table[BF_NAME_MAX];
	enum bf_family family;
	struct bf_snap_chain *snap;
	size_t n_snap;

	/* Some rule reads conntrack: attach keeps conntrack running in the
	 * namespace (codegen/conntrack.c). */
	bool needs_ct;

	int prog_fd;
	int counters_fd;
	size_t counters_cap; /* the counters map's max_entries */
	uint32_t counters_id; /* the counters map's kernel id, after load */
	int keys_fd;
	/* Program array of one entry: the chain that runs after this one on
	 * its hook when this one accepts (codegen/dispatch.c); empty: the
	 * packet goes on to the kernel's next hook. */
	int next_fd;
	/* Generated against a running program: its counters map, to be
	 * shared when it has room (bf_program_load()). */
	int share_fd;
	size_t share_cap;
};

struct bf_cg {
	struct bf_program *prog;
	const struct bf_table *table;
	const struct bf_flavour_ops *flavour;
	int nfproto;

	struct bpf_insn *insns;
	size_t n_insns;
	size_t cap_insns;
	struct bf_map_ref *map_refs;
	size_t n_map_refs;
	size_t cap_map_refs;

	int *labels; /* label id -> insn index, or -1 */
	bool *label_used; /* a reachable jump targets the label */
	bool unreachable; /* after ja/exit until a used label: dropped */
	size_t n_labels;
	size_t cap_labels;
	struct bf_fixup *fixups;
	size_t n_fixups;
	size_t cap_fixups;

	int err; /* sticky: first error of an emit */
	char *errbuf;
	size_t errlen;

	int depth; /* inlined jump depth */
	bool uses_ll; /* some rule loads link-layer payload */
	bool acc_active; /* BF_R_ACC holds pending failures */
	int tail[_BF_VERDICT_MAX]; /* counter (slot in r9) + verdict tails */
	int accept; /* the accept exit: the next chain on the hook, if any */
};

/* Registers the rule layout keeps across rules (codegen/chain.c,
 * codegen/program.c). */
#define BF_R_KEY BPF_REG_8 /* group value cache */
#define BF_R_SLOT BPF_REG_9 /* counter slot for the shared tails */

/* Emit the rules of @chain, then jump to @ret; a jump or goto inlines its
 * target chain (codegen/chain.c). Returns the sticky error. */
int bf_cg_emit_chain(struct bf_cg *cg, const struct bf_chain *chain, int ret);

/* Leave the program with @verdict (accept or drop): an accept goes on to
 * the next chain of the hook (codegen/program.c). */
void bf_cg_emit_verdict(struct bf_cg *cg, enum bf_verdict verdict);

/* Builder (codegen/builder.c). Emit functions record the first error in
 * cg->err; callers check it once with bf_cg_err(). */
void bf_cg_emit(struct bf_cg *cg, struct bpf_insn insn);
void bf_cg_emit_ld_imm64(struct bf_cg *cg, int dst, uint64_t v);
/* Load a map: kind BPF_PSEUDO_MAP_FD (map pointer) or
 * BPF_PSEUDO_MAP_VALUE (address of the first value, at offset @off). */
void bf_cg_emit_ld_map(struct bf_cg *cg, int dst, int map, int kind,
		       uint32_t off);
int bf_cg_label_new(struct bf_cg *cg);
void bf_cg_label_here(struct bf_cg *cg, int label);
/* Emit a jump whose offset is filled once @label is placed. A conditional
 * jump must land within the 16-bit range; an unconditional one may go
 * anywhere (it becomes a 32-bit gotol when needed). */
void bf_cg_emit_jmp(struct bf_cg *cg, struct bpf_insn insn, int label);
int bf_cg_resolve(struct bf_cg *cg);
int bf_cg_fail(struct bf_cg *cg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int bf_cg_err(const struct bf_cg *cg)
{
	return cg->err;
}

/* Call a kernel function by name (resolved in vmlinux BTF). */
void bf_cg_emit_kfunc(struct bf_cg *cg, const char *name);
/* Offset of @member in kernel struct @type (vmlinux BTF), or -1 (and
 * cg->err set). Nested names ("a.b") are not supported. */
int bf_cg_btf_offset(struct bf_cg *cg, const char *type, const char *member);
/* vmlinux BTF id of struct @type, or -1 (cg->err set). */
int bf_cg_btf_struct_id(struct bf_cg *cg, const char *type);
/* sizeof(struct @type), or -1. */
int bf_cg_btf_size(struct bf_cg *cg, const char *type);
/* Offset of a dotted member path ("tuplehash.tuple.dst.u3") in struct
 * @type; an array member stands for its first element. -1 on error. */
int bf_cg_btf_path(struct bf_cg *cg, const char *type, const char *path);
/* Bit offset of a bitfield member and its size in bits. */
int bf_cg_btf_bitfield(struct bf_cg *cg, const char *type, const char *member,
		       unsigned int *bit_off, unsigned int *bits);

/* Pending-failure accumulator (codegen/expr.c). */
void bf_cg_acc_or(struct bf_cg *cg, int reg); /* acc |= reg */
void bf_cg_acc_if_zero(struct bf_cg *cg, int reg); /* acc |= (reg == 0); clobbers reg, r5 */
void bf_cg_acc_flush(struct bf_cg *cg, int fail); /* if (acc) goto fail */

/* Prologue: packet parsing shared by every flavour (codegen/parse.c). */
int bf_cg_parse_headers(struct bf_cg *cg);

void bf_insn_dump(const struct bpf_insn *insns, size_t n, FILE *f);
bool bf_codegen_verbose_bytecode(void);

/* Keys map value: a u64 zero the verifier cannot see through (the map is
 * not frozen), then the u32 keys 0..n-1. */
#define BF_KEYS_ZERO_OFF 0
#define BF_KEYS_OFF(slot) (8 + (slot) * 4)

/* Make every parsed slot unknown to the verifier (codegen/parse.c). */
int bf_cg_launder_slots(struct bf_cg *cg);

/* Counter slots (codegen/slots.c). */
int bf_slot_find(const struct bf_program *prog, const char *chain, size_t rule,
		 size_t expr);
/* Add a slot (or find the existing one); returns its number or -errno. */
int bf_slot_add(struct bf_program *prog, const char *chain, size_t rule,
		size_t expr, uint64_t rule_id, uint64_t packets, uint64_t bytes);
/* Generate with the slot numbers of @hint, the chain's running program;
 * done: drop the hint. */
int bf_slot_hint(struct bf_program *prog, const struct bf_program *hint);
void bf_slot_hint_done(struct bf_program *prog);
/* bf_program_generate(), counters keeping their slot numbers in @hint. */
int bf_program_generate_hinted(struct bf_program **prog,
			       const struct bf_table *table,
			       const char *chain_name, int nfproto,
			       const struct bf_program *hint, char *errbuf,
			       size_t errlen);
/* Is @table the one @p was generated from with one rule inserted into or
 * removed from a mapped group of @p's own chain? Then *@out gets @p's
 * description (slots, groups, snapshot; no code, no maps) with that edit
 * made, and 0; else -EAGAIN (codegen/edit.c). */
int bf_cg_edit_desc(const struct bf_program *p, const struct bf_table *table,
		    struct bf_program **out);
/* Index the slots again (rule indices changed). */
int bf_slot_reindex(struct bf_program *prog);
/* Set a loaded program's slot (CPU 0 gets the values, the others 0). */
int bf_slot_write(const struct bf_program *p, uint32_t slot,
		  uint64_t packets, uint64_t bytes);

/* Runs of at least this many mappable rules become a hash map. */
#define BF_GROUP_MAP_MIN 16

/* Length of the prefix of tests and loads rules @a and @b share. */
size_t bf_cg_common_prefix(const struct bf_rule *a, const struct bf_rule *b);

/* Would @r, after the last rule of a mapped group whose first rule is
 * @first and prefix @p exprs long, join the group as one more entry? */
bool bf_cg_group_takes(const struct bf_rule *first, const struct bf_rule *r,
		       size_t p);



/* Where a chain attaches (codegen/link.c): one dispatcher each
 * (codegen/dispatch.c). */
struct bf_attach_point {
	enum bf_hook hook;
	uint64_t netns; /* cookie of the netns the point is in */
	int pf, hooknum; /* netfilter */
	int32_t priority; /* netfilter: part of the point */
	int32_t link_priority; /* netfilter: where the link went */
	int ifindex; /* XDP, TCX */
	uint64_t cg_dev, cg_ino; /* cgroup */
	bool xdp_skb_mode;
};
bool bf_link_hook_is_nf(enum bf_hook hook);
/* A loaded program with a usable hook: 0 and its fd, or -EINVAL. */
int bf_link_prog_check(const struct bf_program *prog, int *prog_fd);
/* Resolve @prog's attach point in the calling thread's netns; a cgroup
 * hook also gets the cgroup's fd in *@target_fd (else -1). */
int bf_attach_point_get(const struct bf_program *prog,
			const struct bf_link_opts *opts,
			struct bf_attach_point *pt, int *target_fd);
bool bf_attach_point_eq(const struct bf_attach_point *a,
			const struct bf_attach_point *b);
/* A kernel link of program @prog_fd at @pt: its fd or a negative errno. */
int bf_attach_link_create(int prog_fd, struct bf_attach_point *pt,
			  int target_fd);
/* Load a dispatcher: a program of @like's type whose only work is a tail
 * call through @next_fd, else accept (codegen/loader.c). */
int bf_dispatch_prog_load(const struct bf_program *like, int next_fd,
			  int *prog_fd);
/* Close @fd later: packets still running a program unlinked from a hook
 * may go on through the program array it holds (codegen/dispatch.c). */
void bf_dispatch_retire_fd(int fd);
/* bf_program_test_run() on program @prog_fd of @prog's hook and family
 * (a dispatcher's, say). */
int bf_test_run_fd(const struct bf_program *prog, int prog_fd, const void *pkt,
		   size_t len, uint32_t repeat, int *retval,
		   uint32_t *duration_ns);
/* Names of kernel objects, for bpftool (codegen/names.c): "@kind_@chain",
 * cut to fit and made of [A-Za-z0-9_]. */
void bf_obj_name(char *buf, size_t len, const char *kind, const char *chain);
/* A map of @prog: "@kind<family>.<table>.<chain>", cut to fit. */
void bf_map_name(char *buf, size_t len, const struct bf_program *prog,
		 char kind);
/* Pins (codegen/pin.c). Paths are at most BF_PIN_PATH_MAX bytes. */
#define BF_PIN_PATH_MAX 4096
/* Kernel id of a program, map or link fd; 0 on error. */
uint32_t bf_obj_id(int fd);
/* mkdir -p, mode 0700. */
int bf_pin_mkdir(const char *dir);
/* Pin @fd as @dir/@name, atomically replacing what was there. */
int bf_pin_fd(int fd, const char *dir, const char *name);
/* Unlink @dir/@name if it is object @id (any object if @id is 0). */
void bf_pin_remove(const char *dir, const char *name, uint32_t id);
/* The id of the program array program @prog_fd uses (its next chain's,
 * or a dispatcher's): 0 or -ENOENT (codegen/adopt.c). */
int bf_prog_next_map_id(int prog_fd, uint32_t *id);
/* Bind the program's table, chain, family and hook as bpftool metadata. */
int bf_program_bind_metadata(const struct bf_program *prog);
