/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bad input never crashes: invalid IR, missing chains, verifier rejections,
 * missing interfaces and cgroups, refused program replacements. Each
 * returns a negative errno with a message and changes nothing.
 *
 * Attach tests run in a forked child inside a network namespace of its own
 * (unshare(CLONE_NEWNET)), with a veth pair created there: the host's
 * interfaces are never touched. The child reports through its exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "codegen/cgen.h"
#include "common/e2e.h"

#define ERRLEN 1024
#define LOGLEN 65536

/* A pointer bf_program_generate() / bf_link_attach() must leave alone. */
static char _sentinel;
#define PROG_SENTINEL ((struct bf_program *)&_sentinel)
#define LINK_SENTINEL ((struct bf_link *)&_sentinel)

static char _log[LOGLEN];

/* Generate the base chain of @t, expecting @err and a message that
 * contains each of the NULL-terminated @needles. */
static void expect_generate_fails(struct e2e *t, const char *chain, int nfproto,
				  int err, const char *const *needles)
{
	struct bf_program *prog = PROG_SENTINEL;
	char errbuf[ERRLEN];
	int r;

	memset(errbuf, 'X', sizeof(errbuf));
	r = bf_program_generate(&prog, t->table, chain, nfproto, errbuf,
				sizeof(errbuf));
	fprintf(stderr, "# generate '%s': %d (%s)\n", chain, r, errbuf);
	assert_int_equal(r, err);
	assert_ptr_equal(prog, PROG_SENTINEL);
	assert_non_null(memchr(errbuf, '\0', sizeof(errbuf)));
	assert_true(strlen(errbuf) > 0);
	for (size_t i = 0; needles && needles[i]; i++) {
		if (!strstr(errbuf, needles[i]))
			fprintf(stderr, "# missing '%s' in the message\n",
				needles[i]);
		assert_non_null(strstr(errbuf, needles[i]));
	}

	/* No buffer at all: same error, no crash. */
	r = bf_program_generate(&prog, t->table, chain, nfproto, NULL, 0);
	assert_int_equal(r, err);
	assert_ptr_equal(prog, PROG_SENTINEL);
}

#define NEEDLES(...) ((const char *const[]) { __VA_ARGS__, NULL })

static struct bf_expr _jump(enum bf_verdict code, const char *chain)
{
	return bf_expr_verdict(code, chain);
}

static void test_unknown_jump_target(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, e2e_accept());
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 1),
		 e2e_cmp_u8(BF_CMP_EQ, 1, 17),
		 _jump(BF_VERDICT_JUMP, "nowhere"));
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EINVAL,
			      NEEDLES("chain 'base'", "rule 1", "expr 2",
				      "nowhere"));
	e2e_fini(&t);
	(void)state;
}

static void test_jump_loop(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV, BF_VERDICT_ACCEPT);
	e2e_chain(&t, "a");
	e2e_chain(&t, "b");
	E2E_RULE(&t, NULL, _jump(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, "a", e2e_drop());
	E2E_RULE(&t, "a", _jump(BF_VERDICT_GOTO, "b"));
	E2E_RULE(&t, "b", _jump(BF_VERDICT_JUMP, "a"));
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EMLINK,
			      NEEDLES("loop", "rule", "expr"));
	e2e_fini(&t);
	(void)state;
}

static void test_unset_register(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 1),
		 e2e_cmp_u8(BF_CMP_EQ, 1, 6), e2e_accept());
	/* Register 2 is never written. */
	E2E_RULE(&t, NULL, e2e_cmp_u32(BF_CMP_EQ, 2, 1), e2e_drop());
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_IPV4, -EINVAL,
			      NEEDLES("chain 'base'", "rule 1", "expr 0",
				      "not set"));
	e2e_fini(&t);
	(void)state;
}

static void test_oversize_payload(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, 0, BF_DATA_MAX + 1, 0),
		 e2e_accept());
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EINVAL,
			      NEEDLES("chain 'base'", "rule 0", "expr 0",
				      "length"));
	e2e_fini(&t);
	(void)state;
}

static void test_payload_offset_too_large(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 256, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, 80), e2e_accept());
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EINVAL,
			      NEEDLES("rule 0", "expr 0", "offset"));
	e2e_fini(&t);
	(void)state;
}

