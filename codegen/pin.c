/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pins: a loaded chain program and its maps, or an attach point's
 * dispatcher, as files of a bpffs directory the caller names (the ruleset
 * core decides the layout, Documentation/daemon.md "Pins"). A pin holds a
 * user reference: a pinned program array keeps its entry when the daemon
 * dies (a program array is emptied when its last user reference goes), a
 * pinned link keeps its program attached.
 *
 * Each file is pinned under a temporary name (<name>_new: bpffs refuses
 * names with a dot), then renamed over the old one, so a directory never lacks a file it had; removal takes a file away
 * only when it still is the caller's object (a chain recreated under the
 * same name may have pinned its own there meanwhile).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"

uint32_t bf_obj_id(int fd)
{
	/* bpf_{prog,map,link}_info all start with type, then id. */
	uint32_t info[2] = {};
	uint32_t len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, info, &len))
		return 0;
	return info[1];
}

int bf_pin_mkdir(const char *dir)
{
	char buf[BF_PIN_PATH_MAX];
	size_t len;

	len = (size_t)snprintf(buf, sizeof(buf), "%s", dir);
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int bf_pin_fd(int fd, const char *dir, const char *name)
{
	char path[BF_PIN_PATH_MAX], tmp[BF_PIN_PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s_new", dir, name) >=
		    sizeof(tmp))
		return -ENAMETOOLONG;
	(void)unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int r = -errno;

		(void)unlink(tmp);
		return r;
	}
	return 0;
}

void bf_pin_remove(const char *dir, const char *name, uint32_t id)
{
	char path[BF_PIN_PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!id || bf_obj_id(fd) == id)
		(void)unlink(path);
	close(fd);
}

static int _bf_group_name(char *buf, size_t len, size_t i)
{
	return (size_t)snprintf(buf, len, "group_%zu", i) >= len ? -EINVAL : 0;
}

/* Pin @fd as @dir/@name, or remove a previous program's @name (@fd < 0). */
static int _bf_pin_opt(int fd, const char *dir, const char *name)
{
	if (fd >= 0)
		return bf_pin_fd(fd, dir, name);
	bf_pin_remove(dir, name, 0);
	return 0;
}

int bf_program_pin(const struct bf_program *prog, const char *dir)
{
	char name[32];
	int r;

	if (prog->prog_fd < 0)
		return -EINVAL;
	r = bf_pin_mkdir(dir);
	if (r)
		return r;
	/* Maps first: the program pin is the one a reader trusts. */
	r = _bf_pin_opt(prog->counters_fd, dir, "counters");
	if (!r)
		r = _bf_pin_opt(prog->keys_fd, dir, "keys");
	if (!r)
		r = _bf_pin_opt(prog->next_fd, dir, "next");
	if (r)
		return r;
	for (size_t i = 0; i < prog->n_groups; i++) {
		if (prog->groups[i].fd < 0)
			continue;
		(void)_bf_group_name(name, sizeof(name), i);
		r = bf_pin_fd(prog->groups[i].fd, dir, name);
		if (r)
			return r;
	}
	/* Groups the program before had and this one has not. */
	for (size_t i = prog->n_groups;; i++) {
		char path[BF_PIN_PATH_MAX];

		(void)_bf_group_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (unlink(path))
			break;
	}
	return bf_pin_fd(prog->prog_fd, dir, "prog");
}

void bf_program_unpin(const struct bf_program *prog, const char *dir)
{
	char name[32];

	bf_pin_remove(dir, "prog", bf_obj_id(prog->prog_fd));
	bf_pin_remove(dir, "counters", bf_obj_id(prog->counters_fd));
	bf_pin_remove(dir, "keys", bf_obj_id(prog->keys_fd));
	bf_pin_remove(dir, "next", bf_obj_id(prog->next_fd));
	for (size_t i = 0; i < prog->n_groups; i++) {
		(void)_bf_group_name(name, sizeof(name), i);
		bf_pin_remove(dir, name, bf_obj_id(prog->groups[i].fd));
	}
	(void)rmdir(dir);
}
