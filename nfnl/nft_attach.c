/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Commit side of an nftables transaction: every base chain of a changed
 * table is compiled and loaded first (a failure refuses the batch with
 * nothing changed), then attached or swapped in the client's network
 * namespace (a failure undoes the swaps done so far), then the links of
 * base chains that are gone are closed.
 *
 *   ip, ip6 base chain  -> one netfilter link (the table's family)
 *   inet base chain     -> two netfilter links, IPv4 and IPv6
 *   netdev with device  -> a TCX ingress or egress link
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/netfilter.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"
#include "nfnl/nft.h"

struct bf_nft_hook {
	/* Priority the programs were built for (see _bf_free_prio()). */
	int32_t prio;
	size_t n;
	struct bf_program *progs[2];
	struct bf_link *links[2];
};

void bf_nft_hook_free(struct bf_nft_hook **hook)
{
	if (!*hook)
		return;
	for (size_t i = 0; i < (*hook)->n; i++) {
		bf_link_free(&(*hook)->links[i]);
		bf_program_free(&(*hook)->progs[i]);
	}
	free(*hook);
	*hook = NULL;
}

int bf_nft_hook_counter(const struct bf_nft_table *t,
			const struct bf_nft_chain *c, size_t rule, size_t expr,
			uint64_t *packets, uint64_t *bytes)
{
	bool found = false;

	*packets = 0;
	*bytes = 0;
	for (size_t i = 0; i < t->n_chains; i++) {
		const struct bf_nft_hook *h = t->chains[i]->hook;

		for (size_t k = 0; h && k < h->n; k++) {
			uint64_t p, b;

			if (bf_program_get_counter(h->progs[k], c->name, rule,
						   expr, &p, &b))
				continue;
			*packets += p;
			*bytes += b;
			found = true;
		}
	}

	return found ? 0 : -ENOENT;
}

static int _bf_ir_family(int family, enum bf_family *out)
{
	switch (family) {
	case NFPROTO_IPV4: *out = BF_FAMILY_IP; return 0;
	case NFPROTO_IPV6: *out = BF_FAMILY_IP6; return 0;
	case NFPROTO_INET: *out = BF_FAMILY_INET; return 0;
	case NFPROTO_NETDEV: *out = BF_FAMILY_NETDEV; return 0;
	default: return -EOPNOTSUPP;
	}
}

static enum bf_hook _bf_ir_hook(int family, uint32_t hooknum)
{
	if (family == NFPROTO_NETDEV)
		return hooknum == NF_NETDEV_EGRESS ? BF_HOOK_TC_EGRESS :
						     BF_HOOK_TC_INGRESS;
	return (enum bf_hook)(BF_HOOK_NF_PRE_ROUTING + hooknum);
}

/* The IR of a table, for the code generator (which keeps no pointer). */
static int _bf_table_ir(const struct bf_nft_table *t, struct bf_table **out)
{
	struct bf_table *table = NULL;
	enum bf_family family;
	int r;

	r = _bf_ir_family(t->family, &family);
	if (r)
		return r;
	r = bf_table_new(&table, t->name, family);
	if (r)
		return r;

	for (size_t i = 0; i < t->n_chains; i++) {
		const struct bf_nft_chain *c = t->chains[i];
		struct bf_chain *chain = NULL;

		if (c->base) {
			r = bf_chain_new_base(&chain, c->name,
					      _bf_ir_hook(t->family, c->hooknum),
					      c->prio,
					      c->policy == NF_DROP ?
						      BF_VERDICT_DROP :
						      BF_VERDICT_ACCEPT);
			if (!r)
				snprintf(chain->ifname, sizeof(chain->ifname),
					 "%s", c->dev);
		} else {
			r = bf_chain_new(&chain, c->name);
		}
		/* The front-end's rules are shared, not copied: a commit
		 * next to 10000 rules stays cheap. */
		for (size_t j = 0; !r && j < c->n_rules; j++) {
			struct bf_rule *rule = bf_rule_get(c->rules[j]->ir);

			r = bf_chain_add_rule(chain, &rule);
			bf_rule_free(&rule);
		}
		if (!r)
			r = bf_table_add_chain(table, &chain);
		bf_chain_free(&chain);
		if (r) {
			bf_table_free(&table);
			return r;
		}
	}
	*out = table;

	return 0;
}

struct bf_pending {
	struct bf_nft_chain *chain;
	struct bf_nft_hook *hook; /* new programs, then new links */
	/* The running programs take the new rules in place (their maps are
	 * updated, hook holds no program): codegen/update.c. */
	bool in_place;
	struct bf_update *ups[2];
	/* The table is dormant: programs loaded (they keep the counters)
	 * but not attached. */
	bool dormant;
};

static const struct nlmsghdr *_bf_blame(const struct bf_nft_table *t,
					const struct bf_nft_chain *c)
{
	const struct nlmsghdr *last = c->last_nlh;

	/* A jumped-to chain may be the culprit: the table's last message. */
	for (size_t i = 0; !last && i < t->n_chains; i++) {
		if (t->chains[i]->last_nlh > last)
			last = t->chains[i]->last_nlh;
	}

	return last;
}


/*
 * The new rules of chain @c: either plans to update its running programs
 * in place (@ups, codegen/update.c), or new programs, loaded (*@out).
 * An inet chain's two programs go the same way.
 */
static int _bf_compile(const struct bf_nft_table *t, struct bf_table *ir,
		       struct bf_nft_chain *c, int32_t prio,
		       struct bf_nft_hook **out, struct bf_update **ups,
		       bool *in_place, char *msg, size_t msglen)
{
	struct bf_nft_hook *h = calloc(1, sizeof(*h));
	const struct bf_nft_hook *old = c->hook;
	int nfproto[2] = { BF_NFPROTO_UNSPEC, 0 };
	struct bf_chain *irc = bf_table_get_chain(ir, c->name);
	char log[4096];
	int r = 0;

	if (!h)
		return -ENOMEM;
	if (irc)
		irc->priority = prio;
	h->prio = prio;
	h->n = 1;
	if (t->family == NFPROTO_INET) {
		nfproto[0] = BF_NFPROTO_IPV4;
		nfproto[1] = BF_NFPROTO_IPV6;
		h->n = 2;
	}

	/* Not for a dormant table: nothing is attached. */
	*in_place = old && old->n == h->n && old->prio == prio &&
		    !(t->flags & BF_NFT_TABLE_F_DORMANT);
	for (size_t i = 0; *in_place && i < h->n; i++)
		*in_place = old->links[i];
	for (size_t i = 0; i < h->n && *in_place && !r; i++) {
		r = bf_update_plan(old->progs[i], ir, c->name, &h->progs[i],
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
		if (!h->progs[i])
			r = bf_program_generate(&h->progs[i], ir, c->name,
						nfproto[i], msg, msglen);
	}
	if (!r)
		bf_dbg("nft: chain '%s': %s", c->name,
		       *in_place ? "rules updated in place" : "new program");
	for (size_t i = 0; i < h->n && !r && !*in_place; i++) {
		log[0] = '\0';
		r = bf_program_load(h->progs[i], log, sizeof(log));
		if (r) {
			const char *tail = log;
			size_t l = strlen(log);

			if (l > 160)
				tail = log + l - 160;
			snprintf(msg, msglen, "chain '%s': the kernel refused the program: %s",
				 c->name, tail);
		}
	}
	if (r) {
		for (size_t i = 0; i < h->n; i++)
			bf_update_free(&ups[i]);
		bf_nft_hook_free(&h);
		return r;
	}
	*out = h;

	return 0;
}

/* Enter the netns of @pid; *@saved gets the daemon's (-1: same netns). */
static int _bf_netns_enter(uint32_t pid, int *saved)
{
	char path[64];
	struct stat a, b;
	int self, fd;

	*saved = -1;
	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		close(fd);
		return -errno;
	}
	if (!fstat(fd, &a) && !fstat(self, &b) && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev) {
		close(fd);
		close(self);
		return 0;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int r = -errno;

		close(fd);
		close(self);
		return r;
	}
	close(fd);
	*saved = self;

	return 0;
}

static void _bf_netns_leave(int *saved)
{
	if (*saved < 0)
		return;
	if (setns(*saved, CLONE_NEWNET) < 0)
		bf_err("nft: cannot return to the daemon's netns: %s",
		       strerror(errno));
	close(*saved);
	*saved = -1;
}

/*
 * Attach or swap the links of one chain. A netdev chain whose device does
 * not exist (yet) is accepted unattached, as nf_tables accepts it; a later
 * commit of the chain tries again.
 */
static int _bf_attach_one(struct bf_pending *p, char *msg, size_t msglen)
{
	struct bf_nft_hook *old = p->chain->hook, *h = p->hook;
	int r = 0;
	size_t i;

	if (p->in_place) {
		for (i = 0; i < h->n && !r; i++)
			r = bf_update_apply(p->ups[i]);
		if (!r)
			return 0;
		snprintf(msg, msglen, "chain '%s': map update failed: %s",
			 p->chain->name, strerror(-r));
		for (i--; i-- > 0;)
			(void)bf_update_undo(p->ups[i]);
		return r;
	}
	for (i = 0; i < h->n; i++) {
		/* Not replacing a link (dormant table, before or now; netdev
		 * device missing): the counters still go on. */
		if (old && (!old->links[i] || p->dormant)) {
			r = bf_program_inherit_counters(h->progs[i], old->progs[i]);
			if (r)
				break;
		}
		if (p->dormant)
			continue;
		if (old && old->links[i]) {
			r = bf_link_replace(old->links[i], h->progs[i],
					    old->progs[i]);
		} else {
			r = bf_link_attach(&h->links[i], h->progs[i], NULL);
			if (r == -ENODEV && p->chain->dev[0]) {
				bf_dbg("nft: chain '%s': no device '%s' yet, not attached",
				       p->chain->name, p->chain->dev);
				r = 0;
			}
		}
		if (r)
			break;
	}
	if (!r)
		return 0;

	snprintf(msg, msglen, "chain '%s': attach failed: %s",
		 p->chain->name, strerror(-r));
	while (i-- > 0 && !p->dormant) {
		if (old && old->links[i])
			(void)bf_link_replace(old->links[i], old->progs[i], NULL);
		else
			bf_link_free(&h->links[i]);
	}

	return r;
}

static void _bf_undo_one(struct bf_pending *p)
{
	struct bf_nft_hook *old = p->chain->hook, *h = p->hook;

	for (size_t i = 0; i < h->n && p->in_place; i++)
		(void)bf_update_undo(p->ups[i]);
	for (size_t i = 0; i < h->n && !p->in_place && !p->dormant; i++) {
		if (old && old->links[i])
			(void)bf_link_replace(old->links[i], old->progs[i],
					      NULL);
		else
			bf_link_free(&h->links[i]);
	}
}

static bool _bf_hook_in(const struct bf_nft_world *w,
			const struct bf_nft_hook *h)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		const struct bf_nft_table *t = w->tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			if (t->chains[j]->hook == h)
				return true;
		}
	}
	return false;
}