static void test_bad_hook_for_family(void **state)
{
	struct e2e t;

	/* XDP sees frames of any family: not in an ip table. */
	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_IP, BF_VERDICT_ACCEPT);
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EINVAL,
			      NEEDLES("chain 'base'", "hook"));
	e2e_fini(&t);

	/* Netfilter hooks are not for netdev tables. */
	e2e_init(&t, BF_HOOK_NF_FORWARD, BF_FAMILY_NETDEV, BF_VERDICT_ACCEPT);
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_IPV4, -EINVAL,
			      NEEDLES("chain 'base'", "hook"));
	e2e_fini(&t);
	(void)state;
}

static void test_missing_chain(void **state)
{
	struct e2e t;

	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_VERDICT_ACCEPT);
	e2e_chain(&t, "regular");
	E2E_RULE(&t, "regular", e2e_drop());
	expect_generate_fails(&t, "nosuchchain", BF_NFPROTO_UNSPEC, -ENOENT,
			      NEEDLES("nosuchchain"));
	/* A regular chain has no program of its own. */
	expect_generate_fails(&t, "regular", BF_NFPROTO_UNSPEC, -ENOENT,
			      NEEDLES("regular"));
	e2e_fini(&t);
	(void)state;
}

static void test_nfproto(void **state)
{
	struct e2e t;

	/* An inet chain serves both families: nfproto must say which. */
	e2e_init(&t, BF_HOOK_NF_LOCAL_IN, BF_FAMILY_INET, BF_VERDICT_ACCEPT);
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_UNSPEC, -EINVAL,
			      NEEDLES("base", "nfproto"));
	expect_generate_fails(&t, E2E_BASE, 7, -EINVAL, NEEDLES("nfproto"));
	e2e_fini(&t);

	/* An ip table is IPv4 only. */
	e2e_init(&t, BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_VERDICT_ACCEPT);
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_IPV6, -EINVAL,
			      NEEDLES("nfproto"));
	e2e_fini(&t);

	/* nfproto is for netfilter hooks only. */
	e2e_init(&t, BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_VERDICT_ACCEPT);
	expect_generate_fails(&t, E2E_BASE, BF_NFPROTO_IPV4, -EINVAL,
			      NEEDLES("nfproto"));
	e2e_fini(&t);
	(void)state;
}

/* A valid program at @hook, generated (not loaded). */
static struct bf_program *generate_valid(struct e2e *t, enum bf_hook hook,
					 enum bf_family family, int nfproto)
{
	struct bf_program *prog = NULL;
	char errbuf[ERRLEN] = "";
	int r;

	e2e_init(t, hook, family, BF_VERDICT_ACCEPT);
	E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 1),
		 e2e_cmp_u8(BF_CMP_EQ, 1, 17), bf_expr_counter(), e2e_drop());
	r = bf_program_generate(&prog, t->table, E2E_BASE, nfproto, errbuf,
				sizeof(errbuf));
	if (r)
		fprintf(stderr, "# generate: %d (%s)\n", r, errbuf);
	assert_int_equal(r, 0);
	assert_non_null(prog);
	return prog;
}

/* Replace instruction @idx by @bad, expect the verifier to refuse with a
 * log containing @msg, then restore it and load for real. */
