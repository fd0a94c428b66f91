/* The IR: one graph in QNN's op vocabulary.
 *
 * Conventions (see ../shared/reference/qnn.md §1):
 *  - activations are NHWC (channel last); conv weights HWIO; FullyConnected
 *    weights [out, in]; pad_amount is [[before, after], ...] per spatial axis;
 *  - op type strings and param names are QNN's (package "qti.aisw"); ops that
 *    QNN lacks live in our package "modelexport" and are marked as such;
 *  - every shape is static and fully known after import.
 *
 * A graph owns an arena; all its strings, arrays and copied data live there.
 * Static tensor data is usually a pointer into a mapped file (not owned).
 * Tensors and nodes are referred to by index (int); -1 means "absent"
 * (an omitted optional input). */
#ifndef ME_IR_H
#define ME_IR_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/diag.h"
#include "../core/mapfile.h"
#include "modelexport.h"

/* ---- quantisation encodings (QNN's Qnn_QuantizationEncoding_t shapes) ---- */
typedef enum me_qenc_kind {
    ME_QENC_NONE = 0,
    ME_QENC_SCALE_OFFSET,      /* per tensor: real = (q + offset) * scale */
    ME_QENC_AXIS_SCALE_OFFSET, /* per channel along `axis` */
    ME_QENC_BLOCK              /* per block (GGUF-style; used by later issues) */
} me_qenc_kind;

typedef struct me_qenc {
    me_qenc_kind kind;
    int bitwidth;          /* 4, 8, 16, 32 */
    bool is_signed;        /* SFIXED vs UFIXED */
    int axis;              /* AXIS_SCALE_OFFSET / BLOCK */
    int64_t n;             /* number of scale/offset pairs */
    float *scales;         /* [n] (arena) */
    int32_t *offsets;      /* [n] (arena); QNN convention offset = -zero_point */
    int64_t block_size;    /* BLOCK */
    int block_type;        /* BLOCK: format id (later issues) */
} me_qenc;

/* ---- tensors ---- */
enum {
    ME_TF_INPUT = 1u << 0,   /* graph input (APP_WRITE) */
    ME_TF_OUTPUT = 1u << 1,  /* graph output (APP_READ) */
    ME_TF_STATIC = 1u << 2,  /* constant: `data` holds the value */
};

typedef struct me_tensor {
    const char *name;
    me_dtype dtype;
    int rank;
    int64_t dims[ME_MAX_RANK];
    uint32_t flags;
    const void *data;      /* STATIC only: row-major, little-endian */
    size_t nbytes;         /* STATIC: size of data */
    me_qenc *qenc;         /* NULL = float / plain integer */
    int producer;          /* node index, or -1 (input, static, or unproduced) */
    /* The source model's name for these values (an ONNX value or initializer),
     * kept when layout copies and passes replace or rename the tensor, so
     * encodings JSON can name tensors as QNN does: by source-model names.
     * NULL = none known. Compile time only (not stored in a DLC). */
    const char *src_name;
} me_tensor;

/* ---- params: QNN style, a scalar or a small static tensor (U32/I32 arrays) ---- */
typedef enum me_param_kind { ME_PARAM_SCALAR = 0, ME_PARAM_TENSOR = 1 } me_param_kind;

typedef struct me_param {
    const char *name;      /* QNN param name, e.g. "pad_amount" */
    me_param_kind kind;
    me_dtype dtype;        /* U32, I32, F32, BOOL (scalars); U32/I32/F32 (tensors) */
    /* scalar value */
    union { int64_t i; double f; } s;
    /* tensor value: `count` elements, shape dims[0..rank) */
    int rank;
    int64_t dims[2];
    int64_t count;
    int64_t *ivals;        /* integer tensors (arena) */
    float *fvals;          /* float tensors (arena) */
} me_param;

/* ---- nodes ---- */
typedef struct me_node {
    const char *name;
    int op;                /* me_op_id (ops/ops.h) */
    int n_in, n_out;
    int *in;               /* tensor indices; -1 = omitted optional input */
    int *out;
    int n_params;
    me_param *params;
    const char *scope;     /* hierarchy scope, e.g. "/encoder/layer.0/attention"; "" = root */
    int n_sources;         /* source (e.g. ONNX) node names this node was made from */
    const char **sources;
    bool dead;             /* removed by a pass; compacted by me_graph_compact */
} me_node;

typedef struct me_graph {
    me_arena arena;
    const char *name;
    me_tensor *tensors; int n_tensors, cap_tensors;
    me_node *nodes;     int n_nodes, cap_nodes;
    int *inputs;  int n_inputs,  cap_inputs;   /* graph input tensor ids, in order */
    int *outputs; int n_outputs, cap_outputs;  /* graph output tensor ids, in order */
    /* provenance */
    uint8_t source_hash[32];  /* SHA-256 of the source model file */
    const char *source_path;
    const char *compile_options; /* text recorded into the artifact */
    /* files whose bytes static tensors point into; unmapped by me_graph_free */
    me_mapfile *maps; int n_maps;
    /* tensor-name hash index (open addressing, -1 = empty) */
    int *name_slots; int name_slots_cap;
    /* named graphs over this graph's tensors (an LLM's "prefill" and "decode"
     * share the weights and the KV-cache inputs); 0 = none. Tensor ids are
     * not renumbered by me_graph_compact, so such graphs skip the passes. */
    struct me_subgraph *subgraphs; int n_subgraphs;
    /* LLM description blob (src/llm/llm_model.h), NULL = none (arena or mapping) */
    const void *llm_blob; size_t llm_blob_bytes;
} me_graph;

