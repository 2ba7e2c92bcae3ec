/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * build/bench: rule-scale benchmark of the compiler core, side by side with
 * kernel nftables.
 *
 * Two series of chains with a DROP policy, each compiled for XDP and for
 * netfilter (NF_LOCAL_IN, IPv4) at every chain size:
 *   udp    N rules `udp dport P counter accept`: consecutive rules share
 *          their prefix and form one group;
 *   mixed  N rules cycling through `tcp dport P`, `ip saddr A`,
 *          `udp dport P`, `ip daddr A/24` (each `counter accept`): no two
 *          consecutive rules share a prefix, so each rule is compiled on
 *          its own.
 * Measured: codegen time, load time (maps + verifier), emitted and xlated
 * instruction counts, the instructions the verifier processed, the marginal
 * xlated instructions per rule, and the per-packet cost with
 * BPF_PROG_TEST_RUN on a UDP packet (10.0.0.1 -> 10.0.0.2, port 9) that no
 * rule matches, so that every rule is evaluated and the policy decides.
 *
 * Beside it, the same ruleset is loaded into kernel nftables with `nft -f`
 * in a scratch network namespace this program creates and always deletes;
 * the host's ruleset is never touched.
 *
 * A benchmark measures; it asserts nothing about timings. The exit status is
 * non-zero only when something failed to build, load or run, or a program
 * gave a wrong verdict or count.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/netfilter.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"
#include "common/packets.h"

#define BENCH_SIZES_MAX 32
#define BENCH_RULES_MAX 1000000
#define BENCH_REPEAT_DEFAULT 100000
#define BENCH_NFT_RUNS_DEFAULT 3
#define BENCH_NFT_RUNS_MAX 16
/* Rules match ports BENCH_PORT_BASE + i; the packet goes to BENCH_PKT_DPORT,
 * below every rule's port. */
#define BENCH_PORT_BASE 1024
#define BENCH_PKT_DPORT 9
#define BENCH_PKT_LEN 64
#define BENCH_LOG_LEN (1 << 20)
#define BENCH_LOG_TAIL 2048

struct bench_hook {
	const char *name;
	enum bf_hook hook;
	enum bf_family family;
	int nfproto;
	int expect_ret; /* the program's return value for DROP */
};

static const struct bench_hook _bench_hooks[] = {
	{ "xdp", BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_NFPROTO_UNSPEC, 1 /* XDP_DROP */ },
	{ "nf_local_in", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_NFPROTO_IPV4, NF_DROP },
};

#define BENCH_HOOKS ARRAY_SIZE(_bench_hooks)

/* One measurement of one hook at one size. */
struct bench_result {
	bool ok;
	size_t rules;
	double gen_ms;
	double load_ms;
	size_t insns;
	uint32_t xlated;
	uint32_t verified;
	uint32_t ns_per_pkt;
	int retval;
	uint64_t policy_packets; /* after the runs: should be the repeat count */
};

struct bench_opts {
	size_t sizes[BENCH_SIZES_MAX];
	size_t n_sizes;
	uint32_t repeat;
	unsigned int nft_runs;
	bool nft;
	unsigned int series; /* bit i: _bench_series[i] runs */
};

/* Scratch netns: path under /run/netns, cleaned up from atexit() and from
 * fatal signals, so only async-signal-safe calls in the cleanup. */
static char _bench_netns_path[128];
static volatile sig_atomic_t _bench_netns_live;
/* The nft ruleset file being used, removed by the same cleanup. */
static char _bench_nft_path[64];
static volatile sig_atomic_t _bench_nft_live;

static double _bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ----------------------------------------------------------------------- */
/* The packet: Ethernet + IPv4 + UDP, 64 bytes, to a port no rule matches. */

static int _bench_build_packet(uint8_t *buf, size_t cap)
{
	struct pkt_spec spec;

	pkt_spec_init(&spec, 4, PKT_PROTO_UDP);
	spec.sport = 40000;
	spec.dport = BENCH_PKT_DPORT;
	spec.payload_len = BENCH_PKT_LEN - PKT_ETH_HLEN - PKT_IP4_HLEN -
			   pkt_l4_hlen(PKT_PROTO_UDP);

	return pkt_build(&spec, buf, cap, NULL);
}

/* ----------------------------------------------------------------------- */
/* bpfilter side. */

