/* ONNX frontend internals: the parsed model (views into the mapped file) and
 * the translation API every per-op translator uses.
 *
 * Why a hand-written protobuf reader: initializer raw_data and external data
 * must be referenced in place inside the mapped file (a 100 MB model must not
 * cost 100 MB of heap); protobuf-c always copies into heap structures.
 *
 * Translation: the importer walks ONNX nodes in topological order and calls
 * the translator registered for (domain, op_type) in onnx_ops.def. A
 * translator reads inputs/attributes, emits IR nodes through mo_emit (which
 * infers output shapes at once and constant-folds nodes whose inputs are all
 * static), and binds each ONNX output name to an IR tensor with mo_bind.
 * IR activations are NHWC: a layout-sensitive translator (Conv, pools, norms
 * over channels, DepthToSpace, Resize...) wraps its IR op between
 * mo_to_nhwc/mo_to_nchw transposes; the layout pass later cancels pairs so
 * only graph boundaries keep a conversion. */
#ifndef ME_ONNX_IMPORT_H
#define ME_ONNX_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../core/mapfile.h"
#include "../../ir/ir.h"
#include "../../ops/ops.h"

/* ---- ONNX TensorProto.DataType values (onnx.proto) ---- */
enum {
    ONNX_UNDEFINED = 0, ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4,
    ONNX_INT16 = 5, ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_STRING = 8, ONNX_BOOL = 9,
    ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11, ONNX_UINT32 = 12, ONNX_UINT64 = 13,
    ONNX_COMPLEX64 = 14, ONNX_COMPLEX128 = 15, ONNX_BFLOAT16 = 16,
    ONNX_FLOAT8E4M3FN = 17, ONNX_FLOAT8E4M3FNUZ = 18, ONNX_FLOAT8E5M2 = 19,
    ONNX_FLOAT8E5M2FNUZ = 20, ONNX_UINT4 = 21, ONNX_INT4 = 22, ONNX_FLOAT4E2M1 = 23
};

/* ---- parsed model: all pointers are into the mapped file or the arena ---- */
typedef struct onnx_tensor {
    const char *name;
    int data_type;            /* ONNX_* */
    int rank;
    int64_t dims[ME_MAX_RANK];
    /* Exactly one source of data after parsing: */
    const void *data;         /* little-endian packed elements (raw_data in place,
                                 or external data mapped, or typed fields decoded
                                 into the arena); NULL when the tensor has no data */
    size_t nbytes;
} onnx_tensor;

typedef struct onnx_graph onnx_graph;

typedef enum onnx_attr_type {
    ONNX_ATTR_UNDEFINED = 0, ONNX_ATTR_FLOAT = 1, ONNX_ATTR_INT = 2, ONNX_ATTR_STRING = 3,
    ONNX_ATTR_TENSOR = 4, ONNX_ATTR_GRAPH = 5, ONNX_ATTR_FLOATS = 6, ONNX_ATTR_INTS = 7,
    ONNX_ATTR_STRINGS = 8
} onnx_attr_type;

typedef struct onnx_attr {
    const char *name;
    onnx_attr_type type;
    float f;
    int64_t i;
    const char *s; size_t s_len;       /* STRING (not NUL-safe for binary data; NUL-terminated copy) */
    onnx_tensor *t;                    /* TENSOR */
    onnx_graph *g;                     /* GRAPH */
    int n;                             /* FLOATS / INTS / STRINGS count */
    float *floats;
    int64_t *ints;
    const char **strings;
} onnx_attr;

typedef struct onnx_node {
    const char *name;                  /* may be "" in the file; the importer names it */
    const char *op_type;
    const char *domain;                /* "" for the default domain */
    int n_in, n_out, n_attr;
    const char **inputs;               /* "" = omitted optional input */
    const char **outputs;              /* "" = unused optional output */
    onnx_attr *attrs;
    const char *hierarchy_tag;         /* metadata_props["hierarchy_tag"] or NULL */
} onnx_node;

typedef struct onnx_value_info {
    const char *name;
    int elem_type;                     /* ONNX_* (0 if not a tensor type) */
    int rank;                          /* -1 = unknown rank */
    int64_t dims[ME_MAX_RANK];         /* -1 = symbolic/unknown */
    const char *dim_params[ME_MAX_RANK]; /* symbolic names or NULL */
} onnx_value_info;

struct onnx_graph {
    const char *name;
    int n_nodes, n_inits, n_inputs, n_outputs, n_value_info;
    onnx_node *nodes;
    onnx_tensor *inits;
    onnx_value_info *inputs;
    onnx_value_info *outputs;
    onnx_value_info *value_info;
};

typedef struct onnx_opset { const char *domain; int64_t version; } onnx_opset;

typedef struct onnx_model {
    int64_t ir_version;
    int n_opsets;
    onnx_opset *opsets;
    onnx_graph *graph;
    const char *producer_name;
} onnx_model;

/* Parse a mapped ONNX file. `model_dir` resolves external data (paths that
 * escape it are refused); external files are mapped and kept in `maps`.
 * Every length, count and offset is checked; errors are ME_ERR_FORMAT. */
typedef struct onnx_extmaps {
    me_mapfile *maps; int n, cap;
} onnx_extmaps;

me_status onnx_parse_model(const uint8_t *data, size_t size, const char *model_dir,
                           me_arena *arena, onnx_extmaps *ext, onnx_model *out, me_diag *d);
void onnx_extmaps_free(onnx_extmaps *ext);

