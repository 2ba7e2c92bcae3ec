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
	/* Where the point's link, program and array are pinned, or NULL. */
	char *pin_dir;
	/* Adopted from pins (bf_link_adopt()): members gathered, not yet
	 * spliced; the ids of the programs the point ran, in order. */
	bool adopting;
	uint32_t old_ids[BF_DISPATCH_MAX + 1];
	size_t n_old;
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
	/* While adopting: where it goes (the old program's place). */
	size_t rank;
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

static void _bf_reap(void);

bool bf_codegen_reap(void)
{
	_bf_reap();
	return _bf_n_retired > 0;
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

/* Take member @i (if any) out of @d's list; nothing else changes. */
static void _bf_member_remove(struct bf_dispatch *d, size_t i)
{
	if (i >= d->n)
		return;
	memmove(&d->members[i], &d->members[i + 1],
		(d->n - i - 1) * sizeof(*d->members));
	d->n--;
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

static void _bf_dispatch_unpin(struct bf_dispatch *d)
{
	if (!d->pin_dir)
		return;
	bf_pin_remove(d->pin_dir, "link", bf_obj_id(d->link_fd));
	bf_pin_remove(d->pin_dir, "prog", bf_obj_id(d->prog_fd));
	bf_pin_remove(d->pin_dir, "next", bf_obj_id(d->next_fd));
	(void)rmdir(d->pin_dir);
	free(d->pin_dir);
	d->pin_dir = NULL;
}

/* @detach: take the point off its hook (and its pins away); else only
 * forget it, leaving whatever is pinned running. */
static void _bf_dispatch_free(struct bf_dispatch *d, bool detach)
{
	for (struct bf_dispatch **p = &_bf_dispatches; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	if (detach)
		_bf_dispatch_unpin(d);
	free(d->pin_dir);
	if (d->link_fd >= 0) {
		if (detach)
			(void)bpf_link_detach(d->link_fd);
		close(d->link_fd);
	}
	if (d->prog_fd >= 0)
		close(d->prog_fd);
	if (detach)
		bf_dispatch_retire_fd(d->next_fd);
	else
		close(d->next_fd);
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
		_bf_dispatch_free(d, true);
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
	if (d->adopting) {
		/* Nothing of it is visible yet: the point runs what it ran. */
		_bf_member_remove(d, i);
		if (!d->n)
			_bf_dispatch_free(d, false);
		close(l->prog_fd);
		close(l->next_fd);
		bf_ct_ref_put(&l->ct);
		free(l);
		*link = NULL;
		return;
	}
	if (i < d->n) {
		/* Freeing means no more filtering: the link goes when the
		 * point has no chain left. */
		if (d->n > 1) {
			int r = _bf_set_next(_bf_pred(d, i), _bf_succ(d, i));

			if (r)
				bf_err("link: cannot unlink a %s chain: %s",
				       bf_hook_to_str(l->hook), strerror(-r));
		}
		_bf_member_remove(d, i);
	}
	if (!d->n)
		_bf_dispatch_free(d, true);
	close(l->prog_fd);
	bf_dispatch_retire_fd(l->next_fd);
	bf_ct_ref_put(&l->ct);
	free(l);
	*link = NULL;
}

void bf_link_release(struct bf_link **link)
{
	struct bf_link *l;
	struct bf_dispatch *d;
	size_t i;

	if (!link || !*link)
		return;
	l = *link;
	d = l->d;
	i = _bf_index(d, l);
	/* No splice: the chain stays in the list packets see. Its conntrack
	 * reference is not put either: the anchor goes with the daemon's
	 * socket, not before the pinned programs that read ct. */
	_bf_member_remove(d, i);
	if (!d->n)
		_bf_dispatch_free(d, false);
	close(l->prog_fd);
	close(l->next_fd);
	free(l);
	*link = NULL;
}

int bf_link_pin(struct bf_link *link, const char *dir)
{
	struct bf_dispatch *d = link->d;
	int r;

	/* One point, one place: the first chain's path stays. */
	if (d->pin_dir)
		return 0;
	r = bf_pin_mkdir(dir);
	if (!r)
		r = bf_pin_fd(d->next_fd, dir, "next");
	if (!r)
		r = bf_pin_fd(d->prog_fd, dir, "prog");
	if (!r)
		r = bf_pin_fd(d->link_fd, dir, "link");
	if (!r) {
		d->pin_dir = strdup(dir);
		if (!d->pin_dir)
			r = -ENOMEM;
	}
	if (r) {
		bf_pin_remove(dir, "next", bf_obj_id(d->next_fd));
		bf_pin_remove(dir, "prog", bf_obj_id(d->prog_fd));
		bf_pin_remove(dir, "link", bf_obj_id(d->link_fd));
		(void)rmdir(dir);
	}
	return r;
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

/* A pinned fd of @dir/@name, or a negative errno. */
static int _bf_pin_open(const char *dir, const char *name)
{
	char path[BF_PIN_PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* The dispatcher pinned in @dir, for attach point @pt. */
static int _bf_dispatch_from_pins(const struct bf_attach_point *pt,
				  const char *dir, struct bf_dispatch **out)
{
	struct bpf_link_info li = {};
	uint32_t len = sizeof(li), id;
	struct bf_dispatch *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->pt = *pt;
	d->link_fd = _bf_pin_open(dir, "link");
	d->prog_fd = _bf_pin_open(dir, "prog");
	d->next_fd = _bf_pin_open(dir, "next");
	d->pin_dir = strdup(dir);
	r = d->link_fd < 0 ? d->link_fd : d->prog_fd < 0 ? d->prog_fd :
					   d->next_fd < 0 ? d->next_fd : 0;
	if (!r && !d->pin_dir)
		r = -ENOMEM;
	if (!r && bpf_link_get_info_by_fd(d->link_fd, &li, &len))
		r = -errno;
	/* The pins must be one dispatcher: its link, its program, its array. */
	if (!r && (li.prog_id != _bf_prog_id(d->prog_fd) ||
		   bf_prog_next_map_id(d->prog_fd, &id) ||
		   id != bf_obj_id(d->next_fd)))
		r = -EBADMSG;
	if (r) {
		if (d->link_fd >= 0)
			close(d->link_fd);
		if (d->prog_fd >= 0)
			close(d->prog_fd);
		if (d->next_fd >= 0)
			close(d->next_fd);
		free(d->pin_dir);
		free(d);
		return r;
	}
	if (bf_link_hook_is_nf(pt->hook))
		d->pt.link_priority = li.netfilter.priority;
	/* The list it runs, from its array down each program's own. */
	for (id = _bf_array_prog_id(d->next_fd);
	     id && d->n_old < ARRAY_SIZE(d->old_ids);) {
		int pfd = bpf_prog_get_fd_by_id(id), afd;
		uint32_t aid = 0;

		d->old_ids[d->n_old++] = id;
		if (pfd < 0)
			break;
		r = bf_prog_next_map_id(pfd, &aid);
		close(pfd);
		afd = r ? -1 : bpf_map_get_fd_by_id(aid);
		if (afd < 0)
			break;
		id = _bf_array_prog_id(afd);
		close(afd);
	}
	d->adopting = true;
	d->next = _bf_dispatches;
	_bf_dispatches = d;
	*out = d;
	return 0;
}

int bf_link_adopt(struct bf_link **link, const struct bf_program *prog,
		  const struct bf_program *running, const char *dir)
{
	_cleanup_close_ int target_fd = -1;
	_cleanup_free_ struct bf_link *l = NULL;
	struct bf_attach_point pt;
	struct bf_dispatch *d;
	uint32_t old_id = bf_obj_id(bf_program_fd(running));
	size_t at;
	int prog_fd, r;

	r = bf_link_prog_check(prog, &prog_fd);
	if (r)
		return r;
	r = bf_attach_point_get(prog, &(struct bf_link_opts){}, &pt, &target_fd);
	if (r)
		return r;
	for (d = _bf_dispatches; d; d = d->next) {
		if (bf_attach_point_eq(&d->pt, &pt))
			break;
	}
	if (d && !d->adopting)
		return -EBUSY;
	if (!d) {
		r = _bf_dispatch_from_pins(&pt, dir, &d);
		if (r)
			return r;
	}
	if (d->n == BF_DISPATCH_MAX)
		return -E2BIG;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4;
		struct bf_link **m = realloc(d->members, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		d->members = m;
		d->cap = cap;
	}

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->hook = bf_program_hook(prog);
	l->nf_pf = bf_link_hook_is_nf(l->hook) ? bf_program_nfproto(prog) : -1;
	l->priority = bf_program_priority(prog);
	/* Where the program it replaces ran; one that ran nowhere goes
	 * after them, by priority. */
	l->rank = SIZE_MAX / 2 + (size_t)((int64_t)l->priority - INT32_MIN);
	for (size_t i = 0; i < d->n_old; i++) {
		if (old_id && d->old_ids[i] == old_id)
			l->rank = i;
	}
	l->prog_fd = _bf_dup(prog_fd);
	l->next_fd = prog->next_fd >= 0 ? _bf_dup(prog->next_fd) : -EBADF;
	r = l->prog_fd < 0 ? l->prog_fd : l->next_fd < 0 ? l->next_fd : 0;
	/* A restarted daemon keeps conntrack on for the chains that read
	 * it, as bf_link_attach() does. */
	if (!r && prog->needs_ct)
		r = bf_ct_ref_get(l->nf_pf, &l->ct);
	if (r) {
		if (l->prog_fd >= 0)
			close(l->prog_fd);
		if (l->next_fd >= 0)
			close(l->next_fd);
		if (!d->n)
			_bf_dispatch_free(d, false);
		return r;
	}
	for (at = 0; at < d->n && d->members[at]->rank <= l->rank; at++)
		;
	memmove(&d->members[at + 1], &d->members[at],
		(d->n - at) * sizeof(*d->members));
	d->members[at] = l;
	d->n++;
	l->d = d;
	*link = TAKE_PTR(l);
	return 0;
}

int bf_link_adopt_finish(void)
{
	int err = 0;

	for (struct bf_dispatch *d = _bf_dispatches; d; d = d->next) {
		int r = 0;

		if (!d->adopting)
			continue;
		/* Back to front, nothing visible, then the point's array:
		 * one update switches every chain of the point at once. */
		for (size_t i = d->n; i-- > 0 && !r;)
			r = _bf_set_next(d->members[i]->next_fd, _bf_succ(d, i));
		if (!r)
			r = _bf_set_next(d->next_fd, d->n ? d->members[0]->prog_fd : -1);
		if (r) {
			bf_err("link: adopting the attach point %s: %s",
			       d->pin_dir ? d->pin_dir : "?", strerror(-r));
			err = err ? err : r;
			continue;
		}
		d->adopting = false;
	}
	return err;
}
