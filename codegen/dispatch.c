/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hook dispatch: any number of chains on one attach point, in nf_tables'
 * order, each replaced atomically and exactly.
 *
 * The kernel gives little room (codegen/link.c): netfilter bpf links cannot
 * share a priority and cannot be updated, XDP takes one program per device.
 * So each attach point (netfilter hook + family + priority of a netns, a
 * device's XDP or TCX hook, a cgroup's hook) gets one dispatcher: a
 * five-instruction program attached with the point's one link, whose work
 * is a tail call through its own one-entry program array. Every chain
 * program ends its accept path the same way, through its own array
 * (BF_MAP_NEXT, codegen/program.c), so the chains of a point form a list:
 *
 *   link -> dispatcher -[next]-> chain A -[next]-> chain B -[next]-> (empty)
 *
 * An empty array makes the tail call fall through: the program returns
 * accept and the packet goes on to the kernel's next hook. A drop ends the
 * list. Each splice is one update of one array entry, atomic for packets:
 *
 * - insert X before B (after A): X.next = B, then A.next = X;
 * - replace B by B': B'.next = C, then A.next = B';
 * - remove B: A.next = C.
 *
 * A packet runs the old program or the new one, never both, never
 * neither, and with counters maps shared across generations
 * (codegen/loader.c) it is counted exactly once. A program taken out may
 * still run for packets already inside it, which go on through its array:
 * the array's fd is closed a second later (a program array is emptied
 * when its last user fd closes).
 *
 * Order: a netfilter point holds chains of one priority, the one
 * registered last first, as nf_tables orders base chains of equal
 * priority on a hook (a new hook goes before the first of priority >= its
 * own, net/netfilter/core.c, and measured with nft list hooks). On a device
 * or cgroup point, chains go by priority, then the same rule.
 *
 * Cost: the dispatcher's tail call, and one more for each chain that
 * accepts (Documentation/benchmarks.md). The kernel allows 33 tail calls
 * in a row: an attach point takes at most BF_DISPATCH_MAX chains.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"
#include "codegen/conntrack.h"

#define BF_DISPATCH_MAX 32

struct bf_dispatch {
	struct bf_attach_point pt;
	int prog_fd;
	int next_fd;
	int link_fd;
	struct bf_link **members; /* in the order packets see them */
	size_t n, cap;
	struct bf_dispatch *next;
};

struct bf_link {
	struct bf_dispatch *d;
	enum bf_hook hook;
	int nf_pf;
	int32_t priority;
	/* The program in place: its fd and its next array (dups). */
	int prog_fd;
	int next_fd;
	/* Conntrack held on while the program in place reads it. */
	struct bf_ct_ref *ct;
};

static struct bf_dispatch *_bf_dispatches;

/* Retired program array fds, closed once packets have left. */
struct _bf_retired {
	int fd;
	struct timespec at;
};
static struct _bf_retired *_bf_retired;
static size_t _bf_n_retired, _bf_cap_retired;

static double _bf_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void _bf_reap(void)
{
	size_t k = 0;

	for (size_t i = 0; i < _bf_n_retired; i++) {
		if (_bf_since(&_bf_retired[i].at) >= 1.0)
			close(_bf_retired[i].fd);
		else
			_bf_retired[k++] = _bf_retired[i];
	}
	_bf_n_retired = k;
}

void bf_dispatch_retire_fd(int fd)
{
	if (fd < 0)
		return;
	_bf_reap();
	if (_bf_n_retired == _bf_cap_retired) {
		size_t cap = _bf_cap_retired ? _bf_cap_retired * 2 : 16;
		struct _bf_retired *n = realloc(_bf_retired, cap * sizeof(*n));

		if (!n) {
			/* Better a packet skipping a chain than a leak. */
			close(fd);
			return;
		}
		_bf_retired = n;
		_bf_cap_retired = cap;
	}
	_bf_retired[_bf_n_retired].fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &_bf_retired[_bf_n_retired].at);
	_bf_n_retired++;
}

