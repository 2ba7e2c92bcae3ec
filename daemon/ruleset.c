/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ruleset core (ruleset.h): commit of the IR tables a front-end
 * changed in one network namespace. Every base chain is compiled and loaded
 * first (a failure refuses the commit with nothing changed), then attached,
 * swapped or updated in place in the namespace (a failure undoes what was
 * done so far). The attach state of a base chain is a struct bf_rs_chain,
 * kept by the front-end between commits.
 *
 *   netfilter hook, one family   -> one netfilter link
 *   netfilter hook, IPv4 + IPv6  -> two netfilter links (inet)
 *   TC / XDP hook with a device  -> a TCX or XDP link
 *
 * Pins (persistent mode), staging and restore are in ruleset_pin.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"
#include "daemon/netns.h"
#include "daemon/ruleset.h"
#include "daemon/ruleset_priv.h"

static bool _bf_rs_dry_run;
/* The daemon is stopping: handles are released, pins left running. */
static bool _bf_rs_stopping;
/* Tests: die by SIGKILL right after the first swap of a running program,
 * before its final pins (bf_ruleset_set_test_crash()). */
static bool _bf_rs_test_crash;

/* Messages are cut to the caller's buffer, on purpose. */
__attribute__((format(printf, 3, 4)))
void bf_rs_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

void bf_ruleset_set_dry_run(bool dry_run)
{
	_bf_rs_dry_run = dry_run;
}

int bf_ruleset_tick(void)
{
	return bf_codegen_reap() ? 500 : -1;
}

void bf_ruleset_set_stopping(void)
{
	_bf_rs_stopping = true;
}

void bf_ruleset_set_test_crash(bool crash)
{
	_bf_rs_test_crash = crash;
}

void bf_rs_chain_free(struct bf_rs_chain **rs)
{
	struct bf_rs_chain *h = *rs;
	bool keep;

	if (!h)
		return;
	/* A stopping daemon leaves what runs running: pinned, it goes on
	 * filtering (fail-closed); not pinned, it goes with the fds. */
	keep = _bf_rs_stopping;
	if (!keep)
		bf_rs_unpin(h);
	for (size_t i = 0; i < h->n; i++) {
		if (keep)
			bf_link_release(&h->links[i]);
		else
			bf_link_free(&h->links[i]);
		bf_program_free(&h->progs[i]);
	}
	if (!keep && h->ns_dir) {
		char d[BF_RS_PATH_MAX];

		snprintf(d, sizeof(d), "%s/dispatch", h->ns_dir);
		bf_rs_rmdirs(d, bf_rs_pin_root);
	}
	free(h->dir);
	free(h->ns_dir);
	free(h);
	*rs = NULL;
}

int bf_rs_chain_counter(const struct bf_rs_chain *owner, const char *chain,
			size_t rule, size_t expr, uint64_t *packets,
			uint64_t *bytes)
{
	bool found = false;

	*packets = 0;
	*bytes = 0;
	for (size_t k = 0; owner && k < owner->n; k++) {
		uint64_t p, b;

		if (bf_program_get_counter(owner->progs[k], chain, rule, expr,
					   &p, &b))
			continue;
		*packets += p;
		*bytes += b;
		found = true;
	}

	return found ? 0 : -ENOENT;
}

int bf_rs_chain_policy_counter(const struct bf_rs_chain *owner,
			       uint64_t *packets, uint64_t *bytes)
{
	bool found = false;

	*packets = 0;
	*bytes = 0;
	for (size_t k = 0; owner && k < owner->n; k++) {
		uint64_t p, b;

		if (bf_program_get_policy_counter(owner->progs[k], &p, &b))
			continue;
		*packets += p;
		*bytes += b;
		found = true;
	}

	return found ? 0 : -ENOENT;
}


/* The declared attach point goes into the IR base chain. */
static int _bf_rs_prepare(struct bf_table *ir, const struct bf_rs_base *b,
			  char *msg, size_t msglen)
{
	struct bf_chain *irc = bf_table_get_chain(ir, b->name);

	if (!irc || !irc->base) {
		bf_rs_msg(msg, msglen, "chain '%s': no such base chain in table '%s'",
			  b->name, ir->name);
		return -EINVAL;
	}
	if (b->ifname && strlen(b->ifname) >= sizeof(irc->ifname)) {
		bf_rs_msg(msg, msglen, "chain '%s': device name '%s' is too long",
			  b->name, b->ifname);
		return -EINVAL;
	}
	if (b->cgroup && strlen(b->cgroup) >= sizeof(irc->cgroup)) {
		bf_rs_msg(msg, msglen, "chain '%s': cgroup path '%s' is too long",
			  b->name, b->cgroup);
		return -EINVAL;
	}
	irc->hook = b->hook;
	irc->priority = b->priority;
	snprintf(irc->ifname, sizeof(irc->ifname), "%s",
		 b->ifname ? b->ifname : "");
	snprintf(irc->cgroup, sizeof(irc->cgroup), "%s",
		 b->cgroup ? b->cgroup : "");

	return 0;
}

