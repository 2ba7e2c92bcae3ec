/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel nftables side of build/bench: `nft -f` of the same ruleset in
 * a scratch network namespace this program creates and always deletes,
 * from atexit() and from fatal signals; the host's ruleset is never
 * touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfilter/helpers.h>

#include "bench.h"

/* Scratch netns: path under /run/netns, cleaned up from atexit() and from
 * fatal signals, so only async-signal-safe calls in the cleanup. */
static char _bench_netns_path[128];
static volatile sig_atomic_t _bench_netns_live;
/* The nft ruleset file being used, removed by the same cleanup. */
static char _bench_nft_path[64];
static volatile sig_atomic_t _bench_nft_live;

void bench_netns_cleanup(void)
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
	bench_netns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_install_cleanup(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGABRT, SIGSEGV, SIGBUS, SIGFPE };
	struct sigaction sa = { .sa_handler = _bench_on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(bench_netns_cleanup);
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
int bench_netns_create(void)
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
		bench_netns_cleanup();
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
int bench_run_nft(int nsfd, const struct bench_series *series,
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
		t0 = bench_now_ms();
		r = _bench_spawn(nsfd, (char *const[]){ "nft", "-f", path, NULL },
				 false);
		t[i] = bench_now_ms() - t0;
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
