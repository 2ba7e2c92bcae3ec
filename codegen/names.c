/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What bpftool shows of a chain's objects. Kernel object names hold 15
 * characters, so names say the kind and as much of the chain as fits:
 *
 *   program   bf_<chain>
 *   maps      <kind><family>.<table>.<chain>, kind c (counters), k
 *             (counter keys), n (next chain, the tail call), g (a group
 *             of rules); family 4 (ip), 6 (ip6), i (inet), n (netdev):
 *             "ci.filter.input" is the counters of inet filter input
 *
 * and each program carries the whole truth as metadata, which
 * `bpftool prog show` prints as "metadata: table = ..., chain = ...,
 * family = ...": a one-entry array map named "*.rodata" whose BTF value is
 * a DATASEC of `bpf_metadata_*` variables, bound to the program with
 * BPF_PROG_BIND_MAP, as libbpf does for a program's .rodata (bpftool
 * looks for exactly that shape).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"

/* What the kernel takes in an object name: [A-Za-z0-9_.]. */
static void _bf_name_clean(char *buf, bool dots)
{
	for (char *c = buf; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || (dots && *c == '.')))
			*c = '_';
	}
}

void bf_obj_name(char *buf, size_t len, const char *kind, const char *chain)
{
	snprintf(buf, len, "%s_%s", kind, chain);
	_bf_name_clean(buf, false);
}

void bf_map_name(char *buf, size_t len, const struct bf_program *prog,
		 char kind)
{
	static const char fam[_BF_FAMILY_MAX] = {
		[BF_FAMILY_IP] = '4', [BF_FAMILY_IP6] = '6',
		[BF_FAMILY_INET] = 'i', [BF_FAMILY_NETDEV] = 'n',
	};
	char table[BF_NAME_MAX], chain[BF_NAME_MAX];

	/* The separators stay separators: dots inside names become '_'. */
	snprintf(table, sizeof(table), "%s", prog->table);
	snprintf(chain, sizeof(chain), "%s", prog->chain);
	_bf_name_clean(table, false);
	_bf_name_clean(chain, false);
	snprintf(buf, len, "%c%c.%s.%s", kind,
		 prog->family < _BF_FAMILY_MAX && fam[prog->family] ?
			 fam[prog->family] : 'x',
		 table, chain);
}

#define _BF_META_LEN 256

int bf_program_bind_metadata(const struct bf_program *prog)
{
	static const char *const vars[] = {
		"bpf_metadata_table", "bpf_metadata_chain", "bpf_metadata_family",
		"bpf_metadata_hook",
	};
	char value[ARRAY_SIZE(vars)][_BF_META_LEN] = {};
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct btf *btf;
	int ch, u32, arr, ds, fd = -1, r;
	uint32_t zero = 0;
	int ids[ARRAY_SIZE(vars)];

	snprintf(value[0], _BF_META_LEN, "%s", prog->table);
	snprintf(value[1], _BF_META_LEN, "%s", prog->chain);
	snprintf(value[2], _BF_META_LEN, "%s", bf_family_to_str(prog->family));
	snprintf(value[3], _BF_META_LEN, "%s", bf_hook_to_str(prog->hook));

	btf = btf__new_empty();
	if (!btf)
		return -errno;
	ch = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	u32 = btf__add_int(btf, "unsigned int", 4, 0);
	arr = btf__add_array(btf, u32, ch, _BF_META_LEN);
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		ids[i] = btf__add_var(btf, vars[i], BTF_VAR_GLOBAL_ALLOCATED, arr);
	ds = btf__add_datasec(btf, ".rodata", sizeof(value));
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		r = btf__add_datasec_var_info(btf, ids[i], (uint32_t)(i * _BF_META_LEN),
					      _BF_META_LEN);
		if (r)
			goto out;
	}
	r = ch < 0 ? ch : u32 < 0 ? u32 : arr < 0 ? arr : ds < 0 ? ds : 0;
	if (r)
		goto out;
	r = btf__load_into_kernel(btf);
	if (r)
		goto out;

	opts.btf_fd = btf__fd(btf);
	opts.btf_value_type_id = (uint32_t)ds;
	opts.map_flags = BPF_F_RDONLY_PROG;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bf_meta.rodata", sizeof(uint32_t),
			    sizeof(value), 1, &opts);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (bpf_map_update_elem(fd, &zero, value, BPF_ANY) || bpf_map_freeze(fd) ||
	    bpf_prog_bind_map(prog->prog_fd, fd, NULL))
		r = -errno;

out:
	if (fd >= 0)
		close(fd); /* the program holds it */
	btf__free(btf);
	if (r)
		bf_dbg("codegen: chain '%s': no metadata for bpftool: %s",
		       prog->chain, strerror(-r));
	return r;
}
