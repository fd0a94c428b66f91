/* Our DLC container: a sectioned, CRC-checked binary file holding one IR
 * graph and its static data, laid out so the data can be used in place from
 * a read-only mapping. It is NOT Qualcomm's DLC (a ZIP with a non-public
 * schema). docs/dlc-format.md describes the layout. */
#ifndef ME_DLC_H
#define ME_DLC_H

#include <stddef.h>
#include <stdint.h>

#include "../../ir/ir.h"

/* What the reader learned beyond the graph itself. */
typedef struct me_dlc_info {
    uint32_t version;        /* format version */
    uint64_t file_size;
    char producer[64];       /* e.g. "modelexport 0.1.0" (truncated if longer) */
} me_dlc_info;

/* Write `g` to `path` through a temporary file that is renamed into place:
 * on failure nothing is left at `path`. Static data is streamed from the
 * tensors' own pointers. */
me_status me_dlc_write(const me_graph *g, const char *path, me_diag *d);

/* Read `path` into `g` (initialised by the caller with me_graph_init and freed
 * by the caller, also on failure). The file is mapped and adopted by the
 * graph; static tensors point into the mapping. Every field is validated;
 * a malformed file gives ME_ERR_FORMAT. */
me_status me_dlc_read(const char *path, me_graph *g, me_diag *d);
me_status me_dlc_read_info(const char *path, me_graph *g, me_dlc_info *info, me_diag *d);

/* Parse a DLC image already in memory (e.g. embedded in a context binary);
 * `name` is used in messages. The bytes must outlive `g` (static tensors
 * point into them). Same checks as me_dlc_read. */
me_status me_dlc_parse(const char *name, const uint8_t *base, size_t size, me_graph *g, me_dlc_info *info,
                       me_diag *d);
/* The same for an image inside a container whose own checksum already covers
 * these bytes: every field is checked as above, only the CRC pass over the
 * image (a read of every weight byte) is skipped. */
me_status me_dlc_parse_covered(const char *name, const uint8_t *base, size_t size, me_graph *g, me_dlc_info *info,
                               me_diag *d);

/* 1 if the bytes start with our DLC magic. */
int me_dlc_has_magic(const void *data, size_t size);

#endif