/* Map an ONNX data type to ours; ME_DT_UNDEFINED if unsupported. */
me_dtype onnx_to_me_dtype(int onnx_type);
const char *onnx_dtype_name(int onnx_type);

/* ---- translation ---- */
typedef struct mo_ctx mo_ctx;

typedef me_status (*mo_translate_fn)(mo_ctx *c, const onnx_node *n);

/* The graph being built (translators may read and add tensors directly). */
me_graph *mo_graph(mo_ctx *c);
int64_t mo_opset(mo_ctx *c);                       /* default-domain opset */
me_diag *mo_diag(mo_ctx *c);

/* IR tensor of ONNX input i, or -1 if the input is omitted ("" or i >= n_in). */
int mo_in(mo_ctx *c, const onnx_node *n, int i);
/* Shorthand for the tensor struct (valid until the next tensor is added). */
const me_tensor *mo_t(mo_ctx *c, int tensor);
/* true if tensor is static (constant or folded); then data is readable. */
bool mo_is_const(mo_ctx *c, int tensor);
/* Read a static integer tensor (int64/int32/...) as int64 values (arena copy).
 * Fails with a "must be constant" error naming the node and input when it is
 * not static; when it is a graph input, records it for the
 * "must be fixed at compile time" message instead. */
me_status mo_const_ints(mo_ctx *c, const onnx_node *n, int input, int64_t **vals, int64_t *count);
me_status mo_const_floats(mo_ctx *c, const onnx_node *n, int input, float **vals, int64_t *count);

/* Attributes (NULL / default when absent). */
const onnx_attr *mo_attr(const onnx_node *n, const char *name);
int64_t mo_attr_int(const onnx_node *n, const char *name, int64_t dflt);
float mo_attr_float(const onnx_node *n, const char *name, float dflt);
const char *mo_attr_str(const onnx_node *n, const char *name, const char *dflt);
/* INTS attribute: returns count (-1 when absent) and sets *vals. */
int mo_attr_ints(const onnx_node *n, const char *name, const int64_t **vals);
int mo_attr_floats(const onnx_node *n, const char *name, const float **vals);

/* Emit one IR node. `params_fn` is not needed: set params afterwards with
 * me_node_set_* on the returned node index, then call mo_finish. Typical use:
 *
 *   int outs[1];
 *   int node = mo_node(c, n, ME_OP_RELU, ins, 1, 1, "relu");   creates node + 1 output tensor
 *   me_node_set_scalar_f32(mo_graph(c), node, "min_value", 0);  (params)
 *   if (mo_finish(c, node, outs) != ME_OK) return ...;           infers shapes, folds constants
 *   mo_bind(c, n, 0, outs[0]);
 *
 * Output tensors get unique names derived from the ONNX node/output name;
 * the IR node's name is derived from the ONNX node name plus `suffix`, its
 * scope from the hierarchy tag or the node name, and its source list holds
 * the ONNX node name. mo_finish replaces the outputs by static tensors when
 * every input is static (constant folding with the reference kernel), and
 * writes the (possibly replaced) output tensor ids to outs[]. */
int mo_node(mo_ctx *c, const onnx_node *n, me_op_id op, const int *in, int n_in, int n_out,
            const char *suffix);
me_status mo_finish(mo_ctx *c, int node, int *outs);

/* One-call forms for nodes without params. Return the output tensor or -1. */
int mo_emit1(mo_ctx *c, const onnx_node *n, me_op_id op, const int *in, int n_in, const char *suffix);

/* Bind ONNX output i of n to IR tensor t (no-op if output i is unused). */
me_status mo_bind(mo_ctx *c, const onnx_node *n, int i, int t);

/* Constants (static tensors in the arena). Return tensor id or -1. */
int mo_const(mo_ctx *c, const char *name_hint, me_dtype dt, int rank, const int64_t *dims, const void *data);
int mo_const_scalar_f32(mo_ctx *c, float v);
int mo_const_i64_vec(mo_ctx *c, const int64_t *v, int64_t n);

/* Common building blocks (emit IR nodes; return the output tensor or -1). */
int mo_transpose(mo_ctx *c, const onnx_node *n, int t, const int *perm, const char *suffix);
int mo_to_nhwc(mo_ctx *c, const onnx_node *n, int t);   /* [N,C,d1..dk] -> [N,d1..dk,C] */
int mo_to_nchw(mo_ctx *c, const onnx_node *n, int t);   /* inverse */
int mo_reshape(mo_ctx *c, const onnx_node *n, int t, int rank, const int64_t *dims, const char *suffix);
int mo_cast(mo_ctx *c, const onnx_node *n, int t, me_dtype to, const char *suffix);
int mo_binary(mo_ctx *c, const onnx_node *n, me_op_id op, int a, int b, const char *suffix);
int mo_unary(mo_ctx *c, const onnx_node *n, me_op_id op, int a, const char *suffix);

/* Report a problem with node n (appends "node 'NAME' (OpType): ..."). */
me_status mo_error(mo_ctx *c, const onnx_node *n, me_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Translators of nested graphs (If with constant condition): import the
 * nodes of `sub` into the current graph, then bind the If node's outputs to
 * the subgraph's outputs. Outer-scope names resolve as usual. */
me_status mo_inline_subgraph(mo_ctx *c, const onnx_node *n, const onnx_graph *sub);

/* ---- the translator table (onnx_ops.def rows: X("OpType", fn)) ---- */
#define X(op_type, fn) me_status fn(mo_ctx *c, const onnx_node *n);
#include "onnx_ops.def"
#undef X

#endif
