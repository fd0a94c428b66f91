/* Our context binary: a graph compiled for one CPU target, with the kernel
 * variant of every node, pre-packed weights (when a variant has its own
 * layout), the schedule and the activation memory plan stored, so loading is
 * mapping the file plus validation. It is modelexport's own format, not
 * Qualcomm's (which only the QNN SDK can produce); see
 * docs/context-binary-format.md. */
#ifndef ME_CTXBIN_H
#define ME_CTXBIN_H

#include <stddef.h>
#include <stdint.h>

#include "../../ir/ir.h"
#include "../../runtime/plan.h"
#include "../dlc/dlc.h"
#include "cpu_target.h"

#define ME_CTX_KERNEL_ID_MAX 40

typedef struct me_ctxbin {
    uint32_t version;
    uint64_t file_size;
    me_cpu_target target;
    me_plan plan;                         /* the stored schedule and memory plan, validated */
    char (*kernel_ids)[ME_CTX_KERNEL_ID_MAX]; /* per node of the graph */
    int n_kernels;
    uint64_t packed_bytes;                /* size of the PACKED section */
    const void **packed;                  /* per node: its pre-packed weights in the mapped file, or NULL */
    me_dlc_info dlc;                      /* facts about the embedded graph */
} me_ctxbin;

int me_ctxbin_has_magic(const void *data, size_t size);

/* The target of `compile-qnn --format context-binary --backend B --device D`
 * (NULLs mean cpu / native). Qualcomm backends (HTP, DSP, GPU) are refused
 * with an explanation: their context binaries need the QNN SDK. */
me_status me_ctx_target_from_options(const char *backend, const char *device, me_cpu_target *t, me_diag *d);

/* Write `g` (verified, shapes final) as a context binary for `target` to
 * `path` (through a temporary file renamed into place). */
me_status me_ctxbin_write(const me_graph *g, const me_cpu_target *target, const char *path, me_diag *d);

/* Read `path` into `g` (initialised by the caller, freed by the caller also
 * on failure) and `cb`. Every field is validated. With `check_cpu`, a file
 * whose target this CPU cannot run is refused (ME_ERR_UNSUPPORTED, naming the
 * missing features); inspection passes 0. */
me_status me_ctxbin_read(const char *path, int check_cpu, me_graph *g, me_ctxbin *cb, me_diag *d);
void me_ctxbin_free(me_ctxbin *cb);

/* The kernel variant a node runs with on `target`: a registry id
 * (src/kernels/kernels.h) for the ops that have SIMD variants, otherwise
 * "ref.<QNN op name>" (the reference kernel in src/ops). */
void me_ctx_kernel_choose(const me_graph *g, const me_node *n, const me_cpu_target *target,
                          char id[ME_CTX_KERNEL_ID_MAX]);
/* ME_OK if `id` is a kernel this build has for the node's op and `target`
 * provides what it needs. */
me_status me_ctx_kernel_check(const me_graph *g, const me_node *n, const char *id, const me_cpu_target *target,
                              me_diag *d);

#endif
