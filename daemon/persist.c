/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Persisted state (Documentation/daemon.md, "State and restore"): one file
 * per network namespace, <runtime-dir>/state/netns-<inode>, holding what
 * each front-end's netns_serialize() wrote, rewritten atomically after
 * every commit; read back by a restarted daemon, which hands each section
 * to its front-end's netns_restore().
 *
 * File format, version 2 (host byte order: the state never leaves the
 * machine):
 *
 *   0  char magic[8]      "BFSTATE\n"
 *   8  u32 version        2 (1: before sets were saved)
 *  12  u32 header length  48
 *  16  u64 netns device   (nsfs)
 *  24  u64 netns inode
 *  32  u64 netns id       NS_GET_ID (never reused), 0 if unknown
 *  40  u32 payload length
 *  44  u32 crc32          zlib crc32 of bytes 0..43, then of the payload
 *  48  payload: sections, each u32 front (BF_FRONT_*), u32 length, the
 *      front-end's bytes, padded with zeros to 4 bytes.
 *
 * Another version, a bad magic, length or checksum is refused: the daemon
 * says which file and how to clean up, and exits without touching what
 * runs (bf_ruleset_set_stopping()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/front.h"
#include "daemon/netns.h"
#include "daemon/persist.h"
#include "daemon/ruleset.h"

#define BF_STATE_MAGIC "BFSTATE\n"
#define BF_STATE_VERSION 2u
#define BF_STATE_HDR_LEN 48u
#define BF_STATE_MAX (256u << 20)

/* <runtime-dir>/state, or NULL: transient. */
static char *_bf_state_dir;
static char *_bf_bpffs_root;

struct bf_buf {
	uint8_t *p;
	size_t len, cap;
};

static int _bf_buf_put(void *sink, const void *data, size_t len)
{
	struct bf_buf *b = sink;

	if (len > BF_STATE_MAX || b->len > BF_STATE_MAX - len)
		return -E2BIG;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *n;

		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n)
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static void _bf_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void _bf_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t _bf_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t _bf_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int bf_persist_init(const char *runtime_dir, const char *bpffs)
{
	if (asprintf(&_bf_state_dir, "%s/state", runtime_dir) < 0 ||
	    asprintf(&_bf_bpffs_root, "%s/bpfilter", bpffs) < 0)
		return -ENOMEM;
	if (mkdir(_bf_state_dir, 0700) && errno != EEXIST)
		return bf_err_r(-errno, "cannot create %s", _bf_state_dir);
	return 0;
}

static void _bf_state_path(char *buf, size_t len, uint64_t ino,
			   const char *suffix)
{
	snprintf(buf, len, "%s/netns-%llu%s", _bf_state_dir,
		 (unsigned long long)ino, suffix);
}

/* Write @len bytes of @buf to @path atomically: tmp file, fsync, rename,
 * fsync of the folder. */
static int _bf_write_atomic(const char *path, const char *tmp,
			    const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd, dfd, r = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len && !r) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		(void)unlink(tmp);
		return r;
	}
	dfd = open(_bf_state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int bf_netns_persist(struct bf_netns_ctx *ctx)
{
	struct bf_buf b = {};
	char path[4096], tmp[4096];
	uint8_t hdr[BF_STATE_HDR_LEN] = {};
	bool any = false;
	uint32_t crc;
	int r = 0;

	if (!_bf_state_dir)
		return 0;
	_bf_state_path(path, sizeof(path), ctx->ino, "");
	_bf_state_path(tmp, sizeof(tmp), ctx->ino, ".tmp");

	r = _bf_buf_put(&b, hdr, sizeof(hdr));
	for (int f = 0; f < _BF_FRONT_MAX && !r; f++) {
		const struct bf_front_ops *ops = bf_front_get(f);
		uint8_t sec[8], zero[4] = {};
		size_t at;

		if (!ops || !ops->netns_serialize || !ctx->front[f])
			continue;
		at = b.len;
		_bf_put32(sec, (uint32_t)f);
		r = _bf_buf_put(&b, sec, sizeof(sec));
		if (!r)
			r = ops->netns_serialize(ctx->front[f], _bf_buf_put, &b);
		if (r)
			break;
		if (b.len - at - 8 > UINT32_MAX) {
			r = -E2BIG;
			break;
		}
		_bf_put32(b.p + at + 4, (uint32_t)(b.len - at - 8));
		r = _bf_buf_put(&b, zero, (4 - (b.len & 3)) & 3);
		any = true;
	}
	if (r) {
		free(b.p);
		return bf_err_r(r, "netns %llu: cannot serialize the state",
				(unsigned long long)ctx->ino);
	}
	if (!any) {
		/* Nothing kept in this namespace: nothing to restore. */
		free(b.p);
		if (unlink(path) && errno != ENOENT)
			return bf_err_r(-errno, "cannot remove %s", path);
		return 0;
	}

	memcpy(b.p, BF_STATE_MAGIC, 8);
	_bf_put32(b.p + 8, BF_STATE_VERSION);
	_bf_put32(b.p + 12, BF_STATE_HDR_LEN);
	_bf_put64(b.p + 16, (uint64_t)ctx->dev);
	_bf_put64(b.p + 24, (uint64_t)ctx->ino);
	_bf_put64(b.p + 32, ctx->cookie);
	_bf_put32(b.p + 40, (uint32_t)(b.len - BF_STATE_HDR_LEN));
	crc = (uint32_t)crc32(0L, b.p, 44);
	crc = (uint32_t)crc32(crc, b.p + BF_STATE_HDR_LEN,
			      (uInt)(b.len - BF_STATE_HDR_LEN));
	_bf_put32(b.p + 44, crc);

	r = _bf_write_atomic(path, tmp, b.p, b.len);
	free(b.p);
	if (r)
		return bf_err_r(r, "cannot write %s", path);
	return 0;
}

int bf_state_parse(const void *buf, size_t len, struct bf_state *st,
		   char *msg, size_t msglen)
{
	const uint8_t *p = buf;
	uint32_t version, hlen, plen, crc;
	size_t off;

	memset(st, 0, sizeof(*st));
	if (len < 12 || memcmp(p, BF_STATE_MAGIC, 8)) {
		snprintf(msg, msglen, "not a bpfilter state file (bad magic)");
		return -EBADMSG;
	}
	version = _bf_get32(p + 8);
	if (version != BF_STATE_VERSION) {
		snprintf(msg, msglen, "state format version %u, this daemon reads version %u",
			 version, BF_STATE_VERSION);
		return -EPROTO;
	}
	if (len < BF_STATE_HDR_LEN) {
		snprintf(msg, msglen, "truncated: %zu bytes, the header is %u",
			 len, BF_STATE_HDR_LEN);
		return -EBADMSG;
	}
	hlen = _bf_get32(p + 12);
	plen = _bf_get32(p + 40);
	if (hlen != BF_STATE_HDR_LEN || plen != len - BF_STATE_HDR_LEN) {
		snprintf(msg, msglen, "truncated or overlong: %zu bytes, the header says %llu",
			 len, (unsigned long long)hlen + plen);
		return -EBADMSG;
	}
	crc = (uint32_t)crc32(0L, p, 44);
	crc = (uint32_t)crc32(crc, p + BF_STATE_HDR_LEN, plen);
	if (crc != _bf_get32(p + 44)) {
		snprintf(msg, msglen, "checksum mismatch (corrupt)");
		return -EBADMSG;
	}
	st->dev = _bf_get64(p + 16);
	st->ino = _bf_get64(p + 24);
	st->cookie = _bf_get64(p + 32);
	for (off = BF_STATE_HDR_LEN; off < len;) {
		uint32_t front, slen;

		if (len - off < 8) {
			snprintf(msg, msglen, "truncated section header at offset %zu", off);
			return -EBADMSG;
		}
		front = _bf_get32(p + off);
		slen = _bf_get32(p + off + 4);
		if (front >= _BF_FRONT_MAX || slen > len - off - 8) {
			snprintf(msg, msglen, "bad section at offset %zu (front %u, %u bytes)",
				 off, front, slen);
			return -EBADMSG;
		}
		if (st->sections[front]) {
			snprintf(msg, msglen, "two sections of front-end %u", front);
			return -EBADMSG;
		}
		st->sections[front] = p + off + 8;
		st->lens[front] = slen;
		off += 8 + (((size_t)slen + 3) & ~(size_t)3);
		if (off > len) {
			snprintf(msg, msglen, "section at offset %zu overruns the file", off);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Open @path if it is the namespace (@dev, @ino, @cookie): its fd, or -1. */
static int _bf_netns_try(const char *path, uint64_t dev, uint64_t ino,
			 uint64_t cookie)
{
	struct stat st;
	int fd;

	if (stat(path, &st) || (uint64_t)st.st_ino != ino ||
	    (uint64_t)st.st_dev != dev)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && cookie && bf_netns_fd_cookie(fd) != cookie) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A namespace bind-mounted anywhere (ip netns, container runtimes):
 * the nsfs mount points of /proc/self/mountinfo. */
static int _bf_netns_find_mounted(uint64_t dev, uint64_t ino, uint64_t cookie)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	int fd = -1;

	if (!f)
		return -1;
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - nsfs "), *p = line;
		char mnt[4096];

		if (!sep)
			continue;
		/* Fields: id parent major:minor root mount-point ... */
		for (int i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p || sscanf(p, "%4095s", mnt) != 1)
			continue;
		/* Spaces and such are octal escapes; such a path is skipped. */
		if (strchr(mnt, '\\'))
			continue;
		fd = _bf_netns_try(mnt, dev, ino, cookie);
	}
	fclose(f);
	return fd;
}

/* An fd of the namespace (@dev, @ino, @cookie): a bind mount of it (a
 * name `ip netns` or a container runtime keeps) or a process in it.
 * -ENOENT: it is gone. */
static int _bf_netns_find(uint64_t dev, uint64_t ino, uint64_t cookie)
{
	static const char *const roots[] = { "/run/netns", "/proc" };
	int mfd = _bf_netns_find_mounted(dev, ino, cookie);

	if (mfd >= 0)
		return mfd;

	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		DIR *d = opendir(roots[i]);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			char path[512];
			int fd;

			if (e->d_name[0] == '.')
				continue;
			if (i == 1 && (e->d_name[0] < '0' || e->d_name[0] > '9'))
				continue;
			snprintf(path, sizeof(path), i ? "%s/%s/ns/net" : "%s/%s",
				 roots[i], e->d_name);
			fd = _bf_netns_try(path, dev, ino, cookie);
			if (fd < 0)
				continue;
			closedir(d);
			return fd;
		}
		closedir(d);
	}
	return -ENOENT;
}