static void verifier_rejects(enum bf_hook hook, enum bf_family family,
			     int nfproto, size_t idx, struct bpf_insn bad,
			     const char *msg)
{
	struct e2e t;
	struct bf_program *prog = generate_valid(&t, hook, family, nfproto);
	struct bpf_insn good;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	int r, ret = -1;

	assert_true(idx < prog->n_insns);
	good = prog->insns[idx];
	prog->insns[idx] = bad;

	memset(_log, 0, sizeof(_log));
	r = bf_program_load(prog, _log, sizeof(_log));
	fprintf(stderr, "# load of the corrupted program: %d\n", r);
	assert_true(r < 0);
	assert_non_null(memchr(_log, '\0', sizeof(_log)));
	if (!strstr(_log, msg))
		fprintf(stderr, "# verifier log (no '%s'):\n%s\n", msg, _log);
	assert_non_null(strstr(_log, msg));
	/* Nothing left behind. */
	assert_int_equal(bf_program_fd(prog), -1);
	assert_int_equal(bf_program_counters_fd(prog), -1);
	assert_int_equal(bf_program_test_run(prog, "x", 1, 1, &ret, NULL), -EBADF);

	/* Fixed: the same program object loads and runs. */
	prog->insns[idx] = good;
	r = bf_program_load(prog, _log, sizeof(_log));
	if (r)
		fprintf(stderr, "# reload: %d\n%s\n", r, _log);
	assert_int_equal(r, 0);
	assert_true(bf_program_fd(prog) >= 0);
	assert_int_equal(bf_program_load(prog, _log, sizeof(_log)), -EALREADY);

	pkt_spec_init(&spec, 4, PKT_PROTO_UDP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	assert_int_equal(bf_program_test_run(prog, pkt, len, 1, &ret, NULL), 0);
	assert_int_equal(ret, e2e_retval(hook, BF_VERDICT_DROP));
	{
		uint64_t packets = 0, bytes = 0;

		assert_int_equal(bf_program_get_counter(prog, E2E_BASE, 0, 2,
							&packets, &bytes),
				 0);
		assert_int_equal(packets, 1);
	}

	bf_program_free(&prog);
	assert_null(prog);
	e2e_fini(&t);
}

static void test_verifier_uninit_r0(void **state)
{
	/* Instruction 0 is "r6 = r1"; "r6 = r0" reads r0 before any call. */
	verifier_rejects(BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_NFPROTO_UNSPEC, 0,
			 BF_MOV64_REG(BPF_REG_6, BPF_REG_0), "R0 !read_ok");
	(void)state;
}

static void test_verifier_stack_oob(void **state)
{
	verifier_rejects(BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV, BF_NFPROTO_UNSPEC,
			 0, BF_ST_MEM(BPF_DW, BPF_REG_10, -1024, 0),
			 "invalid write to stack");
	(void)state;
}

static void test_verifier_nf(void **state)
{
	verifier_rejects(BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_NFPROTO_IPV4, 0,
			 BF_MOV64_REG(BPF_REG_6, BPF_REG_0), "R0 !read_ok");
	(void)state;
}

/* A corrupted program that is never fixed frees cleanly. */
static void test_verifier_free(void **state)
{
	struct e2e t;
	struct bf_program *prog = generate_valid(&t, BF_HOOK_CGROUP_SKB_INGRESS,
						 BF_FAMILY_INET,
						 BF_NFPROTO_UNSPEC);

	prog->insns[prog->n_insns - 1] = BF_MOV64_IMM(BPF_REG_0, 0);
	/* Falls off the end: the last instruction is no longer an exit. */
	assert_true(bf_program_load(prog, _log, sizeof(_log)) < 0);
	assert_true(strlen(_log) > 0);
	/* A log buffer of one byte, or none. */
	assert_true(bf_program_load(prog, _log, 1) < 0);
	assert_int_equal(_log[0], '\0');
	assert_true(bf_program_load(prog, NULL, 0) < 0);
	assert_int_equal(bf_program_fd(prog), -1);
	bf_program_free(&prog);
	bf_program_free(&prog); /* NULL: nothing */
	e2e_fini(&t);
	(void)state;
}

static void test_missing_cgroup(void **state)
{
	static const char *const paths[] = {
		"/sys/fs/cgroup/bf-test-no-such-cgroup",
		"/sys/fs/cgroup/unified/bf-test-no-such-cgroup",
		"bf-test-no-such-cgroup",
		"/nonexistent/bf-test",
		"/tmp", /* a directory, not a cgroup v2 one */
	};
	struct e2e t;
	struct bf_program *prog = generate_valid(&t, BF_HOOK_CGROUP_SKB_EGRESS,
						 BF_FAMILY_INET,
						 BF_NFPROTO_UNSPEC);

	assert_int_equal(bf_program_load(prog, _log, sizeof(_log)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct bf_link_opts opts = { .cgroup = paths[i] };
		struct bf_link *link = LINK_SENTINEL;
		int r = bf_link_attach(&link, prog, &opts);

		if (r != -ENOENT)
			fprintf(stderr, "# cgroup '%s': %d\n", paths[i], r);
		assert_int_equal(r, -ENOENT);
		assert_ptr_equal(link, LINK_SENTINEL);
	}
	/* The chain has no cgroup and none is given. */
	{
		struct bf_link *link = LINK_SENTINEL;

		assert_int_equal(bf_link_attach(&link, prog, NULL), -ENOENT);
		assert_ptr_equal(link, LINK_SENTINEL);
	}
	bf_program_free(&prog);
	e2e_fini(&t);
	(void)state;
}

/* A program that is not loaded cannot be attached. */
static void test_attach_unloaded(void **state)
{
	struct e2e t;
	struct bf_program *prog = generate_valid(&t, BF_HOOK_CGROUP_SKB_EGRESS,
						 BF_FAMILY_INET,
						 BF_NFPROTO_UNSPEC);
	struct bf_link_opts opts = { .cgroup = "/sys/fs/cgroup/unified" };
	struct bf_link *link = LINK_SENTINEL;

	assert_int_equal(bf_link_attach(&link, prog, &opts), -EINVAL);
	assert_ptr_equal(link, LINK_SENTINEL);
	bf_program_free(&prog);
	e2e_fini(&t);
	(void)state;
}

/*
 * Child side. No cmocka assertions here (a failure would longjmp into the
 * parent's copy of the runner): CHECK prints and exits with status 1.
 */
#define CHILD_SKIP 4

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "# child: %s:%d: %s\n", __FILE__,       \
				__LINE__, #cond);                             \
			fflush(stderr);                                       \
			_exit(1);                                             \
		}                                                             \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long _a = (long)(a), _b = (long)(b);                          \
		if (_a != _b) {                                               \
			fprintf(stderr, "# child: %s:%d: %s == %ld, want %ld\n", \
				__FILE__, __LINE__, #a, _a, _b);              \
			fflush(stderr);                                       \
			_exit(1);                                             \
		}                                                             \
	} while (0)

/* Generate and load a one-rule program at @hook; NULL on failure. */
static struct bf_program *child_prog(struct bf_table **tablep,
				     enum bf_hook hook, enum bf_verdict policy,
				     const char *ifname)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL;
	struct bf_program *prog = NULL;
	char errbuf[ERRLEN] = "";
	int r;

	CHECK_EQ(bf_table_new(&table, "t", BF_FAMILY_NETDEV), 0);
	CHECK_EQ(bf_chain_new_base(&chain, E2E_BASE, hook, 0, policy), 0);
	if (ifname)
		snprintf(chain->ifname, sizeof(chain->ifname), "%s", ifname);
	CHECK_EQ(bf_table_add_chain(table, &chain), 0);
	r = bf_program_generate(&prog, table, E2E_BASE, BF_NFPROTO_UNSPEC,
				errbuf, sizeof(errbuf));
	if (r)
		fprintf(stderr, "# child: generate: %d (%s)\n", r, errbuf);
	CHECK_EQ(r, 0);
	r = bf_program_load(prog, _log, sizeof(_log));
	if (r)
		fprintf(stderr, "# child: load: %d\n%s\n", r, _log);
	CHECK_EQ(r, 0);
	*tablep = table;
	return prog;
}

