#define _GNU_SOURCE
#include "mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

me_status me_map_file(const char *path, me_mapfile *out, me_diag *d) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return me_fail(d, ME_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return me_fail(d, ME_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return me_fail(d, ME_ERR_IO, "'%s' is a directory, not a file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return me_fail(d, ME_ERR_IO, "'%s' is not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return ME_OK; /* empty: data NULL, size 0; callers report "empty file" */
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return me_fail(d, ME_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
    out->data = p;
    out->size = (size_t)st.st_size;
    out->is_mmap = 1;
    return ME_OK;
}

void me_unmap_file(me_mapfile *m) {
    if (!m) return;
    if (m->data) {
        if (m->is_mmap) munmap((void *)m->data, m->size);
        else free((void *)m->data);
    }
    memset(m, 0, sizeof *m);
}

me_status me_atomic_open(me_atomic_file *f, const char *path, me_diag *d) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path);
    f->final_path = malloc(n + 1);
    f->tmp_path = malloc(n + 16);
    if (!f->final_path || !f->tmp_path) {
        free(f->final_path);
        free(f->tmp_path);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    memcpy(f->final_path, path, n + 1);
    snprintf(f->tmp_path, n + 16, "%s.tmpXXXXXX", path);
    f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        free(f->final_path);
        free(f->tmp_path);
        f->final_path = f->tmp_path = NULL;
        return me_fail(d, ME_ERR_IO, "cannot create '%s': %s", path, strerror(e));
    }
    return ME_OK;
}

me_status me_atomic_write(me_atomic_file *f, const void *buf, size_t n, me_diag *d) {
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            f->failed = 1;
            return me_fail(d, ME_ERR_IO, "cannot write '%s': %s", f->final_path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return ME_OK;
}

me_status me_atomic_commit(me_atomic_file *f, me_diag *d) {
    me_status st = ME_OK;
    if (f->failed) st = ME_ERR_IO;
    if (st == ME_OK && fchmod(f->fd, 0644) != 0) st = me_fail(d, ME_ERR_IO, "cannot chmod '%s': %s", f->tmp_path, strerror(errno));
    if (close(f->fd) != 0 && st == ME_OK) st = me_fail(d, ME_ERR_IO, "cannot write '%s': %s", f->final_path, strerror(errno));
    f->fd = -1;
    if (st == ME_OK && rename(f->tmp_path, f->final_path) != 0)
        st = me_fail(d, ME_ERR_IO, "cannot rename into '%s': %s", f->final_path, strerror(errno));
    if (st != ME_OK) unlink(f->tmp_path);
    free(f->final_path);
    free(f->tmp_path);
    f->final_path = f->tmp_path = NULL;
    return st;
}

void me_atomic_abort(me_atomic_file *f) {
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->final_path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}