static void _bf_cleanup_hint(const char *what, uint64_t ino)
{
	bf_err("%s", what);
	bf_err("the programs pinned under %s keep filtering as they were; nothing was changed",
	       _bf_bpffs_root);
	bf_err("to start afresh (dropping those rules), stop bpfilter and remove both: rm -rf %s/netns-%llu %s/netns-%llu",
	       _bf_state_dir, (unsigned long long)ino, _bf_bpffs_root,
	       (unsigned long long)ino);
}

/* Restore one state file; a netns that is gone is released. */
static int _bf_restore_one(struct bf_netns_registry *reg, const char *path,
			   uint64_t file_ino)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct bf_netns_ctx *ctx = NULL;
	struct bf_state st;
	char msg[256], what[8192];
	struct stat sb;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(what, sizeof(what), "state %s: cannot read it: %s", path,
			 strerror(-r));
		_bf_cleanup_hint(what, file_ino);
		return r;
	}
	if (sb.st_size > BF_STATE_MAX) {
		close(fd);
		snprintf(what, sizeof(what), "state %s: %lld bytes, more than a state can be",
			 path, (long long)sb.st_size);
		_bf_cleanup_hint(what, file_ino);
		return -EFBIG;
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)sb.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);

	r = bf_state_parse(buf, len, &st, msg, sizeof(msg));
	if (!r && st.ino != file_ino) {
		snprintf(msg, sizeof(msg), "it names netns %llu",
			 (unsigned long long)st.ino);
		r = -EBADMSG;
	}
	if (r) {
		snprintf(what, sizeof(what), "state %s: %s", path, msg);
		_bf_cleanup_hint(what, file_ino);
		return r;
	}

	fd = _bf_netns_find(st.dev, st.ino, st.cookie);
	if (fd < 0) {
		char pins[4096];

		/* Nothing can run there any more, nobody can list it. */
		bf_info("restore: netns %llu is gone: releasing its state and pins",
			(unsigned long long)st.ino);
		snprintf(pins, sizeof(pins), "%s/netns-%llu", _bf_bpffs_root,
			 (unsigned long long)st.ino);
		bf_ruleset_unpin_dir(pins);
		(void)unlink(path);
		return 0;
	}
	r = bf_netns_ctx_acquire(reg, (dev_t)st.dev, (ino_t)st.ino, st.cookie,
				 fd, &ctx);
	close(fd);
	if (r)
		return bf_err_r(r, "restore: netns %llu", (unsigned long long)st.ino);

	for (int f = 0; f < _BF_FRONT_MAX && !r; f++) {
		const struct bf_front_ops *ops = bf_front_get(f);
		void *state = NULL;

		if (!st.sections[f])
			continue;
		if (!ops || !ops->netns_restore) {
			snprintf(what, sizeof(what), "state %s: a section of front-end %d, which this daemon cannot restore",
				 path, f);
			_bf_cleanup_hint(what, st.ino);
			r = -EPROTO;
			break;
		}
		r = ops->netns_restore(ctx, st.sections[f], st.lens[f], &state);
		if (r) {
			snprintf(what, sizeof(what), "state %s: the %s front-end cannot restore it: %s",
				 path, ops->name, strerror(-r));
			_bf_cleanup_hint(what, st.ino);
		}
	}
	if (!r)
		bf_info("restore: netns %llu: state and pins adopted",
			(unsigned long long)st.ino);
	bf_netns_ctx_release(reg, &ctx);
	return r;
}

int bf_persist_restore(struct bf_netns_registry *reg)
{
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (!_bf_state_dir)
		return 0;
	d = opendir(_bf_state_dir);
	if (!d)
		return bf_err_r(-errno, "cannot open %s", _bf_state_dir);
	while ((e = readdir(d)) && !r) {
		unsigned long long ino;
		char path[4096], tail;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", _bf_state_dir, e->d_name);
		if (sscanf(e->d_name, "netns-%llu%c", &ino, &tail) == 2 &&
		    !strcmp(strchr(e->d_name, '.') ? strchr(e->d_name, '.') : "",
			    ".tmp")) {
			/* A write the daemon did not finish: the file it was
			 * to replace is the state. */
			(void)unlink(path);
			continue;
		}
		if (sscanf(e->d_name, "netns-%llu%c", &ino, &tail) != 1) {
			bf_warn("restore: %s: not a state file, ignored", path);
			continue;
		}
		r = _bf_restore_one(reg, path, ino);
	}
	closedir(d);
	if (r)
		/* Leave what runs running. */
		bf_ruleset_set_stopping();
	return r;
}