static uint32_t prog_id(const struct bf_program *prog)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	CHECK_EQ(bpf_prog_get_info_by_fd(bf_program_fd(prog), &info, &len), 0);
	CHECK(info.id != 0);
	return info.id;
}

/* The chain program in place behind the attach point's dispatcher. */
static uint32_t link_prog_id(const struct bf_link *link)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);

	CHECK_EQ(bpf_link_get_info_by_fd(bf_link_fd(link), &info, &len), 0);
	CHECK(info.prog_id != 0);
	return bf_link_prog_id(link);
}

/* A fresh network namespace holding veth0 <-> veth1, both up. */
static int child_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "# child: unshare(CLONE_NEWNET): %s\n",
			strerror(errno));
		return -errno;
	}
	if (system("ip link add veth0 type veth peer name veth1 && "
		   "ip link set veth0 up && ip link set veth1 up")) {
		fprintf(stderr, "# child: cannot create a veth pair\n");
		return -ENODEV;
	}
	return 0;
}

/* Run @fn in a forked child in its own netns; assert it passed. */
static void run_in_netns(int (*fn)(void))
{
	int status = 0;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (child_netns())
			_exit(CHILD_SKIP);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int child_missing_interface(void)
{
	static const enum bf_hook hooks[] = {
		BF_HOOK_XDP, BF_HOOK_TC_INGRESS, BF_HOOK_TC_EGRESS,
	};

	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		struct bf_table *table = NULL;
		struct bf_program *prog = child_prog(&table, hooks[i],
						     BF_VERDICT_ACCEPT,
						     "bfnosuch0");
		struct bf_link_opts opts = { .ifname = "bfnosuch1" };
		struct bf_link *link = LINK_SENTINEL;

		/* From the options, from the chain, and no name at all. */
		CHECK_EQ(bf_link_attach(&link, prog, &opts), -ENODEV);
		CHECK(link == LINK_SENTINEL);
		CHECK_EQ(bf_link_attach(&link, prog, NULL), -ENODEV);
		CHECK(link == LINK_SENTINEL);
		snprintf(prog->ifname, sizeof(prog->ifname), "%s", "");
		CHECK_EQ(bf_link_attach(&link, prog, NULL), -ENODEV);
		CHECK(link == LINK_SENTINEL);

		/* The interface that exists works: the failures were about
		 * the name only. */
		opts.ifname = "veth0";
		opts.xdp_skb_mode = true;
		CHECK_EQ(bf_link_attach(&link, prog, &opts), 0);
		CHECK(link != LINK_SENTINEL && link);
		CHECK(bf_link_fd(link) >= 0);
		bf_link_free(&link);
		CHECK(link == NULL);

		bf_program_free(&prog);
		bf_table_free(&table);
	}
	return 0;
}