/* Append @n expressions to @chain as one rule. */
static int _bench_add_exprs(struct bf_chain *chain, const struct bf_expr *exprs,
			    size_t n)
{
	struct bf_rule *rule = NULL;
	int r;

	r = bf_rule_new(&rule);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = bf_rule_add_expr(rule, &exprs[i]);
		if (r)
			goto err_free;
	}
	r = bf_chain_add_rule(chain, &rule);
	if (r)
		goto err_free;
	return 0;

err_free:
	bf_rule_free(&rule);
	return r;
}

/* `<l4> dport @port`, as nft lowers it. */
static size_t _bench_l4_dport(struct bf_expr *exprs, uint8_t l4proto,
			      uint16_t port)
{
	struct bf_data proto, dport;

	bf_data_u8(&proto, l4proto);
	bf_data_be16(&dport, port);
	exprs[0] = bf_expr_meta(BF_META_L4PROTO, 0);
	exprs[1] = bf_expr_cmp(BF_CMP_EQ, 0, &proto);
	exprs[2] = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0);
	exprs[3] = bf_expr_cmp(BF_CMP_EQ, 0, &dport);
	return 4;
}

/* `ip saddr|daddr @addr/@plen`, as nft lowers it: in a netdev table it
 * first checks `meta protocol ip`; a prefix is a mask, then a test. */
static size_t _bench_ip_addr(struct bf_expr *exprs, enum bf_family family,
			     uint16_t offset, uint32_t addr, unsigned int plen)
{
	struct bf_data proto, a, mask, xor;
	uint32_t m = plen ? ~0u << (32 - plen) : 0;
	size_t n = 0;

	if (family == BF_FAMILY_NETDEV) {
		bf_data_be16(&proto, 0x0800);
		exprs[n++] = bf_expr_meta(BF_META_PROTOCOL, 0);
		exprs[n++] = bf_expr_cmp(BF_CMP_EQ, 0, &proto);
	}
	exprs[n++] = bf_expr_payload(BF_PAYLOAD_NH, offset, 4, 0);
	if (plen < 32) {
		bf_data_be32(&mask, m);
		bf_data_be32(&xor, 0);
		exprs[n++] = bf_expr_bitwise_bool(0, 0, 4, &mask, &xor);
	}
	bf_data_be32(&a, addr & m);
	exprs[n++] = bf_expr_cmp(BF_CMP_EQ, 0, &a);
	return n;
}

/* Rule @i of the mixed series has shape i % 4 and values of its own, never
 * the packet's (10.0.0.1 -> 10.0.0.2, UDP port 9). The order keeps the two
 * `ip` shapes apart: in a netdev table they share `meta protocol ip`. */
#define BENCH_MIXED_SADDR 0xc0a80000u /* 192.168.0.0 + i */
#define BENCH_MIXED_DNET 0xac100000u /* 172.16.0.0 + (i << 8), /24 */

static size_t _bench_mixed_exprs(struct bf_expr *exprs, enum bf_family family,
				 size_t i)
{
	uint16_t port = (uint16_t)(BENCH_PORT_BASE + i);

	switch (i % 4) {
	case 0:
		return _bench_l4_dport(exprs, IPPROTO_TCP, port);
	case 1:
		return _bench_ip_addr(exprs, family, 12,
				      BENCH_MIXED_SADDR + (uint32_t)i, 32);
	case 2:
		return _bench_l4_dport(exprs, IPPROTO_UDP, port);
	default:
		return _bench_ip_addr(exprs, family, 16,
				      BENCH_MIXED_DNET + ((uint32_t)i << 8), 24);
	}
}

static int _bench_add_rule_udp(struct bf_chain *chain, enum bf_family family,
			       size_t i)
{
	struct bf_expr exprs[8];
	size_t n;

	(void)family;
	n = _bench_l4_dport(exprs, IPPROTO_UDP, (uint16_t)(BENCH_PORT_BASE + i));
	exprs[n++] = bf_expr_counter();
	exprs[n++] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
	return _bench_add_exprs(chain, exprs, n);
}

static int _bench_add_rule_mixed(struct bf_chain *chain, enum bf_family family,
				 size_t i)
{
	struct bf_expr exprs[8];
	size_t n;

	n = _bench_mixed_exprs(exprs, family, i);
	exprs[n++] = bf_expr_counter();
	exprs[n++] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
	return _bench_add_exprs(chain, exprs, n);
}

static void _bench_ip4_str(char *buf, size_t len, uint32_t addr)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
		 (addr >> 8) & 0xff, addr & 0xff);
}