/*
 * The new rules of base chain @b: either plans to update its running
 * programs in place (@ups, codegen/update.c), or new programs, loaded
 * (*@out). An inet chain's two programs go the same way.
 */
static int _bf_rs_compile(const struct bf_netns_ctx *ctx, struct bf_table *ir,
			  const struct bf_rs_base *b, struct bf_rs_chain **out,
			  struct bf_update **ups, bool *in_place,
			  struct bf_program **adopted, char *msg, size_t msglen)
{
	const struct bf_rs_chain *old = b->rs;
	int nfproto[2] = { BF_NFPROTO_UNSPEC, 0 };
	struct bf_rs_chain *h;
	char log[4096];
	int r;

	r = _bf_rs_prepare(ir, b, msg, msglen);
	if (r)
		return r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->prio = b->priority;
	h->n = 1;
	if ((b->nfprotos & BF_RS_IPV4) && (b->nfprotos & BF_RS_IPV6)) {
		nfproto[0] = BF_NFPROTO_IPV4;
		nfproto[1] = BF_NFPROTO_IPV6;
		h->n = 2;
	} else if (b->nfprotos & BF_RS_IPV4) {
		nfproto[0] = BF_NFPROTO_IPV4;
	} else if (b->nfprotos & BF_RS_IPV6) {
		nfproto[0] = BF_NFPROTO_IPV6;
	}

	/* Restore: the programs pinned by the daemon before. */
	if (b->adopt && !old && !_bf_rs_dry_run) {
		r = bf_rs_adopt(ctx, ir, b, h, nfproto, adopted, msg, msglen);
		if (r) {
			bf_rs_chain_free(&h);
			return r;
		}
	}

	/* Not for a dormant chain: nothing is attached. */
	*in_place = old && old->n == h->n && old->prio == h->prio &&
		    !b->dormant && !_bf_rs_dry_run;
	for (size_t i = 0; *in_place && i < h->n; i++)
		*in_place = old->links[i];
	for (size_t i = 0; i < h->n && *in_place && !r; i++) {
		r = bf_update_plan(old->progs[i], ir, b->name, &h->progs[i],
				   &ups[i], msg, msglen);
		if (r == -EAGAIN) {
			*in_place = false;
			r = 0;
		}
	}
	if (!*in_place) {
		for (size_t i = 0; i < h->n; i++)
			bf_update_free(&ups[i]);
	}
	for (size_t i = 0; i < h->n && !r && !*in_place; i++) {
		if (h->progs[i])
			continue;
		if (adopted[i])
			r = bf_program_generate_for(&h->progs[i], ir, b->name,
						    nfproto[i], adopted[i], msg,
						    msglen);
		else
			r = bf_program_generate(&h->progs[i], ir, b->name,
						nfproto[i], msg, msglen);
	}
	if (!r)
		bf_dbg("ruleset: chain '%s': %s", b->name,
		       *in_place ? "rules updated in place" : "new program");
	for (size_t i = 0; i < h->n && !r && !*in_place && !_bf_rs_dry_run; i++) {
		log[0] = '\0';
		r = bf_program_load(h->progs[i], log, sizeof(log));
		if (r) {
			const char *tail = log;
			size_t l = strlen(log);

			if (l > 160)
				tail = log + l - 160;
			bf_rs_msg(msg, msglen, "chain '%s': the kernel refused the program: %s",
				  b->name, tail);
		}
	}
	if (r) {
		for (size_t i = 0; i < h->n; i++) {
			bf_update_free(&ups[i]);
			bf_program_free(&adopted[i]);
		}
		bf_rs_chain_free(&h);
		return r;
	}
	*out = h;

	return 0;
}

/*
 * Attach or swap the links of one chain. A chain whose device does not
 * exist (yet) is accepted unattached, as nf_tables accepts a netdev chain
 * on a missing device; a later commit of the chain tries again.
 */