static void test_missing_interface(void **state)
{
	run_in_netns(child_missing_interface);
	(void)state;
}

/* A program whose hook says @hook but which the kernel loaded as @real's
 * program type: bf_link_replace() lets it through, the kernel refuses. */
static struct bf_program *child_fake_prog(struct bf_table **tablep,
					  enum bf_hook real, enum bf_hook hook)
{
	struct bf_program *prog = child_prog(tablep, real, BF_VERDICT_DROP, NULL);

	prog->hook = hook;
	return prog;
}

static int child_replace_refused(void)
{
	struct bf_table *t_tc = NULL, *t_tc2 = NULL, *t_tc3 = NULL, *t_xdp = NULL,
			*t_xdp2 = NULL, *t_fake = NULL, *t_fake2 = NULL;
	struct bf_program *tc = child_prog(&t_tc, BF_HOOK_TC_INGRESS,
					   BF_VERDICT_ACCEPT, "veth0");
	struct bf_program *tc2 = child_prog(&t_tc2, BF_HOOK_TC_INGRESS,
					    BF_VERDICT_DROP, "veth0");
	struct bf_program *tc3 = child_prog(&t_tc3, BF_HOOK_TC_INGRESS,
					    BF_VERDICT_DROP, "veth0");
	struct bf_program *xdp = child_prog(&t_xdp, BF_HOOK_XDP,
					    BF_VERDICT_ACCEPT, "veth0");
	struct bf_program *xdp2 = child_prog(&t_xdp2, BF_HOOK_XDP,
					     BF_VERDICT_DROP, "veth0");
	/* An XDP program dressed as a TC one, and the other way round. */
	struct bf_program *fake_tc = child_fake_prog(&t_fake, BF_HOOK_XDP,
						     BF_HOOK_TC_INGRESS);
	struct bf_program *fake_xdp = child_fake_prog(&t_fake2,
						      BF_HOOK_TC_INGRESS,
						      BF_HOOK_XDP);
	struct bf_link_opts xopts = { .xdp_skb_mode = true };
	struct bf_link *tcl = NULL, *xl = NULL;
	uint32_t id;

	/* TCX link. */
	CHECK_EQ(bf_link_attach(&tcl, tc, NULL), 0);
	id = prog_id(tc);
	CHECK_EQ(link_prog_id(tcl), id);

	/* Another hook's program: refused before the kernel. */
	CHECK_EQ(bf_link_replace(tcl, xdp, tc), -EINVAL);
	CHECK_EQ(link_prog_id(tcl), id);
	/* An XDP program the kernel sees for the TCX link: refused. */
	{
		int r = bf_link_replace(tcl, fake_tc, NULL);

		fprintf(stderr, "# child: XDP program onto a TCX link: %d\n", r);
		CHECK(r < 0);
		CHECK_EQ(link_prog_id(tcl), id);
	}
	/* A stale old program (not the one attached): the kernel refuses. */
	CHECK_EQ(bf_link_replace(tcl, tc2, tc3), -EPERM);
	CHECK_EQ(link_prog_id(tcl), id);
	/* A new program that is not loaded. */
	{
		struct bf_program *unloaded = NULL;
		char errbuf[ERRLEN];

		CHECK_EQ(bf_program_generate(&unloaded, t_tc2, E2E_BASE,
					     BF_NFPROTO_UNSPEC, errbuf,
					     sizeof(errbuf)),
			 0);
		CHECK_EQ(bf_link_replace(tcl, unloaded, tc), -EINVAL);
		CHECK_EQ(link_prog_id(tcl), id);
		bf_program_free(&unloaded);
	}
	/* The old program still answers as before. */
	{
		uint8_t pkt[PKT_MAX];
		struct pkt_spec spec;
		int len, ret = 0;

		pkt_spec_init(&spec, 4, PKT_PROTO_UDP);
		len = pkt_build(&spec, pkt, sizeof(pkt), NULL);
		CHECK(len > 0);
		CHECK_EQ(bf_program_test_run(tc, pkt, (size_t)len, 1, &ret, NULL), 0);
		CHECK_EQ(ret, E2E_TCX_NEXT);
	}
	/* And a valid replacement does change the program: the checks above
	 * can see a change. */
	CHECK_EQ(bf_link_replace(tcl, tc2, tc), 0);
	CHECK_EQ(link_prog_id(tcl), prog_id(tc2));

	/* XDP link. */
	CHECK_EQ(bf_link_attach(&xl, xdp, &xopts), 0);
	id = prog_id(xdp);
	CHECK_EQ(link_prog_id(xl), id);
	CHECK_EQ(bf_link_replace(xl, tc, xdp), -EINVAL);
	CHECK_EQ(link_prog_id(xl), id);
	{
		int r = bf_link_replace(xl, fake_xdp, xdp);

		fprintf(stderr, "# child: TC program onto an XDP link: %d\n", r);
		CHECK(r < 0);
		CHECK_EQ(link_prog_id(xl), id);
	}
	CHECK_EQ(bf_link_replace(xl, xdp2, xdp2), -EPERM);
	CHECK_EQ(link_prog_id(xl), id);
	CHECK_EQ(bf_link_replace(xl, xdp2, xdp), 0);
	CHECK_EQ(link_prog_id(xl), prog_id(xdp2));

	bf_link_free(&tcl);
	bf_link_free(&xl);
	bf_program_free(&tc);
	bf_program_free(&tc2);
	bf_program_free(&tc3);
	bf_program_free(&xdp);
	bf_program_free(&xdp2);
	bf_program_free(&fake_tc);
	bf_program_free(&fake_xdp);
	bf_table_free(&t_tc);
	bf_table_free(&t_tc2);
	bf_table_free(&t_tc3);
	bf_table_free(&t_xdp);
	bf_table_free(&t_xdp2);
	bf_table_free(&t_fake);
	bf_table_free(&t_fake2);
	return 0;
}

