/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attach: a loaded program -> a bpf link at its hook (XDP, TCX, netfilter,
 * cgroup_skb), and the atomic replacement of the program behind a link.
 *
 * What the kernel accepts for netfilter links, measured on 6.18 (scratch
 * netns, BPF_PROG_TYPE_NETFILTER programs, bpf_link_create(BPF_NETFILTER)):
 *
 * - Priorities are exclusive per (netns, pf, hooknum): a second link at a
 *   priority already used by *any* hook there (another bpf link, with the
 *   same program or not, or an nft base chain) fails with -EBUSY. nft base
 *   chains may share a priority with each other, bpf links may not. So a
 *   replacement cannot sit at the same priority as the link it replaces.
 * - bpf_link_update() on a netfilter link: -EOPNOTSUPP.
 * - NF_IP_PRI_FIRST (INT_MIN) and NF_IP_PRI_LAST (INT_MAX): -ERANGE;
 *   INT_MIN + 1 and INT_MAX - 1 are accepted.
 * - BPF_F_NETFILTER_IP_DEFRAG is accepted for IPv4 and IPv6 only at a
 *   priority above NF_IP_PRI_CONNTRACK_DEFRAG (-400): -400 gives -ERANGE,
 *   -399 is accepted. Any other flag: -EOPNOTSUPP.
 * - pf other than NFPROTO_IPV4/IPV6: -EAFNOSUPPORT; hooknum > 4: -EPROTO.
 * - Closing the last fd of a netfilter link unregisters the hook at once.
 *
 * XDP, TCX and cgroup links: bpf_link_update() swaps the program in place;
 * with BPF_F_REPLACE the kernel answers -EPERM when old_prog_fd is not the
 * program currently attached, so a stale @old_prog cannot clobber a newer
 * one. XDP on veth in skb mode: XDP_FLAGS_SKB_MODE in the link create flags.
 * cgroup_skb links want a cgroup v2 directory fd; another directory gets
 * -EBADF from the kernel, reported here as a missing cgroup (-ENOENT).
 *
 * Hence chains do not own kernel links: each attach point (a netfilter
 * hook and priority of one netns and family, a device's XDP or TCX hook,
 * a cgroup's hook) has one dispatcher program with one link, and chains
 * are spliced into a list of tail calls behind it (codegen/dispatch.c).
 * This file resolves a program's attach point and creates the kernel link
 * of one program there. Netfilter links do not ask for
 * BPF_F_NETFILTER_IP_DEFRAG: nf_tables chains see fragments one by one
 * unless conntrack reassembles them first.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"



/* NF_INET_* hook numbers, indexed by enum bf_hook; -1: not netfilter. */
static const int _bf_nf_hooknum[] = {
	[BF_HOOK_XDP] = -1,
	[BF_HOOK_TC_INGRESS] = -1,
	[BF_HOOK_TC_EGRESS] = -1,
	[BF_HOOK_NF_PRE_ROUTING] = 0,
	[BF_HOOK_NF_LOCAL_IN] = 1,
	[BF_HOOK_NF_FORWARD] = 2,
	[BF_HOOK_NF_LOCAL_OUT] = 3,
	[BF_HOOK_NF_POST_ROUTING] = 4,
	[BF_HOOK_CGROUP_SKB_INGRESS] = -1,
	[BF_HOOK_CGROUP_SKB_EGRESS] = -1,
};
static_assert(ARRAY_SIZE(_bf_nf_hooknum) == _BF_HOOK_MAX,
	      "netfilter hook numbers out of sync with enum bf_hook");

static const enum bpf_attach_type _bf_attach_type[] = {
	[BF_HOOK_XDP] = BPF_XDP,
	[BF_HOOK_TC_INGRESS] = BPF_TCX_INGRESS,
	[BF_HOOK_TC_EGRESS] = BPF_TCX_EGRESS,
	[BF_HOOK_NF_PRE_ROUTING] = BPF_NETFILTER,
	[BF_HOOK_NF_LOCAL_IN] = BPF_NETFILTER,
	[BF_HOOK_NF_FORWARD] = BPF_NETFILTER,
	[BF_HOOK_NF_LOCAL_OUT] = BPF_NETFILTER,
	[BF_HOOK_NF_POST_ROUTING] = BPF_NETFILTER,
	[BF_HOOK_CGROUP_SKB_INGRESS] = BPF_CGROUP_INET_INGRESS,
	[BF_HOOK_CGROUP_SKB_EGRESS] = BPF_CGROUP_INET_EGRESS,
};
static_assert(ARRAY_SIZE(_bf_attach_type) == _BF_HOOK_MAX,
	      "attach types out of sync with enum bf_hook");

bool bf_link_hook_is_nf(enum bf_hook hook)
{
	return hook < _BF_HOOK_MAX && _bf_nf_hooknum[hook] >= 0;
}

static bool _bf_hook_is_cgroup(enum bf_hook hook)
{
	return hook == BF_HOOK_CGROUP_SKB_INGRESS ||
	       hook == BF_HOOK_CGROUP_SKB_EGRESS;
}

static int _bf_ifindex(const char *ifname, int *ifindex)
{
	unsigned int idx;

	if (!ifname || !ifname[0]) {
		bf_dbg("link: no interface name");
		return -ENODEV;
	}

	idx = if_nametoindex(ifname);
	if (!idx) {
		/* ENXIO from glibc's ioctl path means the same thing. */
		int r = (errno == ENODEV || errno == ENXIO || !errno) ? -ENODEV
								     : -errno;
		bf_dbg("link: interface '%s': %s", ifname, strerror(-r));
		return r;
	}

	*ifindex = (int)idx;
	return 0;
}

/* Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts,
 * /sys/fs/cgroup/unified on hybrid ones. */
static int _bf_cgroup2_root(char *buf, size_t len)
{
	char line[4096];
	FILE *f;
	int r = -ENOENT;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;

	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		const char *sep = strstr(line, " - ");

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE ... */
		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if ((size_t)snprintf(buf, len, "%s", mnt) >= len) {
			r = -ENAMETOOLONG;
			break;
		}
		r = 0;
		break;
	}

	fclose(f);
	return r;
}

