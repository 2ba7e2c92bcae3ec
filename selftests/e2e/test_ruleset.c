/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ruleset core (daemon/ruleset.h) and the front-end registry
 * (daemon/front.h), driven as a front-end drives them: IR tables with
 * their base chains declared, handles kept between commits, counters read
 * through the core, refusals that name the chain and leave nothing behind.
 *
 * The test unshares a network namespace first: what it attaches is seen
 * by nobody else; the namespace is entered through the fd its context
 * keeps, as in the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "common/e2e.h"
#include "daemon/front.h"
#include "daemon/netns.h"
#include "daemon/ruleset.h"

#define T_PRIO 7

static struct bf_netns_registry *_reg;
static struct bf_netns_ctx *_ctx;

/* Table "t" (ip): base chain @base at @hook whose rules are each one
 * counter, @n_rules of them. */
static struct bf_table *_table(const char *base, enum bf_hook hook,
			       size_t n_rules)
{
	struct bf_table *t = NULL;
	struct bf_chain *c = NULL;

	assert_int_equal(bf_table_new(&t, "t", BF_FAMILY_IP), 0);
	assert_int_equal(bf_chain_new_base(&c, base, hook, 0,
					   BF_VERDICT_ACCEPT), 0);
	for (size_t i = 0; i < n_rules; i++) {
		struct bf_rule *r = NULL;
		struct bf_expr e = bf_expr_counter();

		assert_int_equal(bf_rule_new(&r), 0);
		assert_int_equal(bf_rule_add_expr(r, &e), 0);
		assert_int_equal(bf_chain_add_rule(c, &r), 0);
	}
	assert_int_equal(bf_table_add_chain(t, &c), 0);

	return t;
}

static int _add_base(struct bf_table *t, const char *base, enum bf_hook hook)
{
	struct bf_chain *c = NULL;
	int r = bf_chain_new_base(&c, base, hook, 0, BF_VERDICT_ACCEPT);

	if (!r)
		r = bf_table_add_chain(t, &c);
	bf_chain_free(&c);
	return r;
}

static void _udp_to_lo(void)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, "x", 1, 0, (void *)&to, sizeof(to)), 1);
	close(fd);
}

static void test_dry_run(void **state)
{
	struct bf_table *t = _table("base", BF_HOOK_NF_LOCAL_OUT, 1);
	struct bf_rs_base b = {
		.name = "base",
		.hook = BF_HOOK_NF_LOCAL_OUT,
		.priority = T_PRIO,
	};
	struct bf_rs_table tt = { .ir = t, .bases = &b, .n_bases = 1 };
	struct bf_rs_error err;
	uint64_t p, by;

	(void)state;
	bf_ruleset_set_dry_run(true);

	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), 0);
	assert_non_null(b.rs);
	/* Generated, never loaded: no counter to read. */
	assert_int_equal(bf_rs_chain_counter(b.rs, "base", 0, 0, &p, &by),
			 -ENOENT);
	bf_rs_chain_free(&b.rs);
	assert_null(b.rs);

	/* A base chain the IR does not have: refused, blamed, untouched. */
	b.name = "nope";
	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), -EINVAL);
	assert_int_equal(err.stage, BF_RS_STAGE_COMPILE);
	assert_int_equal(err.table, 0);
	assert_int_equal(err.base, 0);
	assert_non_null(strstr(err.msg, "nope"));
	assert_null(b.rs);

	bf_ruleset_set_dry_run(false);
	bf_table_free(&t);
}

static void test_attach_count_update(void **state)
{
	struct bf_table *t = _table("base", BF_HOOK_NF_LOCAL_OUT, 1);
	struct bf_rs_base b = {
		.name = "base",
		.hook = BF_HOOK_NF_LOCAL_OUT,
		.priority = T_PRIO,
	};
	struct bf_rs_table tt = { .ir = t, .bases = &b, .n_bases = 1 };
	struct bf_rs_chain *first;
	struct bf_rs_error err;
	uint64_t p, by, p0;

	(void)state;
	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), 0);
	assert_non_null(b.rs);
	first = b.rs;

	_udp_to_lo();
	assert_int_equal(bf_rs_chain_counter(b.rs, "base", 0, 0, &p0, &by), 0);
	assert_true(p0 >= 1);
	assert_int_equal(bf_rs_chain_policy_counter(b.rs, &p, &by), 0);
	assert_true(p >= 1);
	/* Not a counter of this chain's programs. */
	assert_int_equal(bf_rs_chain_counter(b.rs, "other", 0, 0, &p, &by),
			 -ENOENT);

	/* A second rule, the first one shared (counters follow the rule,
	 * bf_rule.id, as a front-end keeps its rules): the same handle,
	 * swapped in, the first rule's counter carried over. */
	{
		struct bf_table *t2 = _table("base", BF_HOOK_NF_LOCAL_OUT, 1);
		struct bf_chain *c1 = bf_table_get_chain(t, "base");
		struct bf_chain *c2 = bf_table_get_chain(t2, "base");
		struct bf_rule *r0 = bf_rule_get(c1->rules[0]);

		/* [r0, new] */
		assert_int_equal(bf_chain_add_rule(c2, &r0), 0);
		r0 = c2->rules[0];
		c2->rules[0] = c2->rules[1];
		c2->rules[1] = r0;
		bf_table_free(&t);
		t = t2;
	}
	tt.ir = t;
	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), 0);
	assert_ptr_equal(b.rs, first);
	assert_int_equal(bf_rs_chain_counter(b.rs, "base", 0, 0, &p, &by), 0);
	assert_true(p >= p0);
	_udp_to_lo();
	assert_int_equal(bf_rs_chain_counter(b.rs, "base", 1, 0, &p, &by), 0);
	assert_true(p >= 1);

	bf_rs_chain_free(&b.rs);
	bf_table_free(&t);
}