/* The same rules in nft syntax. */
static void _bench_nft_rule_udp(FILE *f, size_t i)
{
	fprintf(f, "\t\tudp dport %zu counter accept\n", BENCH_PORT_BASE + i);
}

static void _bench_nft_rule_mixed(FILE *f, size_t i)
{
	char a[16];

	switch (i % 4) {
	case 0:
		fprintf(f, "\t\ttcp dport %zu counter accept\n", BENCH_PORT_BASE + i);
		break;
	case 1:
		_bench_ip4_str(a, sizeof(a), BENCH_MIXED_SADDR + (uint32_t)i);
		fprintf(f, "\t\tip saddr %s counter accept\n", a);
		break;
	case 2:
		fprintf(f, "\t\tudp dport %zu counter accept\n", BENCH_PORT_BASE + i);
		break;
	default:
		_bench_ip4_str(a, sizeof(a), BENCH_MIXED_DNET + ((uint32_t)i << 8));
		fprintf(f, "\t\tip daddr %s/24 counter accept\n", a);
		break;
	}
}

struct bench_series {
	const char *name;
	const char *title;
	int (*add_rule)(struct bf_chain *chain, enum bf_family family, size_t i);
	void (*nft_rule)(FILE *f, size_t i);
};

static const struct bench_series _bench_series[] = {
	{ "udp", "N x 'udp dport P counter accept' (consecutive rules share a prefix)",
	  _bench_add_rule_udp, _bench_nft_rule_udp },
	{ "mixed",
	  "N rules cycling through 'tcp dport P', 'ip saddr A', 'udp dport P',\n"
	  "'ip daddr A/24', each 'counter accept' (no two consecutive rules share a prefix)",
	  _bench_add_rule_mixed, _bench_nft_rule_mixed },
};

#define BENCH_SERIES ARRAY_SIZE(_bench_series)

static int _bench_build_table(struct bf_table **out,
			      const struct bench_series *series,
			      const struct bench_hook *hook, size_t n_rules)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL;
	int r;

	r = bf_table_new(&table, "t", hook->family);
	if (r)
		return r;
	r = bf_chain_new_base(&chain, "c", hook->hook, 0, BF_VERDICT_DROP);
	if (r)
		goto err_table;
	for (size_t i = 0; i < n_rules; i++) {
		r = series->add_rule(chain, hook->family, i);
		if (r)
			goto err_chain;
	}
	r = bf_table_add_chain(table, &chain);
	if (r)
		goto err_chain;

	*out = table;
	return 0;

err_chain:
	bf_chain_free(&chain);
err_table:
	bf_table_free(&table);
	return r;
}

static void _bench_print_log_tail(const char *log)
{
	size_t len = strlen(log);

	if (!len)
		return;
	if (len > BENCH_LOG_TAIL)
		log += len - BENCH_LOG_TAIL;
	fprintf(stderr, "bench: verifier log (tail):\n%s\n", log);
}

static uint32_t _bench_verified_insns(const struct bf_program *prog)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_prog_get_info_by_fd(bf_program_fd(prog), &info, &len))
		return 0;
	return info.verified_insns;
}

static int _bench_run_bpfilter(struct bench_result *res,
			       const struct bench_series *series,
			       const struct bench_hook *hook, size_t n_rules,
			       uint32_t repeat, const uint8_t *pkt,
			       size_t pkt_len)
{
	struct bf_table *table = NULL;
	struct bf_program *prog = NULL;
	char errbuf[1024] = "";
	_cleanup_free_ char *log = NULL;
	uint64_t bytes;
	double t0;
	int r;

	memset(res, 0, sizeof(*res));
	res->rules = n_rules;

	r = _bench_build_table(&table, series, hook, n_rules);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: building the IR: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		return r;
	}

	t0 = _bench_now_ms();
	r = bf_program_generate(&prog, table, "c", hook->nfproto, errbuf,
				sizeof(errbuf));
	res->gen_ms = _bench_now_ms() - t0;
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: codegen failed: %s: %s\n",
			series->name, hook->name, n_rules, strerror(-r), errbuf);
		goto out;
	}
	res->insns = bf_program_insn_count(prog);

	log = calloc(1, BENCH_LOG_LEN);
	if (!log) {
		r = -ENOMEM;
		goto out;
	}
	t0 = _bench_now_ms();
	r = bf_program_load(prog, log, BENCH_LOG_LEN);
	res->load_ms = _bench_now_ms() - t0;
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: load failed after %.1f ms: %s\n",
			series->name, hook->name, n_rules, res->load_ms, strerror(-r));
		_bench_print_log_tail(log);
		goto out;
	}

	r = bf_program_xlated_count(prog, &res->xlated);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: xlated count: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	res->verified = _bench_verified_insns(prog);

	r = bf_program_test_run(prog, pkt, pkt_len, repeat, &res->retval,
				&res->ns_per_pkt);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: test run failed: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	/* Every run went through every rule to the policy. */
	r = bf_program_get_policy_counter(prog, &res->policy_packets, &bytes);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: policy counter: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	res->ok = true;