/* A relative cgroup path is taken from the cgroup v2 root. */
static int _bf_cgroup_open(const char *path, int *fd)
{
	char root[PATH_MAX], buf[PATH_MAX];
	struct statfs sfs;
	int cfd, r;

	if (!path || !path[0]) {
		bf_dbg("link: no cgroup path");
		return -ENOENT;
	}

	if (path[0] != '/') {
		r = _bf_cgroup2_root(root, sizeof(root));
		if (r) {
			bf_dbg("link: no cgroup v2 mount for '%s': %s", path,
			       strerror(-r));
			return r;
		}
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", root, path) >=
		    sizeof(buf)) {
			bf_dbg("link: cgroup path '%s' too long", path);
			return -ENAMETOOLONG;
		}
		path = buf;
	}

	cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		r = -errno;
		bf_dbg("link: cgroup '%s': %s", path, strerror(-r));
		return r;
	}

	/* Not a cgroup v2 directory: no such cgroup (the kernel would answer
	 * EBADF). */
	if (fstatfs(cfd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		bf_dbg("link: '%s' is not a cgroup v2 directory", path);
		close(cfd);
		return -ENOENT;
	}

	*fd = cfd;
	return 0;
}

static int _bf_nf_link_create(int prog_fd, int pf, int hooknum,
			      int32_t priority)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	opts.netfilter.pf = pf;
	opts.netfilter.hooknum = hooknum;
	opts.netfilter.priority = priority;
	/* No BPF_F_NETFILTER_IP_DEFRAG: an nf_tables base chain does not ask
	 * for reassembly either (only conntrack does), so each fragment goes
	 * through the chain, as a packet-by-packet differential against the
	 * kernel showed. */
	fd = bpf_link_create(prog_fd, 0, BPF_NETFILTER, &opts);

	return fd;
}

int bf_link_prog_check(const struct bf_program *prog, int *prog_fd)
{
	enum bf_hook hook = bf_program_hook(prog);
	int fd = bf_program_fd(prog);

	if (hook >= _BF_HOOK_MAX) {
		bf_dbg("link: program has an invalid hook %d", hook);
		return -EINVAL;
	}
	if (fd < 0) {
		bf_dbg("link: program for chain '%s' is not loaded",
		       bf_program_chain(prog));
		return -EINVAL;
	}
	if (bf_link_hook_is_nf(hook)) {
		int pf = bf_program_nfproto(prog);
		if (pf != BF_NFPROTO_IPV4 && pf != BF_NFPROTO_IPV6) {
			bf_dbg("link: netfilter program for chain '%s' has no nfproto (%d)",
			       bf_program_chain(prog), pf);
			return -EINVAL;
		}
	}

	*prog_fd = fd;
	return 0;
}

