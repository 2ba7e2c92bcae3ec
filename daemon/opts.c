/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command-line parsing with argp, like upstream bpfilter: argp provides
 * -?/--help, --usage and -V/--version, and argp_error() exits with
 * argp_err_exit_status, set here to 2 as getopt-based tools do.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/opts.h"

#define BF_BPFFS_PATH_DEFAULT "/sys/fs/bpf"

const char *argp_program_version = "bpfilter " BF_VERSION;

enum {
	BF_OPT_NO_IPTABLES = 0x100,
	BF_OPT_NO_NFTABLES,
	BF_OPT_NO_CLI,
	BF_OPT_WITH_BPF_TOKEN,
	BF_OPT_BPFFS_PATH,
	BF_OPT_RUNTIME_DIR,
};

static const char *const _bf_front_str[] = {
	[BF_FRONT_IPT] = "iptables",
	[BF_FRONT_NFT] = "nftables",
	[BF_FRONT_CLI] = "cli",
};
static_assert(ARRAY_SIZE(_bf_front_str) == _BF_FRONT_MAX,
	      "front-end names out of sync");

static const char *const _bf_verbose_str[] = {
	[BF_VERBOSE_DEBUG] = "debug",
	[BF_VERBOSE_BPF] = "bpf",
	[BF_VERBOSE_BYTECODE] = "bytecode",
};
static_assert(ARRAY_SIZE(_bf_verbose_str) == _BF_VERBOSE_MAX,
	      "verbose flag names out of sync");

const char *bf_front_to_str(enum bf_front front)
{
	return front < _BF_FRONT_MAX ? _bf_front_str[front] : "<invalid>";
}

const char *bf_verbose_to_str(enum bf_verbose flag)
{
	return flag < _BF_VERBOSE_MAX ? _bf_verbose_str[flag] : "<invalid>";
}

static const struct argp_option _bf_options[] = {
	{ "transient", 't', NULL, 0,
	  "Do not pin BPF objects or persist state: everything the daemon "
	  "loaded goes away when it stops",
	  0 },
	{ "no-iptables", BF_OPT_NO_IPTABLES, NULL, 0,
	  "Disable the iptables front-end", 0 },
	{ "no-nftables", BF_OPT_NO_NFTABLES, NULL, 0,
	  "Disable the nftables front-end", 0 },
	{ "no-cli", BF_OPT_NO_CLI, NULL, 0, "Disable the bfcli front-end", 0 },
	{ "with-bpf-token", BF_OPT_WITH_BPF_TOKEN, NULL, 0,
	  "Use a BPF token created from the bpffs (not implemented yet: "
	  "refused)",
	  0 },
	{ "bpffs-path", BF_OPT_BPFFS_PATH, "BPFFS_PATH", 0,
	  "bpffs to pin BPF objects into. Default: " BF_BPFFS_PATH_DEFAULT, 0 },
	{ "runtime-dir", BF_OPT_RUNTIME_DIR, "DIR", 0,
	  "Directory for the socket, the lock and the state. "
	  "Default: " BF_RUNTIME_DIR_DEFAULT,
	  0 },
	{ "verbose", 'v', "VERBOSE_FLAG", 0,
	  "Enable a verbose flag: debug, bpf or bytecode. "
	  "Can be used more than once",
	  0 },
	{ 0 },
};

static int _bf_verbose_from_str(const char *str)
{
	/* The documented spelling is -v=FLAG; argp hands "=FLAG" to -v. */
	if (str[0] == '=')
		++str;

	for (int i = 0; i < _BF_VERBOSE_MAX; ++i) {
		if (strcmp(str, _bf_verbose_str[i]) == 0)
			return i;
	}

	return -EINVAL;
}

static error_t _bf_opts_parser(int key, char *arg, struct argp_state *state)
{
	struct bf_opts *opts = state->input;
	struct sockaddr_un sun;
	int flag;

	switch (key) {
	case 't':
		opts->transient = true;
		break;
	case BF_OPT_NO_IPTABLES:
		opts->fronts &= ~BF_FRONT_F(BF_FRONT_IPT);
		break;
	case BF_OPT_NO_NFTABLES:
		opts->fronts &= ~BF_FRONT_F(BF_FRONT_NFT);
		break;
	case BF_OPT_NO_CLI:
		opts->fronts &= ~BF_FRONT_F(BF_FRONT_CLI);
		break;
	case BF_OPT_WITH_BPF_TOKEN:
		opts->with_bpf_token = true;
		break;
	case BF_OPT_BPFFS_PATH:
		if (!arg[0])
			argp_error(state, "--bpffs-path needs a non-empty path");
		opts->bpffs_path = arg;
		break;
	case BF_OPT_RUNTIME_DIR:
		if (!arg[0])
			argp_error(state, "--runtime-dir needs a non-empty path");
		/* The socket path must fit in sun_path, terminator included. */
		if (strlen(arg) + 1 + strlen(BF_SOCKET_NAME) >=
		    sizeof(sun.sun_path)) {
			argp_error(state,
				   "--runtime-dir '%s' is too long: '%s/%s' must fit in %zu bytes",
				   arg, arg, BF_SOCKET_NAME,
				   sizeof(sun.sun_path) - 1);
		}
		opts->runtime_dir = arg;
		break;
	case 'v':
		flag = _bf_verbose_from_str(arg);
		if (flag < 0) {
			argp_error(state,
				   "unknown verbose flag '%s', valid flags: debug, bpf, bytecode",
				   arg);
		}
		opts->verbose |= 1u << flag;
		break;
	default:
		/* Positional arguments end here too: argp reports them. */
		return ARGP_ERR_UNKNOWN;
	}

	return 0;
}

void bf_opts_parse(struct bf_opts *opts, int argc, char *argv[])
{
	static const struct argp argp = {
		.options = _bf_options,
		.parser = _bf_opts_parser,
		.doc = "bpfilter -- daemon translating packet filtering rules "
		       "into BPF programs",
	};
	int r;

	*opts = (struct bf_opts) {
		.bpffs_path = BF_BPFFS_PATH_DEFAULT,
		.runtime_dir = BF_RUNTIME_DIR_DEFAULT,
		.fronts = BF_FRONT_ALL,
	};

	argp_err_exit_status = BF_EXIT_USAGE;
	r = argp_parse(&argp, argc, argv, 0, NULL, opts);
	if (r) {
		/* argp reports and exits by itself; this is belt and braces. */
		fprintf(stderr, "bpfilter: invalid command line: %s\n",
			strerror(r));
		exit(BF_EXIT_USAGE);
	}
}

int bf_opts_check(const struct bf_opts *opts)
{
	if (!(opts->fronts & BF_FRONT_ALL)) {
		bf_err("--no-cli, --no-nftables and --no-iptables disable every front-end: nothing to serve");
		return -EINVAL;
	}

	return 0;
}
