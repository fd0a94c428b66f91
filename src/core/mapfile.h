/* Read-only file mapping. Weights are referenced inside the mapping, never copied. */
#ifndef ME_MAPFILE_H
#define ME_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

typedef struct me_mapfile {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
    int is_mmap;         /* 1: munmap on close; 0: heap copy (non-mappable files) */
} me_mapfile;

me_status me_map_file(const char *path, me_mapfile *out, me_diag *d);
void me_unmap_file(me_mapfile *m);

/* Write `size` bytes to `path` atomically: write `path.tmpXXXXXX`, fsync, rename.
 * On failure nothing is left at `path` (or the old file is untouched). */
typedef struct me_atomic_file {
    char *final_path;
    char *tmp_path;
    int fd;
    int failed;
} me_atomic_file;

me_status me_atomic_open(me_atomic_file *f, const char *path, me_diag *d);
me_status me_atomic_write(me_atomic_file *f, const void *buf, size_t n, me_diag *d);
me_status me_atomic_commit(me_atomic_file *f, me_diag *d); /* rename into place */
void me_atomic_abort(me_atomic_file *f);                   /* remove the temp file */

#endif