out:
	bf_program_free(&prog);
	bf_table_free(&table);
	return r;
}

static bool _bench_result_right(const struct bench_hook *hook,
				const struct bench_result *res, uint32_t repeat)
{
	return res->ok && res->retval == hook->expect_ret &&
	       res->policy_packets == repeat;
}

/*
 * The first codegen in a process parses vmlinux BTF (a one-time cost of
 * about 10 ms that a daemon pays once) and the first loads warm the
 * kernel's caches: do it once per hook before measuring.
 */
static void _bench_warmup(const uint8_t *pkt, size_t pkt_len)
{
	struct bench_result res;

	for (size_t h = 0; h < BENCH_HOOKS; h++)
		_bench_run_bpfilter(&res, &_bench_series[0], &_bench_hooks[h], 1,
				    1, pkt, pkt_len);
}

/* ----------------------------------------------------------------------- */
/* Kernel nftables side, in a scratch netns. */

static void _bench_netns_cleanup(void)
{
	if (_bench_nft_live) {
		_bench_nft_live = 0;
		unlink(_bench_nft_path);
	}
	if (!_bench_netns_live)
		return;
	_bench_netns_live = 0;
	/* What `ip netns delete` does; async-signal-safe. */
	umount2(_bench_netns_path, MNT_DETACH);
	unlink(_bench_netns_path);
}

static void _bench_on_signal(int sig)
{
	_bench_netns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void _bench_install_cleanup(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGABRT, SIGSEGV, SIGBUS, SIGFPE };
	struct sigaction sa = { .sa_handler = _bench_on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(_bench_netns_cleanup);
}

/* Run argv (in netns @nsfd when >= 0); stdout and stderr to /dev/null if @quiet.
 * @return the exit status (0..255), or a negative errno. */
static int _bench_spawn(int nsfd, char *const argv[], bool quiet)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The parent owns the cleanup. */
		_bench_netns_live = 0;
		_bench_nft_live = 0;
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -EINTR;
}

/* Create a uniquely named netns with `ip netns add`; return an fd to it. */
static int _bench_netns_create(void)
{
	char name[64];
	int fd, r;

	snprintf(name, sizeof(name), "bfbench-%d-%ld", (int)getpid(),
		 (long)time(NULL));
	snprintf(_bench_netns_path, sizeof(_bench_netns_path),
		 "/run/netns/%s", name);

	r = _bench_spawn(-1, (char *const[]){ "ip", "netns", "add", name, NULL },
			 false);
	if (r) {
		fprintf(stderr, "bench: 'ip netns add %s' failed (%d)\n", name, r);
		return r > 0 ? -ECHILD : r;
	}
	_bench_netns_live = 1;

	fd = open(_bench_netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		_bench_netns_cleanup();
		return r;
	}
	return fd;
}

static int _bench_nft_write(const char *path,
			    const struct bench_series *series, size_t n_rules)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "table ip t {\n\tchain c {\n"
		   "\t\ttype filter hook input priority 0; policy drop;\n");
	for (size_t i = 0; i < n_rules; i++)
		series->nft_rule(f, i);
	fprintf(f, "\t}\n}\n");
	if (fclose(f))
		return -errno;
	return 0;
}

