/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpfilter daemon entry point: flags, runtime directory and lock, signals,
 * then the server loop until SIGTERM/SIGINT/SIGHUP.
 */
#include <errno.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"
#include "daemon/front.h"
#include "daemon/opts.h"
#include "daemon/persist.h"
#include "daemon/ruleset.h"
#include "daemon/runtime.h"
#include "daemon/server.h"

static void _bf_log_config(const struct bf_opts *opts)
{
	char fronts[64] = "";
	char verbose[64] = "";

	for (int i = 0; i < _BF_FRONT_MAX; ++i) {
		if (!bf_opts_front_enabled(opts, i))
			continue;
		if (fronts[0])
			strcat(fronts, ", ");
		strcat(fronts, bf_front_to_str(i));
	}
	for (int i = 0; i < _BF_VERBOSE_MAX; ++i) {
		if (!bf_opts_verbose(opts, i))
			continue;
		if (verbose[0])
			strcat(verbose, ", ");
		strcat(verbose, bf_verbose_to_str(i));
	}

	bf_info("bpfilter %s: front-ends: %s; %s; runtime directory %s; bpffs %s%s%s",
		BF_VERSION, fronts,
		opts->transient ? "transient" : "persistent", opts->runtime_dir,
		opts->bpffs_path, verbose[0] ? "; verbose: " : "", verbose);

	bf_codegen_set_verbose(bf_opts_verbose(opts, BF_VERBOSE_BYTECODE),
			       bf_opts_verbose(opts, BF_VERBOSE_BPF));
	/* Tests: a crash between a swap and its pins (ruleset.h). */
	if (getenv("BF_TEST_CRASH") &&
	    !strcmp(getenv("BF_TEST_CRASH"), "after-swap"))
		bf_ruleset_set_test_crash(true);
}

/*
 * Persistent mode: the pins go under BPFFS/bpfilter/, which must be on a
 * BPF filesystem (pinning anywhere else fails, and a tmpfs would lose the
 * pins' point: holding the objects).
 */
static int _bf_pins_prepare(const struct bf_opts *opts)
{
	_cleanup_free_ char *root = NULL;
	struct statfs fs;
	int r;

	if (statfs(opts->bpffs_path, &fs) < 0) {
		r = -errno;
		bf_err("--bpffs-path %s: %s", opts->bpffs_path, strerror(-r));
		bf_err("mount a BPF filesystem there (mount -t bpf bpf %s), pass another --bpffs-path, or run with --transient",
		       opts->bpffs_path);
		return r;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		bf_err("--bpffs-path %s is not a BPF filesystem (statfs type 0x%lx, want 0x%lx)",
		       opts->bpffs_path, (unsigned long)fs.f_type,
		       (unsigned long)BPF_FS_MAGIC);
		bf_err("mount one there (mount -t bpf bpf %s), pass another --bpffs-path, or run with --transient",
		       opts->bpffs_path);
		return -EINVAL;
	}
	if (asprintf(&root, "%s/bpfilter", opts->bpffs_path) < 0)
		return -ENOMEM;
	if (mkdir(root, 0700) && errno != EEXIST) {
		r = -errno;
		return bf_err_r(r, "cannot create %s", root);
	}
	r = bf_ruleset_set_pin_root(opts->bpffs_path);
	if (r)
		return bf_err_r(r, "cannot set the pin folder");
	r = bf_persist_init(opts->runtime_dir, opts->bpffs_path);
	if (r)
		return r;
	bf_info("pinning under %s, state in %s/state", root, opts->runtime_dir);

	return 0;
}

/*
 * systemd readiness (Type=notify): READY=1 on $NOTIFY_SOCKET once clients
 * can connect, the sd_notify(3) protocol without libsystemd. Nothing
 * without the variable.
 */
static void _bf_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char msg[] = "READY=1\nSTATUS=serving";
	socklen_t len;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	/* An abstract socket is written with a leading '@'. */
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, len) < 0)
		bf_warn("cannot notify systemd on %s: %s", path, strerror(errno));
	close(fd);
}

static void _bf_raise_nofile(void)
{
	struct rlimit rl;

	/* One descriptor per client: use what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int _bf_signals_setup(int *sigfd)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;

	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;

	*sigfd = fd;

	return 0;
}

static int _bf_run(const struct bf_opts *opts)
{
	_cleanup_close_ int sigfd = -1;
	struct bf_server *srv = NULL;
	int lock_fd = -1;
	long holder;
	int r;

	r = _bf_signals_setup(&sigfd);
	if (r)
		return bf_err_r(r, "failed to set up signal handling");

	_bf_raise_nofile();

	r = bf_runtime_dir_prepare(opts->runtime_dir);
	if (r) {
		bf_err_r(r, "failed to create runtime directory %s",
			 opts->runtime_dir);
		if ((r == -EACCES || r == -EPERM) && geteuid() != 0)
			bf_err("bpfilter runs as root (or use --runtime-dir)");
		return r;
	}

	r = bf_runtime_lock(opts->runtime_dir, &lock_fd, &holder);
	if (r == -EBUSY) {
		if (holder > 0)
			bf_err("another bpfilter daemon (pid %ld) is already running with runtime directory %s",
			       holder, opts->runtime_dir);
		else
			bf_err("another bpfilter daemon is already running with runtime directory %s",
			       opts->runtime_dir);
		return r;
	}
	if (r)
		return bf_err_r(r, "failed to lock %s/%s", opts->runtime_dir,
				BF_LOCK_NAME);

	_bf_log_config(opts);
	if (!opts->transient) {
		r = _bf_pins_prepare(opts);
		if (r) {
			bf_runtime_unlock(&lock_fd);
			return r;
		}
	}

	r = bf_server_new(&srv, opts);
	if (!r) {
		_bf_notify_ready();
		r = bf_server_run(srv, sigfd);
		/* Fail-closed: what is pinned outlives the daemon. */
		bf_ruleset_set_stopping();
		bf_server_free(&srv);
	}

	bf_runtime_unlock(&lock_fd);
	if (!r)
		bf_info("stopped");

	return r;
}

int main(int argc, char *argv[])
{
	struct bf_opts opts;

	bf_opts_parse(&opts, argc, argv);

	if (bf_opts_verbose(&opts, BF_VERBOSE_DEBUG))
		bf_log_set_level(BF_LOG_DBG);

	if (bf_opts_check(&opts))
		return BF_EXIT_USAGE;

	if (opts.with_bpf_token) {
		bf_err("--with-bpf-token: BPF token support is not implemented yet");
		return EXIT_FAILURE;
	}

	/* Registered even with --no-nftables: NETLINK_NETFILTER clients then
	 * get the kernel's answers for a missing nf_tables (nfnl/transport.c). */
	if (bf_front_register(&bf_nft_front)) {
		bf_err("cannot register the %s front-end", bf_nft_front.name);
		return EXIT_FAILURE;
	}

	return _bf_run(&opts) ? EXIT_FAILURE : EXIT_SUCCESS;
}