static int _bf_rs_attach_one(struct bf_rs_pending *p, char *msg, size_t msglen)
{
	const struct bf_rs_base *b = p->base;
	struct bf_rs_chain *old = b->rs, *h = p->rs;
	int r = 0;
	size_t i;

	if (p->in_place) {
		for (i = 0; i < h->n && !r; i++)
			r = bf_update_apply(p->ups[i]);
		if (!r)
			return 0;
		bf_rs_msg(msg, msglen, "chain '%s': map update failed: %s",
			  b->name, strerror(-r));
		for (i--; i-- > 0;)
			(void)bf_update_undo(p->ups[i]);
		return r;
	}
	for (i = 0; i < h->n; i++) {
		/* Not replacing a link (dormant, before or now; device
		 * missing): the counters still go on. */
		if (old && (!old->links[i] || b->dormant)) {
			r = bf_program_inherit_counters(h->progs[i], old->progs[i]);
			if (r)
				break;
		}
		if (b->dormant || h->links[i])
			continue; /* dormant, or adopted (bf_rs_adopt_links()) */
		if (old && old->links[i]) {
			r = bf_link_replace(old->links[i], h->progs[i],
					    old->progs[i]);
		} else {
			r = bf_link_attach(&h->links[i], h->progs[i], NULL);
			if (r == -ENODEV && b->ifname && b->ifname[0]) {
				bf_dbg("ruleset: chain '%s': no device '%s' yet, not attached",
				       b->name, b->ifname);
				r = 0;
			}
		}
		if (r)
			break;
	}
	if (!r)
		return 0;

	bf_rs_msg(msg, msglen, "chain '%s': attach failed: %s", b->name,
		  strerror(-r));
	while (i-- > 0 && !b->dormant) {
		if (old && old->links[i])
			(void)bf_link_replace(old->links[i], old->progs[i], NULL);
		else
			bf_link_free(&h->links[i]);
	}

	return r;
}

static void _bf_rs_undo_one(struct bf_rs_pending *p)
{
	const struct bf_rs_base *b = p->base;
	struct bf_rs_chain *old = b->rs, *h = p->rs;

	for (size_t i = 0; i < h->n && p->in_place; i++)
		(void)bf_update_undo(p->ups[i]);
	for (size_t i = 0; i < h->n && !p->in_place && !b->dormant; i++) {
		if (old && old->links[i])
			(void)bf_link_replace(old->links[i], old->progs[i],
					      NULL);
		else
			bf_link_free(&h->links[i]);
	}
}

/* The new programs and links of @p go into the chain's handle. */
static void _bf_rs_keep(struct bf_rs_pending *p)
{
	struct bf_rs_base *b = p->base;
	struct bf_rs_chain *h = p->rs;

	p->rs = NULL;
	if (p->in_place) {
		/* The running programs have the new rules. */
		bf_rs_chain_free(&h);
		return;
	}
	if (!b->rs) {
		b->rs = h;
		return;
	}
	b->rs->prio = h->prio;
	for (size_t k = 0; k < h->n; k++) {
		/* Dormant: unhooked, the programs kept. */
		if (b->dormant)
			bf_link_free(&b->rs->links[k]);
		/* Its pins were replaced by the new program's
		 * (bf_rs_pin_progs()). */
		bf_program_free(&b->rs->progs[k]);
		b->rs->progs[k] = TAKE_PTR(h->progs[k]);
		/* Attached now, having had no device before or waking up. */
		if (!b->rs->links[k])
			b->rs->links[k] = TAKE_PTR(h->links[k]);
	}
	if (h->dir) {
		free(b->rs->dir);
		free(b->rs->ns_dir);
		b->rs->dir = TAKE_PTR(h->dir);
		b->rs->ns_dir = TAKE_PTR(h->ns_dir);
	}
	free(h);
}

static void _bf_rs_fail(struct bf_rs_error *err, enum bf_rs_stage stage,
			size_t table, size_t base)
{
	err->stage = stage;
	err->table = table;
	err->base = base;
}