static int _bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median wall-clock time of `nft -f FILE` on a flushed ruleset. */
static int _bench_run_nft(int nsfd, const struct bench_series *series,
			  size_t n_rules, unsigned int runs, double *ms)
{
	char path[] = "/tmp/bfbench-nft-XXXXXX";
	double t[BENCH_NFT_RUNS_MAX];
	int fd, r;

	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(_bench_nft_path, sizeof(_bench_nft_path), "%s", path);
	_bench_nft_live = 1;

	r = _bench_nft_write(path, series, n_rules);
	if (r)
		goto out;

	for (unsigned int i = 0; i < runs; i++) {
		double t0;

		r = _bench_spawn(nsfd, (char *const[]){ "nft", "flush", "ruleset", NULL },
				 true);
		if (r) {
			fprintf(stderr, "bench: nft flush ruleset failed (%d)\n", r);
			r = r > 0 ? -ECHILD : r;
			goto out;
		}
		t0 = _bench_now_ms();
		r = _bench_spawn(nsfd, (char *const[]){ "nft", "-f", path, NULL },
				 false);
		t[i] = _bench_now_ms() - t0;
		if (r) {
			fprintf(stderr, "bench: nft -f (%zu rules) failed (%d)\n",
				n_rules, r);
			r = r > 0 ? -ECHILD : r;
			goto out;
		}
	}
	qsort(t, runs, sizeof(t[0]), _bench_cmp_double);
	*ms = t[runs / 2];

out:
	_bench_spawn(nsfd, (char *const[]){ "nft", "flush", "ruleset", NULL }, true);
	_bench_nft_live = 0;
	unlink(path);
	return r;
}

/* ----------------------------------------------------------------------- */
/* Output. */

static void _bench_print_header(void)
{
	printf("%-13s %6s %9s %9s %9s %7s %7s %9s %8s %8s %8s %-8s\n",
	       "hook", "rules", "gen ms", "load ms", "total ms", "insns",
	       "xlated", "verified", "xl/rule", "ns/pkt", "ns/rule", "verdict");
}

static void _bench_print_row(const struct bench_hook *hook,
			     const struct bench_result *res,
			     const struct bench_result *prev, uint32_t repeat)
{
	char xl_rule[16] = "-", ns_rule[16] = "-";

	if (!res->ok) {
		printf("%-13s %6zu %9.2f %9.2f %9s %7zu %7s %9s %8s %8s %8s %-8s\n",
		       hook->name, res->rules, res->gen_ms, res->load_ms, "-",
		       res->insns, "-", "-", "-", "-", "-", "FAILED");
		return;
	}
	if (prev && prev->ok && res->rules > prev->rules) {
		double dn = (double)(res->rules - prev->rules);

		snprintf(xl_rule, sizeof(xl_rule), "%.2f",
			 ((double)res->xlated - prev->xlated) / dn);
		snprintf(ns_rule, sizeof(ns_rule), "%.2f",
			 ((double)res->ns_per_pkt - prev->ns_per_pkt) / dn);
	}
	printf("%-13s %6zu %9.2f %9.2f %9.2f %7zu %7u %9u %8s %8u %8s %-8s\n",
	       hook->name, res->rules, res->gen_ms, res->load_ms,
	       res->gen_ms + res->load_ms, res->insns, res->xlated,
	       res->verified, xl_rule, res->ns_per_pkt, ns_rule,
	       res->retval != hook->expect_ret ? "WRONG" :
	       res->policy_packets != repeat ? "BADCOUNT" : "drop ok");
}

static void _bench_print_nft_row(size_t rules, int r, double ms)
{
	if (r)
		printf("%-13s %6zu %9s %9s %9s %7s %7s %9s %8s %8s %8s %-8s\n",
		       "nft (kernel)", rules, "-", "-", "-", "-", "-", "-", "-",
		       "-", "-", "FAILED");
	else
		printf("%-13s %6zu %9s %9s %9.2f %7s %7s %9s %8s %8s %8s %-8s\n",
		       "nft (kernel)", rules, "-", "-", ms, "-", "-", "-", "-",
		       "-", "-", "");
}

/* ----------------------------------------------------------------------- */

static void _bench_usage(FILE *f)
{
	fprintf(f,
		"usage: bench [--series NAME,...] [--sizes N,N,...] [--repeat N] [--nft-runs N]\n"
		"             [--no-nft]\n"
		"  --series    udp, mixed or both (default udp,mixed)\n"
		"  --sizes     chain sizes in rules (default 1,10,100,1000,10000)\n"
		"  --repeat    BPF_PROG_TEST_RUN repetitions per measure (default %d)\n"
		"  --nft-runs  nft -f runs per size, the median is shown (default %d)\n"
		"  --no-nft    skip the kernel nftables measurements\n",
		BENCH_REPEAT_DEFAULT, BENCH_NFT_RUNS_DEFAULT);
}

