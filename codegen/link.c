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
 * Hence, for netfilter:
 * - Links do not ask for BPF_F_NETFILTER_IP_DEFRAG: nf_tables chains see
 *   fragments one by one unless conntrack reassembles them first.
 * - bf_link_replace() attaches the new program at the chain's priority if
 *   it is free (it is when the old link sits next to it after an earlier
 *   replacement), else at priority - 1, else + 1, then closes the old link.
 *   Both programs see packets for that instant, never neither. Nothing is
 *   tried further away: a hook sitting at P +/- 1 could otherwise end up on
 *   the other side of the chain. The link alternates between P and P +/- 1
 *   over successive replacements.
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
#include <sys/vfs.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"


struct bf_link {
	int fd;
	enum bf_hook hook;
	/* Netfilter: where the link currently sits. */
	int nf_pf;
	int nf_hooknum;
	int32_t nf_priority;
};

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

static bool _bf_hook_is_nf(enum bf_hook hook)
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

static int _bf_prog_check(const struct bf_program *prog, int *prog_fd)
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
	if (_bf_hook_is_nf(hook)) {
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

int bf_link_attach(struct bf_link **link, const struct bf_program *prog,
		   const struct bf_link_opts *opts)
{
	static const struct bf_link_opts no_opts = {};
	_cleanup_free_ struct bf_link *l = NULL;
	_cleanup_close_ int target_fd = -1;
	enum bf_hook hook;
	int prog_fd, fd, r;

	assert(link);
	assert(prog);

	if (!opts)
		opts = &no_opts;

	r = _bf_prog_check(prog, &prog_fd);
	if (r)
		return r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;

	hook = bf_program_hook(prog);
	l->fd = -1;
	l->hook = hook;
	l->nf_pf = -1;
	l->nf_hooknum = -1;

	if (_bf_hook_is_nf(hook)) {
		l->nf_pf = bf_program_nfproto(prog);
		l->nf_hooknum = _bf_nf_hooknum[hook];
		l->nf_priority = bf_program_priority(prog);
		fd = _bf_nf_link_create(prog_fd, l->nf_pf, l->nf_hooknum,
					l->nf_priority);
		if (fd < 0) {
			bf_dbg("link: netfilter link (pf %d, hook %d, priority %d) for chain '%s': %s",
			       l->nf_pf, l->nf_hooknum, l->nf_priority,
			       bf_program_chain(prog), strerror(-fd));
			return fd;
		}
	} else if (_bf_hook_is_cgroup(hook)) {
		const char *path = opts->cgroup ? opts->cgroup :
						  bf_program_cgroup(prog);

		r = _bf_cgroup_open(path, &target_fd);
		if (r)
			return r;

		fd = bpf_link_create(prog_fd, target_fd, _bf_attach_type[hook],
				     NULL);
		if (fd < 0) {
			bf_dbg("link: %s link on cgroup '%s' for chain '%s': %s",
			       bf_hook_to_str(hook), path,
			       bf_program_chain(prog), strerror(-fd));
			return fd;
		}
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, lopts);
		const char *ifname = opts->ifname ? opts->ifname :
						    bf_program_ifname(prog);
		int ifindex;

		r = _bf_ifindex(ifname, &ifindex);
		if (r)
			return r;

		if (hook == BF_HOOK_XDP && opts->xdp_skb_mode)
			lopts.flags = XDP_FLAGS_SKB_MODE;

		fd = bpf_link_create(prog_fd, ifindex, _bf_attach_type[hook],
				     &lopts);
		if (fd < 0) {
			bf_dbg("link: %s link on '%s' for chain '%s': %s",
			       bf_hook_to_str(hook), ifname,
			       bf_program_chain(prog), strerror(-fd));
			return fd;
		}
	}

	l->fd = fd;
	*link = TAKE_PTR(l);

	return 0;
}

static int _bf_link_replace_nf(struct bf_link *link, int prog_fd,
			       int32_t priority)
{
	int32_t tries[3];
	size_t n = 0;
	int fd = -EBUSY;

	/* Candidates: P, P - 1, P + 1, skipping where the old link sits and
	 * the kernel's reserved NF_IP_PRI_FIRST / NF_IP_PRI_LAST. */
	if (priority != link->nf_priority)
		tries[n++] = priority;
	if (priority > INT32_MIN + 1 && priority - 1 != link->nf_priority)
		tries[n++] = priority - 1;
	if (priority < INT32_MAX - 1 && priority + 1 != link->nf_priority)
		tries[n++] = priority + 1;

	for (size_t i = 0; i < n; i++) {
		fd = _bf_nf_link_create(prog_fd, link->nf_pf, link->nf_hooknum,
					tries[i]);
		if (fd >= 0) {
			/* The new program filters from here on: drop the old. */
			close(link->fd);
			link->fd = fd;
			link->nf_priority = tries[i];
			return 0;
		}
		if (fd != -EBUSY && fd != -ERANGE)
			break;
	}

	bf_dbg("link: no free netfilter priority next to %d (pf %d, hook %d): %s",
	       priority, link->nf_pf, link->nf_hooknum, strerror(-fd));
	return fd;
}

int bf_link_replace(struct bf_link *link, struct bf_program *new_prog,
		    const struct bf_program *old_prog)
{
	int prog_fd, r;

	assert(link);
	assert(new_prog);

	r = _bf_prog_check(new_prog, &prog_fd);
	if (r)
		return r;

	if (bf_program_hook(new_prog) != link->hook) {
		bf_dbg("link: cannot replace a %s program by a %s program",
		       bf_hook_to_str(link->hook),
		       bf_hook_to_str(bf_program_hook(new_prog)));
		return -EINVAL;
	}
	if (_bf_hook_is_nf(link->hook) &&
	    bf_program_nfproto(new_prog) != link->nf_pf) {
		bf_dbg("link: cannot replace an nfproto %d program by an nfproto %d one",
		       link->nf_pf, bf_program_nfproto(new_prog));
		return -EINVAL;
	}

	if (old_prog) {
		r = bf_program_inherit_counters(new_prog,
						old_prog);
		if (r) {
			bf_dbg("link: carrying counters over to chain '%s': %s",
			       bf_program_chain(new_prog), strerror(-r));
			return r;
		}
	}

	if (_bf_hook_is_nf(link->hook))
		return _bf_link_replace_nf(link, prog_fd,
					   bf_program_priority(new_prog));

	{
		LIBBPF_OPTS(bpf_link_update_opts, uopts);

		/* The kernel checks that @old_prog is the one being replaced. */
		if (old_prog && bf_program_fd(old_prog) >= 0) {
			uopts.flags = BPF_F_REPLACE;
			uopts.old_prog_fd = bf_program_fd(old_prog);
		}

		r = bpf_link_update(link->fd, prog_fd, &uopts);
		if (r) {
			bf_dbg("link: updating %s link: %s",
			       bf_hook_to_str(link->hook), strerror(-r));
			return r;
		}
	}

	return 0;
}

void bf_link_free(struct bf_link **link)
{
	if (!link || !*link)
		return;

	if ((*link)->fd >= 0) {
		/* Detach even if someone else holds a reference to the link
		 * (a pin, a dup'd fd): freeing means no more filtering. */
		(void)bpf_link_detach((*link)->fd);
		close((*link)->fd);
	}

	free(*link);
	*link = NULL;
}

int bf_link_fd(const struct bf_link *link)
{
	return link ? link->fd : -1;
}
