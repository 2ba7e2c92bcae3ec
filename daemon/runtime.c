/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runtime directory and single-instance lock.
 *
 * The lock file is never unlinked: unlinking a flock()ed file lets a second
 * daemon lock the old inode while a third creates and locks a new one. It
 * stays, empty, when no daemon runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpfilter/helpers.h>

#include <bpfilter/proto.h>
#include "daemon/runtime.h"

int bf_runtime_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;

	return 0;
}

static int _bf_mkdir_one(const char *path)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;

	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int bf_runtime_dir_prepare(const char *dir)
{
	char path[PATH_MAX];
	mode_t old_umask;
	int r = 0;

	if (strlen(dir) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, dir);

	/* 0755 exactly, whatever umask the daemon was started with. */
	old_umask = umask(0022);
	for (char *p = path + 1; *p; ++p) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = _bf_mkdir_one(path);
		*p = '/';
		if (r)
			break;
	}
	if (!r)
		r = _bf_mkdir_one(path);
	umask(old_umask);

	return r;
}

int bf_runtime_lock(const char *dir, int *fd, long *holder)
{
	_cleanup_close_ int lfd = -1;
	char path[PATH_MAX];
	char buf[32];
	ssize_t n;
	int r;

	*holder = 0;

	r = bf_runtime_path(path, sizeof(path), dir, BF_LOCK_NAME);
	if (r)
		return r;

	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lfd < 0)
		return -errno;

	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK) {
			n = pread(lfd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				*holder = strtol(buf, NULL, 10);
			}
			return -EBUSY;
		}
		return r;
	}

	/* Informative only: the lock, not the content, is the truth. */
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) < 0 || pwrite(lfd, buf, n, 0) != n)
		return -errno ?: -EIO;

	*fd = TAKE_FD(lfd);

	return 0;
}

void bf_runtime_unlock(int *fd)
{
	if (*fd < 0)
		return;

	/* Clear the pid while still holding the lock, then release it. */
	if (ftruncate(*fd, 0) < 0) {
		/* Nothing to do about it: the next daemon truncates anyway. */
	}
	close(*fd);
	*fd = -1;
}
