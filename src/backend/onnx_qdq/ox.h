/* Internal builder of the ONNX QDQ writer: names ONNX values for IR tensors
 * (raw, dequantised float, re-laid-out weights), collects nodes and
 * initializers, and serialises the model. ox_ops.c translates IR ops with it. */
#ifndef ME_ONNX_QDQ_OX_H
#define ME_ONNX_QDQ_OX_H

#include "../../core/arena.h"
#include "../../ir/ir.h"
#include "pb_out.h"

/* ONNX TensorProto.DataType values. */
enum {
    OX_FLOAT = 1, OX_UINT8 = 2, OX_INT8 = 3, OX_UINT16 = 4, OX_INT16 = 5, OX_INT32 = 6, OX_INT64 = 7,
    OX_BOOL = 9, OX_FLOAT16 = 10, OX_DOUBLE = 11, OX_UINT32 = 12, OX_UINT64 = 13, OX_BFLOAT16 = 16,
    OX_UINT4 = 21, OX_INT4 = 22
};

/* An initializer: raw bytes, or a static IR tensor's data read through an
 * axis permutation (out.dims[i] = src.dims[perm[i]]). */
typedef struct ox_init {
    const char *name;
    int onnx_type;
    int rank;
    int64_t dims[ME_MAX_RANK];
    const uint8_t *data;   /* source bytes */
    size_t nbytes;         /* bytes of the ONNX raw_data */
    bool permuted;
    int src_bits;          /* element size in bits (4 for packed nibbles) */
    int64_t src_dims[ME_MAX_RANK];
    int perm[ME_MAX_RANK];
} ox_init;

typedef struct ox {
    const me_graph *g;
    me_diag *d;
    me_arena arena;
    int opset;
    pb_out nodes;          /* serialised NodeProto fields (GraphProto field 1) */
    pb_out cur;            /* the node being built */
    bool cur_open;
    const char *cur_name;
    int n_nodes;
    ox_init *inits; int n_inits, cap_inits;
    const char **raw;      /* [n_tensors] ONNX value holding the IR tensor as stored */
    const char **flt;      /* [n_tensors] its float (dequantised) view */
    const char **pending;  /* [n_tensors] float result awaiting its QuantizeLinear */
    /* names we created (open addressing), to keep them unique */
    const char **names; size_t names_cap, n_names;
    const me_node *node;   /* IR node being translated (for names and errors) */
    me_status st;          /* first failure (sticky) */
} ox;

me_status ox_init_builder(ox *x, const me_graph *g, me_diag *d);
void ox_free(ox *x);

/* Record a failure naming the current IR node; returns the status. */
me_status ox_fail(ox *x, me_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool ox_is_quantised(const me_tensor *t);
/* ONNX dtype of an IR dtype; 0 if none. */
int ox_onnx_type(me_dtype dt);

/* A fresh unique value name derived from `base`. */
const char *ox_tmp(ox *x, const char *base);
/* Same, from the current IR node's name and `suffix`. */
const char *ox_node_tmp(ox *x, const char *suffix);

/* ---- nodes ---- */
/* Start a node (the previous one is finished). n_in may include "" for an
 * omitted optional input. */
void ox_op(ox *x, const char *op_type, const char *const *in, int n_in, const char *const *out, int n_out);
void ox_attr_int(ox *x, const char *name, int64_t v);
void ox_attr_float(ox *x, const char *name, float v);
void ox_attr_str(ox *x, const char *name, const char *v);
void ox_attr_ints(ox *x, const char *name, const int64_t *v, int n);
/* One-input one-output node into a fresh value; returns that value. */
const char *ox_op1(ox *x, const char *op_type, const char *in);
/* Two-input one-output node into a fresh value. */
const char *ox_op2(ox *x, const char *op_type, const char *a, const char *b);

/* ---- values ---- */
/* The IR tensor as stored (integers for a quantised tensor). Static tensors
 * become initializers. */
const char *ox_raw(ox *x, int t);
/* The tensor's real values (a DequantizeLinear of a quantised tensor). */
const char *ox_float(ox *x, int t);
/* The real values of tensor t with its axes permuted (out axis i = axis
 * perm[i]); static data is re-laid out in the initializer itself. */
const char *ox_float_perm(ox *x, int t, const int *perm);
/* Where an op writes the real values of output tensor t; ox_out_done then
 * quantises them into the tensor (if quantised). */
const char *ox_out(ox *x, int t);
void ox_out_done(ox *x, int t);
/* Output tensor t (float) = DequantizeLinear of quantised tensor `from`. */
void ox_dequantize_into(ox *x, int from, int t);
/* Write `value` (real values) into output tensor t. */
void ox_set_out(ox *x, int t, const char *value);

/* ---- constants ---- */
const char *ox_const_i64(ox *x, const int64_t *v, int n);   /* 1-D int64 [n] */
const char *ox_const_i64_scalar(ox *x, int64_t v);          /* 0-D int64 */
const char *ox_const_f32(ox *x, const float *v, int rank, const int64_t *dims);
const char *ox_const_f32_scalar(ox *x, float v);
/* 0-D constant of an IR dtype (numbers are converted; NULL on an unsupported dtype). */
const char *ox_const_scalar(ox *x, me_dtype dt, double v);

/* Perm helpers. */
const char *ox_transpose(ox *x, const char *in, const int64_t *perm, int rank);

/* Serialise everything to `path` (atomic). */
me_status ox_write_file(ox *x, const char *path);

/* Translate one IR node (ox_ops.c). */
me_status ox_translate_node(ox *x, const me_node *n);

#endif
