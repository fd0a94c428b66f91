/* Op definitions: param schema, shape/dtype inference, reference kernel.
 * The list itself is ops.def; see the comment there. */
#ifndef ME_OPS_H
#define ME_OPS_H

#include "../ir/ir.h"

typedef enum me_op_id {
#define X(id, qnn_name, pkg, stem) ME_OP_##id,
#include "ops.def"
#undef X
    ME_OP_COUNT
} me_op_id;

/* One param in an op's schema. */
typedef struct me_param_schema {
    const char *name;
    me_param_kind kind;
    me_dtype dtype;     /* ME_DT_U32 / I32 / F32 / BOOL */
    bool required;
} me_param_schema;

/* What a kernel sees: tensor metadata and data pointers, nothing of the
 * compiler. The same kernels run in the runtime and in constant folding. */
typedef struct me_kernel_ctx {
    const me_node *node;
    const me_tensor *const *in;   /* n_in entries; NULL for an omitted optional input */
    const me_tensor *const *out;  /* n_out entries */
    const void *const *in_data;   /* NULL for an omitted optional input */
    void *const *out_data;
    int n_in, n_out;
    void *scratch;                /* me_opdef.scratch_bytes bytes, 64-byte aligned */
    struct me_threadpool *pool;   /* threads to split work over; NULL = one (runtime/threadpool.h) */
    const void *variant;          /* kernel registry row fixed for this node (src/kernels/kernels.h,
                                   * the op's family); NULL = the CPU's best (dispatch) */
    const void *packed;           /* the node's pre-packed weights (me_opdef.pack), 64-byte aligned;
                                   * NULL when none: kernels must then read the graph's weights
                                   * (constant folding and reference runs never pack) */
} me_kernel_ctx;

typedef struct me_opdef {
    const char *name;             /* QNN type name */
    const char *package;          /* "qti.aisw" or "modelexport" */
    int min_in, max_in;           /* max_in == -1: variadic */
    int min_out, max_out;
    const me_param_schema *params; /* terminated by {NULL} */
    /* Check params/inputs and set dtype+shape of every output tensor of node
     * `n` (g->tensors[out].rank/dims/dtype). Inputs have known shapes.
     * Returns ME_ERR_FORMAT / ME_ERR_UNSUPPORTED with a reason naming the node. */
    me_status (*infer)(me_graph *g, me_node *n, me_diag *d);
    /* Reference kernel. Data-dependent errors (e.g. an index out of range)
     * return ME_ERR_FORMAT with a reason; never crash. */
    me_status (*run)(const me_kernel_ctx *k, me_diag *d);
    /* Scratch needed by `run` (may depend on shapes); NULL = none. */
    size_t (*scratch_bytes)(const me_graph *g, const me_node *n);
    /* Optional pre-packed weights (NULL = the kernel reads its weights as
     * stored). packed_bytes: bytes node n wants for kernel registry row
     * `variant` (NULL: the CPU's dispatch choice), 0 for none. pack fills
     * dst (64-byte aligned) from n's constant inputs; the result must be a
     * pure function of (node, weights, variant) so a context binary can
     * store it. The runtime packs once per loaded artifact. */
    size_t (*packed_bytes)(const me_graph *g, const me_node *n, const void *variant);
    me_status (*pack)(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d);
} me_opdef;

extern const me_opdef *const me_opdefs[ME_OP_COUNT];
extern const char *const me_op_names[ME_OP_COUNT];

/* Look up by QNN type name; -1 if absent. */
int me_op_from_name(const char *name);

/* Declarations of every op's definition object. */
#define X(id, qnn_name, pkg, stem) extern const me_opdef me_opdef_##id;
#include "ops.def"
#undef X

/* ---- helpers for op files ---- */
/* Numpy-style broadcast of two shapes; ME_ERR_FORMAT if incompatible. */
me_status me_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db,
                             int *rout, int64_t *dout);
/* Set output `i` of node n to dtype/shape. */
me_status me_set_output(me_graph *g, const me_node *n, int i, me_dtype dt, int rank,
                        const int64_t *dims, me_diag *d);
/* Common checks used by infer functions. */
me_status me_expect_dtype(const me_graph *g, const me_node *n, int input, me_dtype dt, me_diag *d);
bool me_dtype_is_float(me_dtype dt);
bool me_dtype_is_int(me_dtype dt);

#endif