int bf_ruleset_commit(struct bf_netns_ctx *ctx, struct bf_rs_table *tables,
		      size_t n_tables, struct bf_rs_error *err)
{
	struct bf_rs_pending *pend = NULL;
	size_t n_pend = 0;
	struct timespec t0, t1;
	bool restoring = false, adopted = false, staged = false;
	char stage[BF_RS_PATH_MAX];
	int saved = -1;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err->msg[0] = '\0';
	_bf_rs_fail(err, BF_RS_STAGE_COMPILE, SIZE_MAX, SIZE_MAX);

	for (size_t i = 0; i < n_tables; i++)
		n_pend += tables[i].n_bases;
	if (n_pend) {
		pend = calloc(n_pend, sizeof(*pend));
		if (!pend) {
			bf_rs_msg(err->msg, sizeof(err->msg), "out of memory");
			return -ENOMEM;
		}
	}
	n_pend = 0;

	/* 1. Compile and load: nothing is visible yet. */
	for (size_t i = 0; i < n_tables && !r; i++) {
		for (size_t j = 0; j < tables[i].n_bases && !r; j++) {
			struct bf_rs_pending *p = &pend[n_pend];

			p->base = &tables[i].bases[j];
			p->table = i;
			p->idx = j;
			r = _bf_rs_compile(ctx, tables[i].ir, p->base, &p->rs,
					   p->ups, &p->in_place, p->adopted,
					   err->msg, sizeof(err->msg));
			if (r)
				_bf_rs_fail(err, BF_RS_STAGE_COMPILE, i, j);
			else
				n_pend++;
		}
	}
	if (r)
		goto out;

	/* Staged pins: a program swapped in holds its next array (and so the
	 * chains after it) from the moment packets reach it, even if the
	 * daemon dies before the final pins. */
	if (bf_rs_pin_root && !_bf_rs_dry_run)
		staged = bf_rs_stage_pins(ctx, pend, n_pend, stage, sizeof(stage));

	/* 2. Attach or swap, in the client's netns. */
	if (n_pend && !_bf_rs_dry_run) {
		r = bf_netns_enter(ctx, &saved);
		if (r) {
			bf_rs_msg(err->msg, sizeof(err->msg),
				  "cannot enter the client's network namespace: %s",
				  strerror(-r));
			_bf_rs_fail(err, BF_RS_STAGE_NETNS, SIZE_MAX, SIZE_MAX);
			goto out;
		}
	}
	for (size_t i = 0; i < n_pend && !_bf_rs_dry_run && !r; i++) {
		restoring |= pend[i].base->adopt != NULL;
		if (!bf_rs_adopt_links(ctx, tables[pend[i].table].ir, &pend[i]))
			adopted = true;
	}
	if (adopted) {
		/* Every adopted point switches at once, before anything
		 * else is attached there. */
		r = bf_link_adopt_finish();
		if (r) {
			/* Some points switched: nothing to go back to. */
			_bf_rs_stopping = true;
			bf_rs_msg(err->msg, sizeof(err->msg),
				  "cannot switch the pinned attach points to the restored programs: %s",
				  strerror(-r));
			_bf_rs_fail(err, BF_RS_STAGE_ATTACH, SIZE_MAX, SIZE_MAX);
		}
	}
	for (size_t i = 0; i < n_pend && !_bf_rs_dry_run && !r; i++) {
		r = _bf_rs_attach_one(&pend[i], err->msg, sizeof(err->msg));
		if (r && restoring) {
			/* Nothing to go back to: what runs stays, as the
			 * daemon stops (bf_ruleset_set_stopping()). */
			_bf_rs_fail(err, BF_RS_STAGE_ATTACH, pend[i].table,
				    pend[i].idx);
			_bf_rs_stopping = true;
			break;
		}
		if (r) {
			_bf_rs_fail(err, BF_RS_STAGE_ATTACH, pend[i].table,
				    pend[i].idx);
			while (i-- > 0)
				_bf_rs_undo_one(&pend[i]);
			break;
		}
	}
	bf_netns_leave(&saved);
	if (r)
		goto out;
	for (size_t i = 0; i < n_pend && _bf_rs_test_crash; i++) {
		const struct bf_rs_chain *old = pend[i].base->rs;

		if (!pend[i].in_place && old && old->links[0]) {
			bf_warn("ruleset: test crash after the swap of chain '%s'",
				pend[i].base->name);
			raise(SIGKILL);
		}
	}

	/* 3. The handles take the new programs and links, pinned. */
	for (size_t i = 0; i < n_pend; i++) {
		bool pin = !pend[i].in_place && bf_rs_pin_root &&
			   !_bf_rs_dry_run;

		if (pin)
			bf_rs_pin_progs(ctx, tables[pend[i].table].ir, &pend[i]);
		_bf_rs_keep(&pend[i]);
		if (pin)
			bf_rs_pin_links(pend[i].base->rs);
	}
	/* The final pins hold what runs: this commit's staging goes before
	 * the sweep, which then finds only what a dead daemon left. */
	if (staged) {
		bf_ruleset_unpin_dir(stage);
		staged = false;
	}
	if (restoring && bf_rs_pin_root)
		bf_rs_sweep(ctx, pend, n_pend);

out:
	if (staged)
		bf_ruleset_unpin_dir(stage);
	for (size_t i = 0; i < n_pend; i++) {
		bf_update_free(&pend[i].ups[0]);
		bf_update_free(&pend[i].ups[1]);
		bf_program_free(&pend[i].adopted[0]);
		bf_program_free(&pend[i].adopted[1]);
		bf_rs_chain_free(&pend[i].rs);
	}
	free(pend);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bf_dbg("ruleset: commit %s in %.3f ms", r ? "refused" : "done",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	return r;
}