int bf_nft_attach_commit(struct bf_nft_world *prev, struct bf_nft_world *next,
			 uint32_t pid, const struct nlmsghdr **bad_nlh,
			 char *msg, size_t msglen)
{
	struct bf_pending *pend = NULL;
	size_t n_pend = 0, cap = 0;
	struct timespec t0, t1;
	int saved = -1;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* 1. Compile and load: nothing is visible yet. */
	for (size_t i = 0; i < next->n_tables && !r; i++) {
		struct bf_nft_table *t = next->tables[i];
		struct bf_table *ir = NULL;

		if (!t->dirty)
			continue;
		for (size_t j = 0; j < t->n_chains && !r; j++) {
			struct bf_nft_chain *c = t->chains[j];
			struct bf_nft_hook *h = NULL;
			struct bf_update *ups[2] = { NULL, NULL };
			bool in_place = false;

			if (!c->base ||
			    (t->family == NFPROTO_NETDEV && !c->dev[0]))
				continue;
			if (!ir) {
				r = _bf_table_ir(t, &ir);
				if (r) {
					snprintf(msg, msglen, "table '%s': %s",
						 t->name, strerror(-r));
					*bad_nlh = _bf_blame(t, c);
					break;
				}
			}
			/* Any number of chains share a priority: codegen
			 * orders them as nf_tables does (codegen/dispatch.c). */
			r = _bf_compile(t, ir, c, c->prio, &h, ups, &in_place,
					msg, msglen);
			if (r) {
				*bad_nlh = _bf_blame(t, c);
				break;
			}
			if (n_pend == cap) {
				void *np;

				cap = cap ? cap * 2 : 8;
				np = realloc(pend, cap * sizeof(*pend));
				if (!np) {
					bf_update_free(&ups[0]);
					bf_update_free(&ups[1]);
					bf_nft_hook_free(&h);
					r = -ENOMEM;
					break;
				}
				pend = np;
			}
			pend[n_pend++] = (struct bf_pending) {
				.chain = c,
				.hook = h,
				.in_place = in_place,
				.ups = { ups[0], ups[1] },
				.dormant = t->flags & BF_NFT_TABLE_F_DORMANT,
			};
		}
		bf_table_free(&ir);
	}
	if (r)
		goto out;

	/* 2. Attach or swap, in the client's netns. */
	if (n_pend) {
		r = _bf_netns_enter(pid, &saved);
		if (r) {
			snprintf(msg, msglen, "cannot enter the client's network namespace: %s",
				 strerror(-r));
			goto out;
		}
	}
	for (size_t i = 0; i < n_pend; i++) {
		r = _bf_attach_one(&pend[i], msg, msglen);
		if (r) {
			*bad_nlh = pend[i].chain->last_nlh;
			while (i-- > 0)
				_bf_undo_one(&pend[i]);
			break;
		}
	}
	_bf_netns_leave(&saved);
	if (r)
		goto out;

	/* 3. Keep the new programs; close what is gone. */
	for (size_t i = 0; i < n_pend; i++) {
		struct bf_nft_chain *c = pend[i].chain;
		struct bf_nft_hook *h = pend[i].hook;

		if (pend[i].in_place) {
			/* The running programs have the new rules. */
			bf_nft_hook_free(&pend[i].hook);
			continue;
		}
		if (c->hook) {
			c->hook->prio = h->prio;
			for (size_t k = 0; k < h->n; k++) {
				/* Dormant: unhooked, the programs kept. */
				if (pend[i].dormant)
					bf_link_free(&c->hook->links[k]);
				bf_program_free(&c->hook->progs[k]);
				c->hook->progs[k] = TAKE_PTR(h->progs[k]);
				/* Attached now, having had no device before
				 * or waking up. */
				if (!c->hook->links[k])
					c->hook->links[k] = TAKE_PTR(h->links[k]);
			}
			free(h);
		} else {
			c->hook = h;
		}
		pend[i].hook = NULL;
	}
	for (size_t i = 0; i < prev->n_tables; i++) {
		struct bf_nft_table *t = prev->tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			struct bf_nft_chain *c = t->chains[j];

			if (c->hook && !_bf_hook_in(next, c->hook))
				bf_nft_hook_free(&c->hook);
		}
	}

out:
	for (size_t i = 0; i < n_pend; i++) {
		bf_update_free(&pend[i].ups[0]);
		bf_update_free(&pend[i].ups[1]);
		bf_nft_hook_free(&pend[i].hook);
	}
	free(pend);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bf_dbg("nft: commit %s in %.3f ms", r ? "refused" : "done",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	return r;
}