static void test_replace_refused(void **state)
{
	run_in_netns(child_replace_refused);
	(void)state;
}

/* A netfilter program without a valid nfproto cannot be attached, and a
 * replacement of the wrong family is refused; the old link stays. */
static int child_nf_refused(void)
{
	struct bf_table *table = NULL, *table6 = NULL;
	struct bf_chain *chain = NULL;
	struct bf_program *p4 = NULL, *p6 = NULL;
	struct bf_link *link = NULL, *bad = LINK_SENTINEL;
	char errbuf[ERRLEN];
	uint32_t id;

	CHECK_EQ(bf_table_new(&table, "t", BF_FAMILY_IP), 0);
	CHECK_EQ(bf_chain_new_base(&chain, E2E_BASE, BF_HOOK_NF_LOCAL_IN, 10,
				   BF_VERDICT_ACCEPT),
		 0);
	CHECK_EQ(bf_table_add_chain(table, &chain), 0);
	CHECK_EQ(bf_program_generate(&p4, table, E2E_BASE, BF_NFPROTO_UNSPEC,
				     errbuf, sizeof(errbuf)),
		 0);
	CHECK_EQ(bf_program_load(p4, _log, sizeof(_log)), 0);

	CHECK_EQ(bf_table_new(&table6, "t6", BF_FAMILY_IP6), 0);
	CHECK_EQ(bf_chain_new_base(&chain, E2E_BASE, BF_HOOK_NF_LOCAL_IN, 10,
				   BF_VERDICT_ACCEPT),
		 0);
	CHECK_EQ(bf_table_add_chain(table6, &chain), 0);
	CHECK_EQ(bf_program_generate(&p6, table6, E2E_BASE, BF_NFPROTO_UNSPEC,
				     errbuf, sizeof(errbuf)),
		 0);
	CHECK_EQ(bf_program_load(p6, _log, sizeof(_log)), 0);

	CHECK_EQ(bf_link_attach(&link, p4, NULL), 0);
	id = prog_id(p4);
	CHECK_EQ(link_prog_id(link), id);

	/* The same program twice: refused (one successor each). */
	CHECK_EQ(bf_link_attach(&bad, p4, NULL), -EEXIST);
	CHECK(bad == LINK_SENTINEL);
	/* Another chain at the same priority shares the point, and goes
	 * first, as nf_tables orders the later of equal priorities. */
	{
		struct bf_program *q4 = NULL;
		struct bf_link *second = NULL;

		CHECK_EQ(bf_program_generate(&q4, table, E2E_BASE, BF_NFPROTO_UNSPEC,
					     errbuf, sizeof(errbuf)),
			 0);
		CHECK_EQ(bf_program_load(q4, _log, sizeof(_log)), 0);
		CHECK_EQ(bf_link_attach(&second, q4, NULL), 0);
		CHECK_EQ(bf_link_fd(second), bf_link_fd(link));
		CHECK_EQ(link_prog_id(second), prog_id(q4));
		/* p4 now behind q4: read from q4's next array. */
		CHECK_EQ(link_prog_id(link), id);
		bf_link_free(&second);
		CHECK_EQ(link_prog_id(link), id);
		bf_program_free(&q4);
	}

	CHECK_EQ(bf_link_replace(link, p6, p4), -EINVAL);
	CHECK_EQ(link_prog_id(link), id);

	/* No nfproto. */
	p6->nfproto = BF_NFPROTO_UNSPEC;
	CHECK_EQ(bf_link_attach(&bad, p6, NULL), -EINVAL);
	CHECK(bad == LINK_SENTINEL);

	bf_link_free(&link);
	bf_program_free(&p4);
	bf_program_free(&p6);
	bf_table_free(&table);
	bf_table_free(&table6);
	return 0;
}

static void test_nf_refused(void **state)
{
	run_in_netns(child_nf_refused);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_jump_target),
		cmocka_unit_test(test_jump_loop),
		cmocka_unit_test(test_unset_register),
		cmocka_unit_test(test_oversize_payload),
		cmocka_unit_test(test_payload_offset_too_large),
		cmocka_unit_test(test_bad_hook_for_family),
		cmocka_unit_test(test_missing_chain),
		cmocka_unit_test(test_nfproto),
		cmocka_unit_test(test_verifier_uninit_r0),
		cmocka_unit_test(test_verifier_stack_oob),
		cmocka_unit_test(test_verifier_nf),
		cmocka_unit_test(test_verifier_free),
		cmocka_unit_test(test_missing_cgroup),
		cmocka_unit_test(test_attach_unloaded),
		cmocka_unit_test(test_missing_interface),
		cmocka_unit_test(test_replace_refused),
		cmocka_unit_test(test_nf_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