static int _bench_parse_sizes(struct bench_opts *opts, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *saveptr = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	opts->n_sizes = 0;
	for (tok = strtok_r(copy, ",", &saveptr); tok;
	     tok = strtok_r(NULL, ",", &saveptr)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || *end || end == tok || v > BENCH_RULES_MAX ||
		    opts->n_sizes == BENCH_SIZES_MAX)
			return -EINVAL;
		/* The rules' ports must stay below 65536 and above the packet's. */
		if (BENCH_PORT_BASE + v > 65536)
			return -EINVAL;
		opts->sizes[opts->n_sizes++] = v;
	}
	return opts->n_sizes ? 0 : -EINVAL;
}

static int _bench_parse_series(struct bench_opts *opts, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *saveptr = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	opts->series = 0;
	for (tok = strtok_r(copy, ",", &saveptr); tok;
	     tok = strtok_r(NULL, ",", &saveptr)) {
		size_t i;

		for (i = 0; i < BENCH_SERIES; i++)
			if (!strcmp(tok, _bench_series[i].name))
				break;
		if (i == BENCH_SERIES)
			return -EINVAL;
		opts->series |= 1u << i;
	}
	return opts->series ? 0 : -EINVAL;
}

static int _bench_parse_opts(struct bench_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "series", required_argument, NULL, 'S' },
		{ "sizes", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "nft-runs", required_argument, NULL, 'n' },
		{ "no-nft", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const size_t default_sizes[] = { 1, 10, 100, 1000, 10000 };
	unsigned long v;
	char *end;
	int c;

	memcpy(opts->sizes, default_sizes, sizeof(default_sizes));
	opts->n_sizes = ARRAY_SIZE(default_sizes);
	opts->repeat = BENCH_REPEAT_DEFAULT;
	opts->nft_runs = BENCH_NFT_RUNS_DEFAULT;
	opts->nft = true;
	opts->series = (1u << BENCH_SERIES) - 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (_bench_parse_series(opts, optarg)) {
				fprintf(stderr, "bench: bad --series '%s' (udp, mixed)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 's':
			if (_bench_parse_sizes(opts, optarg)) {
				fprintf(stderr, "bench: bad --sizes '%s' (comma-separated rule counts, each <= %d)\n",
					optarg, 65536 - BENCH_PORT_BASE);
				return -EINVAL;
			}
			break;
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > UINT32_MAX) {
				fprintf(stderr, "bench: bad --repeat '%s'\n", optarg);
				return -EINVAL;
			}
			opts->repeat = (uint32_t)v;
			break;
		case 'n':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > BENCH_NFT_RUNS_MAX) {
				fprintf(stderr, "bench: bad --nft-runs '%s' (1..%d)\n",
					optarg, BENCH_NFT_RUNS_MAX);
				return -EINVAL;
			}
			opts->nft_runs = (unsigned int)v;
			break;
		case 'N':
			opts->nft = false;
			break;
		case 'h':
			_bench_usage(stdout);
			exit(0);
		default:
			_bench_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		_bench_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Against the targets: reported, never asserted. The per-rule target is
 * about the udp series; the load-time target applies to both. */
static void _bench_print_summary(const struct bench_opts *opts,
				 const struct bench_series *series,
				 struct bench_result res[][BENCH_SIZES_MAX],
				 const double *nft_ms, const int *nft_r)
{
	size_t last = opts->n_sizes - 1;
	bool udp = !strcmp(series->name, "udp");

	printf("\n%s: against the targets (reported, not asserted):\n", series->name);
	for (size_t h = 0; h < BENCH_HOOKS; h++) {
		const struct bench_result *a = NULL, *b = &res[h][last];

		for (size_t i = last; i-- > 0;) {
			if (res[h][i].ok && res[h][i].rules < b->rules) {
				a = &res[h][i];
				break;
			}
		}
		if (b->ok && a)
			printf("  %-12s xlated/rule %zu -> %zu rules: %.2f%s\n",
			       _bench_hooks[h].name, a->rules, b->rules,
			       ((double)b->xlated - a->xlated) /
				       (double)(b->rules - a->rules),
			       udp ? " (target <= 6)" : "");
		if (b->ok)
			printf("  %-12s %zu rules: codegen + load %.1f ms (target < 1000 ms), %u verified insns, %u ns/pkt\n",
			       _bench_hooks[h].name, b->rules,
			       b->gen_ms + b->load_ms, b->verified, b->ns_per_pkt);
		else
			printf("  %-12s %zu rules: FAILED (see the error above)\n",
			       _bench_hooks[h].name, b->rules);
	}
	if (opts->nft && !nft_r[last])
		printf("  %-12s %zu rules: nft -f %.1f ms (reference ~125 ms for 10000 udp rules)\n",
		       "nft", opts->sizes[last], nft_ms[last]);
}

int main(int argc, char **argv)
{
	static struct bench_result res[BENCH_SERIES][BENCH_HOOKS][BENCH_SIZES_MAX];
	double nft_ms[BENCH_SERIES][BENCH_SIZES_MAX] = {};
	int nft_r[BENCH_SERIES][BENCH_SIZES_MAX] = {};
	struct bench_opts opts;
	uint8_t pkt[PKT_MAX];
	size_t pkt_len;
	double nft_base = 0;
	int nsfd = -1, failed = 0;
	int r;

	if (_bench_parse_opts(&opts, argc, argv))
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "bench: needs root (BPF and network namespaces)\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bf_log_set_level(BF_LOG_WARN);

	r = _bench_build_packet(pkt, sizeof(pkt));
	if (r < 0) {
		fprintf(stderr, "bench: building the packet: %s\n", strerror(-r));
		return 1;
	}
	pkt_len = (size_t)r;

	if (opts.nft) {
		_bench_install_cleanup();
		nsfd = _bench_netns_create();
		if (nsfd < 0) {
			fprintf(stderr, "bench: no scratch netns (%s): skipping nft\n",
				strerror(-nsfd));
			opts.nft = false;
		} else if (_bench_run_nft(nsfd, &_bench_series[0], 0, opts.nft_runs,
					  &nft_base)) {
			fprintf(stderr, "bench: nft does not run: skipping nft\n");
			opts.nft = false;
		}
	}

	_bench_warmup(pkt, pkt_len);

	for (size_t s = 0; s < BENCH_SERIES; s++) {
		const struct bench_series *series = &_bench_series[s];

		if (!(opts.series & (1u << s)))
			continue;
		printf("bpfilter bench, series '%s': %s;\n"
		       "policy drop; UDP packet of %zu bytes to port %d (no rule matches),\n"
		       "%u runs per measure\n\n",
		       series->name, series->title, pkt_len, BENCH_PKT_DPORT,
		       opts.repeat);
		_bench_print_header();

		for (size_t i = 0; i < opts.n_sizes; i++) {
			for (size_t h = 0; h < BENCH_HOOKS; h++) {
				struct bench_result *cur = &res[s][h][i];

				r = _bench_run_bpfilter(cur, series, &_bench_hooks[h],
							opts.sizes[i], opts.repeat, pkt,
							pkt_len);
				if (r || !_bench_result_right(&_bench_hooks[h], cur,
							       opts.repeat))
					failed = 1;
				_bench_print_row(&_bench_hooks[h], cur,
						 i ? &res[s][h][i - 1] : NULL,
						 opts.repeat);
			}
			if (opts.nft) {
				nft_r[s][i] = _bench_run_nft(nsfd, series, opts.sizes[i],
							     opts.nft_runs,
							     &nft_ms[s][i]);
				if (nft_r[s][i])
					failed = 1;
				_bench_print_nft_row(opts.sizes[i], nft_r[s][i],
						     nft_ms[s][i]);
			}
		}
		printf("\n");
	}

	printf("columns: gen = bf_program_generate (validation + codegen); load = maps +\n"
	       "verifier; insns = emitted; xlated = after the kernel's rewrites; verified =\n"
	       "instructions the verifier processed; xl/rule and ns/rule = marginal cost\n"
	       "against the previous size; ns/pkt = BPF_PROG_TEST_RUN mean; verdict = the\n"
	       "program dropped and the policy counter saw every run; nft = median wall\n"
	       "clock of `nft -f` (fork + exec + netlink commit) over %u runs",
	       opts.nft_runs);
	if (opts.nft)
		printf(", empty-chain baseline %.2f ms", nft_base);
	printf("\n");

	for (size_t s = 0; s < BENCH_SERIES; s++)
		if (opts.series & (1u << s))
			_bench_print_summary(&opts, &_bench_series[s], res[s],
					     nft_ms[s], nft_r[s]);

	if (nsfd >= 0)
		close(nsfd);
	_bench_netns_cleanup();
	return failed;
}
