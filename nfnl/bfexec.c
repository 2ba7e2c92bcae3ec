/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bfexec: run an unmodified program with its NETLINK_NETFILTER sockets
 * going to the bpfilter daemon. Prepends libbpfilter-preload.so (found
 * beside this binary, or in BFEXEC_PRELOAD) to LD_PRELOAD, and exports
 * BPFILTER_RUNTIME_DIR. The program's exit status is bfexec's.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfilter/proto.h>

#define BFEXEC_LIB "libbpfilter-preload.so"

/* Exit codes of env(1)/nohup(1): the command could not be found or run. */
#define BFEXEC_EXIT_FAIL 125
#define BFEXEC_EXIT_CANNOT_RUN 126
#define BFEXEC_EXIT_NOT_FOUND 127

static void _bfexec_usage(FILE *f)
{
	fprintf(f,
		"Usage: bfexec [OPTION]... COMMAND [ARG]...\n"
		"Run COMMAND with its NETLINK_NETFILTER sockets (nft, iptables-nft)\n"
		"connected to the bpfilter daemon instead of the kernel.\n"
		"\n"
		"  -r, --runtime-dir DIR  daemon runtime directory (default:\n"
		"                         $BPFILTER_RUNTIME_DIR, else %s)\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"The interposer library is %s beside bfexec,\n"
		"or the file named by $BFEXEC_PRELOAD. Exit status: COMMAND's, or\n"
		"125 if bfexec fails, 126 if COMMAND cannot run, 127 if not found.\n",
		BF_RUNTIME_DIR_DEFAULT, BFEXEC_LIB);
}

static int _bfexec_lib_path(char *out, size_t size, const char *argv0)
{
	const char *env = getenv("BFEXEC_PRELOAD");
	char self[PATH_MAX];
	ssize_t n;
	int r;

	if (env && *env) {
		r = snprintf(out, size, "%s", env);
		return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
	}

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		if (!realpath(argv0, self))
			return -errno;
	} else {
		self[n] = '\0';
	}

	/* Beside bfexec (the build tree), else in ../lib (an install). */
	r = snprintf(out, size, "%s/%s", dirname(self), BFEXEC_LIB);
	if (r < 0 || (size_t)r >= size)
		return -ENAMETOOLONG;
	if (access(out, R_OK) == 0)
		return 0;
	r = snprintf(out, size, "%s/../lib/%s", self, BFEXEC_LIB);
	if (r < 0 || (size_t)r >= size)
		return -ENAMETOOLONG;
	if (access(out, R_OK) == 0)
		return 0;
	/* Report the first place looked at. */
	r = snprintf(out, size, "%s/%s", self, BFEXEC_LIB);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *old, *rundir = NULL;
	char lib[PATH_MAX];
	char *preload;
	int c, r;

	/* Options end at the command: "bfexec nft -a list ruleset". */
	while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rundir = optarg;
			break;
		case 'h':
			_bfexec_usage(stdout);
			return 0;
		default:
			_bfexec_usage(stderr);
			return BFEXEC_EXIT_FAIL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bfexec: missing command\n");
		_bfexec_usage(stderr);
		return BFEXEC_EXIT_FAIL;
	}

	r = _bfexec_lib_path(lib, sizeof(lib), argv[0]);
	if (r) {
		fprintf(stderr, "bfexec: cannot locate %s: %s\n", BFEXEC_LIB,
			strerror(-r));
		return BFEXEC_EXIT_FAIL;
	}
	if (access(lib, R_OK) < 0) {
		fprintf(stderr, "bfexec: interposer library %s: %s (build it with 'make %s', or set BFEXEC_PRELOAD)\n",
			lib, strerror(errno), "build/" BFEXEC_LIB);
		return BFEXEC_EXIT_FAIL;
	}
	if (strpbrk(lib, " :")) {
		fprintf(stderr, "bfexec: %s: LD_PRELOAD cannot carry a path with ' ' or ':'\n",
			lib);
		return BFEXEC_EXIT_FAIL;
	}

	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", lib, old) < 0)
			return BFEXEC_EXIT_FAIL;
	} else {
		preload = lib;
	}

	if (!rundir) {
		rundir = getenv("BPFILTER_RUNTIME_DIR");
		if (!rundir || !*rundir)
			rundir = BF_RUNTIME_DIR_DEFAULT;
	}
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    setenv("BPFILTER_RUNTIME_DIR", rundir, 1) < 0) {
		fprintf(stderr, "bfexec: setenv: %s\n", strerror(errno));
		return BFEXEC_EXIT_FAIL;
	}

	/* exec keeps the pid: the daemon sees COMMAND itself as its peer. */
	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "bfexec: %s: %s\n", argv[optind], strerror(errno));

	return errno == ENOENT ? BFEXEC_EXIT_NOT_FOUND : BFEXEC_EXIT_CANNOT_RUN;
}