static void test_attach_failure_undone(void **state)
{
	struct bf_table *t = _table("base", BF_HOOK_NF_LOCAL_OUT, 1);
	struct bf_rs_base b[2] = {
		{
			.name = "base",
			.hook = BF_HOOK_NF_LOCAL_OUT,
			.priority = T_PRIO,
		},
		{
			.name = "cg",
			.hook = BF_HOOK_CGROUP_SKB_INGRESS,
			.cgroup = "/sys/fs/cgroup/bpfilter-test-no-such-cgroup",
		},
	};
	struct bf_rs_table tt = { .ir = t, .bases = b, .n_bases = 2 };
	struct bf_rs_error err;

	(void)state;
	assert_int_equal(_add_base(t, "cg", BF_HOOK_CGROUP_SKB_INGRESS), 0);

	/* The first chain attaches, the second cannot: all undone. */
	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), -ENOENT);
	assert_int_equal(err.stage, BF_RS_STAGE_ATTACH);
	assert_int_equal(err.table, 0);
	assert_int_equal(err.base, 1);
	assert_non_null(strstr(err.msg, "cg"));
	assert_null(b[0].rs);
	assert_null(b[1].rs);

	/* Nothing was left at the first chain's hook and priority: it
	 * attaches there again alone. */
	tt.n_bases = 1;
	assert_int_equal(bf_ruleset_commit(_ctx, &tt, 1, &err), 0);
	assert_non_null(b[0].rs);
	bf_rs_chain_free(&b[0].rs);
	bf_table_free(&t);
}

static void test_no_netns_fd(void **state)
{
	struct bf_netns_ctx *ctx = NULL;
	struct bf_table *t = _table("base", BF_HOOK_NF_LOCAL_OUT, 1);
	struct bf_rs_base b = {
		.name = "base",
		.hook = BF_HOOK_NF_LOCAL_OUT,
		.priority = T_PRIO,
	};
	struct bf_rs_table tt = { .ir = t, .bases = &b, .n_bases = 1 };
	struct bf_rs_error err;

	(void)state;
	/* A context with no namespace fd cannot be entered: the core never
	 * falls back to /proc/PID/ns/net. */
	assert_int_equal(bf_netns_ctx_acquire(_reg, 0, 12345, 1, -1, &ctx), 0);
	assert_int_equal(bf_ruleset_commit(ctx, &tt, 1, &err), -EBADF);
	assert_int_equal(err.stage, BF_RS_STAGE_NETNS);
	assert_int_equal(err.table, SIZE_MAX);
	assert_int_equal(err.base, SIZE_MAX);
	assert_null(b.rs);
	bf_netns_ctx_release(_reg, &ctx);
	bf_table_free(&t);
}

static int _open_dummy(struct bf_client *c, const struct bf_frame_hdr *hdr,
		       const void *payload)
{
	(void)c;
	(void)hdr;
	(void)payload;
	return 0;
}

static void test_front_registry(void **state)
{
	static const struct bf_front_ops a = {
		.name = "a",
		.front = BF_FRONT_IPT,
		.open_type = BF_MSG_NL_OPEN,
		.open = _open_dummy,
		.frame_types = 1ull << BF_MSG_NL_SEND,
		.frame = _open_dummy,
	};
	static const struct bf_front_ops same_slot = {
		.name = "b",
		.front = BF_FRONT_IPT,
	};
	static const struct bf_front_ops same_type = {
		.name = "c",
		.front = BF_FRONT_CLI,
		.frame_types = 1ull << BF_MSG_NL_OPEN,
		.frame = _open_dummy,
	};
	static const struct bf_front_ops bad = {
		.name = "d",
		.front = _BF_FRONT_MAX,
	};

	(void)state;
	assert_int_equal(bf_front_register(&a), 0);
	assert_ptr_equal(bf_front_get(BF_FRONT_IPT), &a);
	assert_int_equal(bf_front_register(&same_slot), -EEXIST);
	assert_int_equal(bf_front_register(&same_type), -EEXIST);
	assert_int_equal(bf_front_register(&bad), -EINVAL);
	assert_null(bf_front_get(BF_FRONT_CLI));
}

static int _lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_attach_count_update),
		cmocka_unit_test(test_attach_failure_undone),
		cmocka_unit_test(test_no_netns_fd),
		cmocka_unit_test(test_front_registry),
	};
	struct stat st;
	int fd, r;

	if (unshare(CLONE_NEWNET) < 0 || _lo_up()) {
		fprintf(stderr, "SKIP: cannot make a network namespace: %s\n",
			strerror(errno));
		return 4;
	}
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || bf_netns_registry_new(&_reg) ||
	    bf_netns_ctx_acquire(_reg, st.st_dev, st.st_ino, 0, fd, &_ctx)) {
		fprintf(stderr, "cannot set up the netns context\n");
		return 1;
	}
	close(fd);

	r = cmocka_run_group_tests(tests, NULL, NULL);

	bf_netns_ctx_release(_reg, &_ctx);
	bf_netns_registry_free(&_reg);

	return r;
}