static int _bf_dup(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? -errno : n;
}

/* Point program array @array at program @prog_fd (-1: empty it). */
static int _bf_set_next(int array, int prog_fd)
{
	uint32_t key = 0;

	if (prog_fd < 0) {
		if (bpf_map_delete_elem(array, &key) && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (bpf_map_update_elem(array, &key, &prog_fd, BPF_ANY))
		return -errno;
	return 0;
}

static size_t _bf_index(const struct bf_dispatch *d, const struct bf_link *l)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->members[i] == l)
			return i;
	}
	return d->n;
}

/* The array that leads to member @i, and the program after it. */
static int _bf_pred(const struct bf_dispatch *d, size_t i)
{
	return i ? d->members[i - 1]->next_fd : d->next_fd;
}

static int _bf_succ(const struct bf_dispatch *d, size_t i)
{
	return i + 1 < d->n ? d->members[i + 1]->prog_fd : -1;
}

static void _bf_dispatch_free(struct bf_dispatch *d)
{
	for (struct bf_dispatch **p = &_bf_dispatches; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	if (d->link_fd >= 0) {
		(void)bpf_link_detach(d->link_fd);
		close(d->link_fd);
	}
	if (d->prog_fd >= 0)
		close(d->prog_fd);
	bf_dispatch_retire_fd(d->next_fd);
	free(d->members);
	free(d);
}

static int _bf_dispatch_get(const struct bf_program *prog,
			    const struct bf_link_opts *opts,
			    struct bf_dispatch **out)
{
	_cleanup_close_ int target_fd = -1;
	struct bf_attach_point pt;
	struct bf_dispatch *d;
	int r;

	r = bf_attach_point_get(prog, opts, &pt, &target_fd);
	if (r)
		return r;
	for (d = _bf_dispatches; d; d = d->next) {
		if (bf_attach_point_eq(&d->pt, &pt)) {
			*out = d;
			return 0;
		}
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->pt = pt;
	d->prog_fd = d->link_fd = -1;
	d->next_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bf_dispatch",
				    sizeof(uint32_t), sizeof(uint32_t), 1, NULL);
	if (d->next_fd < 0) {
		r = -errno;
		free(d);
		return r;
	}
	r = bf_dispatch_prog_load(prog, d->next_fd, &d->prog_fd);
	if (r) {
		bf_dbg("link: cannot load the dispatcher of %s: %s",
		       bf_hook_to_str(pt.hook), strerror(-r));
		close(d->next_fd);
		free(d);
		return r;
	}
	d->link_fd = bf_attach_link_create(d->prog_fd, &d->pt, target_fd);
	if (d->link_fd < 0) {
		r = d->link_fd;
		d->link_fd = -1;
		close(d->prog_fd);
		close(d->next_fd);
		free(d);
		return r;
	}
	d->next = _bf_dispatches;
	_bf_dispatches = d;
	*out = d;
	return 0;
}

/* The id of the program in array @array's entry, or 0. */
static uint32_t _bf_array_prog_id(int array)
{
	uint32_t key = 0, id = 0;

	if (bpf_map_lookup_elem(array, &key, &id))
		return 0;
	return id;
}

static uint32_t _bf_prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (prog_fd < 0 || bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

/* Where a new chain goes: before the first of priority >= its own. */
static size_t _bf_position(const struct bf_dispatch *d, int32_t priority)
{
	size_t i = 0;

	while (i < d->n && d->members[i]->priority < priority)
		i++;
	return i;
}

int bf_link_attach(struct bf_link **link, const struct bf_program *prog,
		   const struct bf_link_opts *opts)
{
	static const struct bf_link_opts no_opts = {};
	_cleanup_free_ struct bf_link *l = NULL;
	struct bf_dispatch *d = NULL;
	size_t at;
	int prog_fd, r;

	if (!opts)
		opts = &no_opts;
	r = bf_link_prog_check(prog, &prog_fd);
	if (r)
		return r;
	_bf_reap();

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->hook = bf_program_hook(prog);
	l->nf_pf = bf_link_hook_is_nf(l->hook) ? bf_program_nfproto(prog) : -1;
	l->priority = bf_program_priority(prog);
	l->prog_fd = _bf_dup(prog_fd);
	l->next_fd = prog->next_fd >= 0 ? _bf_dup(prog->next_fd) : -EBADF;
	if (l->prog_fd < 0 || l->next_fd < 0) {
		r = l->prog_fd < 0 ? l->prog_fd : l->next_fd;
		goto err_close;
	}

	/* One program, one place: its next array has room for one successor. */
	for (const struct bf_dispatch *o = _bf_dispatches; o; o = o->next) {
		for (size_t k = 0; k < o->n; k++) {
			if (_bf_prog_id(o->members[k]->prog_fd) == _bf_prog_id(prog_fd)) {
				bf_dbg("link: chain '%s' is attached already",
				       bf_program_chain(prog));
				r = -EEXIST;
				goto err_close;
			}
		}
	}

	if (prog->needs_ct) {
		r = bf_ct_ref_get(l->nf_pf, &l->ct);
		if (r) {
			bf_dbg("link: chain '%s' reads conntrack, which cannot be turned on: %s",
			       bf_program_chain(prog), strerror(-r));
			goto err_close;
		}
	}

	r = _bf_dispatch_get(prog, opts, &d);
	if (r)
		goto err_close;
	if (d->n == BF_DISPATCH_MAX) {
		bf_dbg("link: %s: more than %d chains on one attach point",
		       bf_hook_to_str(l->hook), BF_DISPATCH_MAX);
		r = -E2BIG;
		goto err_unused;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4;
		struct bf_link **m = realloc(d->members, cap * sizeof(*m));

		if (!m) {
			r = -ENOMEM;
			goto err_unused;
		}
		d->members = m;
		d->cap = cap;
	}

	at = _bf_position(d, l->priority);
	r = _bf_set_next(l->next_fd, at < d->n ? d->members[at]->prog_fd : -1);
	if (!r)
		r = _bf_set_next(at ? d->members[at - 1]->next_fd : d->next_fd,
				 l->prog_fd);
	if (r) {
		bf_dbg("link: splicing chain '%s' in: %s", bf_program_chain(prog),
		       strerror(-r));
		goto err_unused;
	}
	memmove(&d->members[at + 1], &d->members[at],
		(d->n - at) * sizeof(*d->members));
	d->members[at] = l;
	d->n++;
	l->d = d;
	*link = TAKE_PTR(l);
	return 0;

err_unused:
	if (d && !d->n)
		_bf_dispatch_free(d);
err_close:
	bf_ct_ref_put(&l->ct);
	if (l->prog_fd >= 0)
		close(l->prog_fd);
	if (l->next_fd >= 0)
		close(l->next_fd);
	return r;
}

int bf_link_replace(struct bf_link *link, struct bf_program *new_prog,
		    const struct bf_program *old_prog)
{
	struct bf_dispatch *d = link->d;
	size_t i = _bf_index(d, link);
	struct bf_ct_ref *ct = NULL;
	int prog_fd, pfd, nfd, r;

	r = bf_link_prog_check(new_prog, &prog_fd);
	if (r)
		return r;
	if (bf_program_hook(new_prog) != link->hook) {
		bf_dbg("link: cannot replace a %s program by a %s program",
		       bf_hook_to_str(link->hook),
		       bf_hook_to_str(bf_program_hook(new_prog)));
		return -EINVAL;
	}
	if (bf_link_hook_is_nf(link->hook) &&
	    bf_program_nfproto(new_prog) != link->nf_pf) {
		bf_dbg("link: cannot replace an nfproto %d program by an nfproto %d one",
		       link->nf_pf, bf_program_nfproto(new_prog));
		return -EINVAL;
	}
	if (new_prog->next_fd < 0)
		return -EINVAL;
	/* As BPF_F_REPLACE: a stale @old_prog cannot clobber a newer one. */
	if (old_prog && bf_program_fd(old_prog) >= 0 &&
	    _bf_prog_id(bf_program_fd(old_prog)) != _bf_prog_id(link->prog_fd))
		return -EPERM;
	_bf_reap();

	if (old_prog) {
		r = bf_program_inherit_counters(new_prog, old_prog);
		if (r) {
			bf_dbg("link: carrying counters over to chain '%s': %s",
			       bf_program_chain(new_prog), strerror(-r));
			return r;
		}
	}

	/* Conntrack on before the new program runs, off (if it was on)
	 * once the old one is out. */
	if (new_prog->needs_ct && !link->ct) {
		r = bf_ct_ref_get(link->nf_pf, &ct);
		if (r) {
			bf_dbg("link: chain '%s' reads conntrack, which cannot be turned on: %s",
			       bf_program_chain(new_prog), strerror(-r));
			return r;
		}
	}

	pfd = _bf_dup(prog_fd);
	if (pfd < 0) {
		bf_ct_ref_put(&ct);
		return pfd;
	}
	nfd = _bf_dup(new_prog->next_fd);
	if (nfd < 0) {
		bf_ct_ref_put(&ct);
		close(pfd);
		return nfd;
	}
	/* The new program's successor first: nothing reaches it yet. */
	r = _bf_set_next(nfd, _bf_succ(d, i));
	if (!r)
		r = _bf_set_next(_bf_pred(d, i), pfd);
	if (r) {
		bf_dbg("link: swapping chain '%s' in: %s",
		       bf_program_chain(new_prog), strerror(-r));
		bf_ct_ref_put(&ct);
		close(pfd);
		close(nfd);
		return r;
	}
	close(link->prog_fd);
	bf_dispatch_retire_fd(link->next_fd);
	link->prog_fd = pfd;
	link->next_fd = nfd;
	if (ct)
		link->ct = ct;
	else if (!new_prog->needs_ct)
		bf_ct_ref_put(&link->ct);
	return 0;
}

void bf_link_free(struct bf_link **link)
{
	struct bf_link *l;
	struct bf_dispatch *d;
	size_t i;

	if (!link || !*link)
		return;
	l = *link;
	d = l->d;
	i = _bf_index(d, l);
	if (i < d->n) {
		/* Freeing means no more filtering: the link goes when the
		 * point has no chain left. */
		if (d->n > 1) {
			int r = _bf_set_next(_bf_pred(d, i), _bf_succ(d, i));

			if (r)
				bf_err("link: cannot unlink a %s chain: %s",
				       bf_hook_to_str(l->hook), strerror(-r));
		}
		memmove(&d->members[i], &d->members[i + 1],
			(d->n - i - 1) * sizeof(*d->members));
		d->n--;
	}
	if (!d->n)
		_bf_dispatch_free(d);
	close(l->prog_fd);
	bf_dispatch_retire_fd(l->next_fd);
	bf_ct_ref_put(&l->ct);
	free(l);
	*link = NULL;
}

int bf_link_fd(const struct bf_link *link)
{
	return link ? link->d->link_fd : -1;
}

uint32_t bf_link_prog_id(const struct bf_link *link)
{
	const struct bf_dispatch *d = link->d;
	size_t i = _bf_index(d, link);

	return i < d->n ? _bf_array_prog_id(_bf_pred(d, i)) : 0;
}

int bf_link_test_run(const struct bf_link *link, const struct bf_program *like,
		     const void *pkt, size_t len, uint32_t repeat, int *retval,
		     uint32_t *duration_ns)
{
	return bf_test_run_fd(like, link->d->prog_fd, pkt, len, repeat, retval,
			      duration_ns);
}