/* The calling thread's network namespace, by its cookie: unlike its
 * inode, never given to another namespace. */
static int _bf_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		r = -errno;
	close(fd);
	return r;
}

int bf_attach_point_get(const struct bf_program *prog,
			const struct bf_link_opts *opts,
			struct bf_attach_point *pt, int *target_fd)
{
	enum bf_hook hook = bf_program_hook(prog);
	int r;

	memset(pt, 0, sizeof(*pt));
	*target_fd = -1;
	pt->hook = hook;
	r = _bf_netns_cookie(&pt->netns);
	if (r)
		return r;

	if (bf_link_hook_is_nf(hook)) {
		pt->pf = bf_program_nfproto(prog);
		pt->hooknum = _bf_nf_hooknum[hook];
		pt->priority = bf_program_priority(prog);
	} else if (_bf_hook_is_cgroup(hook)) {
		const char *path = opts->cgroup ? opts->cgroup :
						  bf_program_cgroup(prog);
		struct stat st;

		r = _bf_cgroup_open(path, target_fd);
		if (r)
			return r;
		if (fstat(*target_fd, &st)) {
			r = -errno;
			close(*target_fd);
			*target_fd = -1;
			return r;
		}
		pt->cg_dev = st.st_dev;
		pt->cg_ino = st.st_ino;
	} else {
		const char *ifname = opts->ifname ? opts->ifname :
						    bf_program_ifname(prog);

		r = _bf_ifindex(ifname, &pt->ifindex);
		if (r)
			return r;
		pt->xdp_skb_mode = hook == BF_HOOK_XDP && opts->xdp_skb_mode;
	}
	return 0;
}

bool bf_attach_point_eq(const struct bf_attach_point *a,
			const struct bf_attach_point *b)
{
	if (a->hook != b->hook || a->netns != b->netns)
		return false;
	if (bf_link_hook_is_nf(a->hook))
		return a->pf == b->pf && a->hooknum == b->hooknum &&
		       a->priority == b->priority;
	if (_bf_hook_is_cgroup(a->hook))
		return a->cg_dev == b->cg_dev && a->cg_ino == b->cg_ino;
	return a->ifindex == b->ifindex;
}

/*
 * A netfilter priority held by a hook that is not ours (kernel nf_tables,
 * iptables-legacy, conntrack at -200): bpf links cannot share it, so the
 * dispatcher goes just before it (P - 1), which is where nf_tables puts a
 * chain registered after one of equal priority; else just after.
 */
static int _bf_nf_attach(int prog_fd, struct bf_attach_point *pt)
{
	int32_t tries[3] = { pt->priority };
	size_t n = 1;
	int fd = -EBUSY;

	if (pt->priority > INT32_MIN + 1)
		tries[n++] = pt->priority - 1;
	if (pt->priority < INT32_MAX - 1)
		tries[n++] = pt->priority + 1;
	for (size_t i = 0; i < n; i++) {
		fd = _bf_nf_link_create(prog_fd, pt->pf, pt->hooknum, tries[i]);
		if (fd >= 0) {
			if (i)
				bf_dbg("link: netfilter priority %d taken (pf %d, hook %d), at %d",
				       pt->priority, pt->pf, pt->hooknum, tries[i]);
			pt->link_priority = tries[i];
			return fd;
		}
		if (fd != -EBUSY)
			break;
	}
	bf_dbg("link: netfilter link (pf %d, hook %d, priority %d): %s", pt->pf,
	       pt->hooknum, pt->priority, strerror(-fd));
	return fd;
}

int bf_attach_link_create(int prog_fd, struct bf_attach_point *pt,
			  int target_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	int fd;

	if (bf_link_hook_is_nf(pt->hook))
		return _bf_nf_attach(prog_fd, pt);
	if (_bf_hook_is_cgroup(pt->hook)) {
		fd = bpf_link_create(prog_fd, target_fd, _bf_attach_type[pt->hook],
				     NULL);
	} else {
		if (pt->xdp_skb_mode)
			lopts.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, pt->ifindex,
				     _bf_attach_type[pt->hook], &lopts);
	}
	if (fd < 0)
		bf_dbg("link: %s link: %s", bf_hook_to_str(pt->hook),
		       strerror(-fd));
	return fd;
}