/* A named graph: its own input and output tensor lists (ids of the parent graph). */
typedef struct me_subgraph {
    const char *name;
    int n_inputs, n_outputs;
    int *inputs, *outputs;
} me_subgraph;

me_status me_graph_init(me_graph *g, me_diag *d);
void me_graph_free(me_graph *g);
/* Keep a mapping alive as long as the graph (the graph takes ownership;
 * *m is cleared). */
me_status me_graph_adopt_map(me_graph *g, me_mapfile *m);

/* Add a tensor (name copied into the arena; must be unique). Returns its index or -1. */
int me_graph_add_tensor(me_graph *g, const char *name, me_dtype dt, int rank,
                        const int64_t *dims, me_diag *d);
/* Same, with a name made unique by appending a suffix if needed. */
int me_graph_add_tensor_unique(me_graph *g, const char *base, me_dtype dt, int rank,
                               const int64_t *dims, me_diag *d);
/* A static tensor whose bytes stay where they are (e.g. in a mapped file). */
int me_graph_add_static_ref(me_graph *g, const char *name, me_dtype dt, int rank,
                            const int64_t *dims, const void *data, size_t nbytes, me_diag *d);
/* A static tensor whose bytes are copied into the graph's arena. */
int me_graph_add_static_copy(me_graph *g, const char *name, me_dtype dt, int rank,
                             const int64_t *dims, const void *data, size_t nbytes, me_diag *d);
int me_graph_find_tensor(const me_graph *g, const char *name); /* -1 if absent */
/* Tensors a source-model name refers to: the tensor of that name (first) and
 * every tensor whose src_name it is (layout copies; the original may be left
 * unused). Writes up to cap ids, returns how many there are. */
int me_graph_find_source(const me_graph *g, const char *name, int *ids, int cap);
/* The name to show a user for tensor t: its src_name, else its name. */
const char *me_tensor_source_name(const me_tensor *t);

/* Add a node; inputs/outputs are copied. Sets producer of each output.
 * Returns the node index or -1. */
int me_graph_add_node(me_graph *g, const char *name, int op, const int *in, int n_in,
                      const int *out, int n_out, const char *scope, me_diag *d);
/* Params are appended to a node (name copied, arrays copied). */
me_status me_node_set_scalar_u32(me_graph *g, int node, const char *name, uint32_t v);
me_status me_node_set_scalar_i32(me_graph *g, int node, const char *name, int32_t v);
me_status me_node_set_scalar_f32(me_graph *g, int node, const char *name, float v);
me_status me_node_set_scalar_bool(me_graph *g, int node, const char *name, bool v);
/* dt is ME_DT_U32 or ME_DT_I32; rank 1 ([count]) or 2 ([dims0, dims1]). */
me_status me_node_set_tensor_int(me_graph *g, int node, const char *name, me_dtype dt,
                                 int rank, const int64_t *dims, const int64_t *vals);
me_status me_node_add_source(me_graph *g, int node, const char *source_name);

const me_param *me_node_param(const me_node *n, const char *name); /* NULL if absent */
/* Typed getters with defaults (for schema-optional params). */
int64_t me_param_int(const me_node *n, const char *name, int64_t dflt);
double me_param_float(const me_node *n, const char *name, double dflt);

me_status me_graph_add_input(me_graph *g, int tensor);
me_status me_graph_add_output(me_graph *g, int tensor);

/* A float tensor param (e.g. Resize "scales", our extension). */
me_status me_node_set_tensor_f32(me_graph *g, int node, const char *name, int64_t count, const float *vals);

/* Tell the graph that static tensor `t`'s bytes are no longer needed by
 * anyone (its data was replaced by a transformed copy). If they lie in a
 * mapped file, the fully covered pages are dropped from memory (they would be
 * re-read from the file if touched again), so compiling a large model does
 * not hold both the original and the transformed weights. */
void me_graph_release_static(me_graph *g, int t);

/* Recompute producers; drop dead nodes; optionally drop tensors no node/IO uses
 * (renumbering indices everywhere). */
me_status me_graph_compact(me_graph *g, me_diag *d);

/* Element count and byte size of a tensor (0 on overflow: callers verify first). */
int64_t me_tensor_numel(const me_tensor *t);
size_t me_tensor_nbytes(const me_tensor *t);
int64_t me_shape_numel(int rank, const int64_t *dims);

/* Full structural check: indices in range, each non-static tensor produced
 * exactly once (or a graph input), no cycles, params match the op schema,
 * and re-running shape inference reproduces every stored output shape/dtype.
 * All problems are appended to d. */
me_status me_graph_verify(const me_graph *g, me_diag *d);

/* Topological order of live nodes into `order` (n_nodes entries); returns
 * ME_ERR_FORMAT naming a node on a cycle. */
me_status me_graph_toposort(const me_graph *g, int *order, int *n_order, me_diag *d);

/* Derive a hierarchy scope from an ONNX-style node name: "/a/b/Conv" -> "/a/b". */
const char *me_scope_from_name(me_arena *a, const char *node_name);

#endif
