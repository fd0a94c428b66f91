/* The quantize pass and the compile-time quantisation pipeline
 * (/tmp contract "Quantised IR"; qnn.md §2.4-2.6, §4).
 *
 * Input: a float graph after the normal passes, and per tensor an encoding
 * (computed from calibration statistics, or given by overrides). Output: the
 * same graph, quantised in place: activations U8/U16 with per-tensor
 * encodings, weights I8/I4/I16 symmetric (per tensor or per output channel),
 * bias I32 at in_scale x w_scale (or I8), Quantize after every float graph
 * input and Dequantize before every graph output, and ops without an integer
 * kernel (me_op_has_quant_kernel) wrapped Dequantize -> float op -> Quantize. */
#ifndef ME_QUANT_QUANTIZE_PASS_H
#define ME_QUANT_QUANTIZE_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "../ir/ir.h"
#include "modelexport.h"

typedef enum me_tenc_kind {
    ME_TENC_NONE = 0,  /* nothing known: computed (or float under --float-fallback) */
    ME_TENC_INT,       /* fixed point */
    ME_TENC_FLOAT      /* keep in float (override dtype "float") */
} me_tenc_kind;

/* One tensor's encoding in QNN's unsigned view (offset <= 0; symmetric
 * offset -2^(bw-1)). n > 1: one per channel. */
typedef struct me_tensor_enc {
    me_tenc_kind kind;
    int bw;
    bool sym;
    int n;
    float *scales;     /* [n], malloc'd */
    int32_t *offsets;  /* [n], malloc'd */
    bool is_param;     /* static tensor (weights, bias) */
    /* LPBQ (enc_type "LPBQ", qnn.md §4.7-4.8; weights only): per output
     * channel c the scale scales[c]; the weight's input-channel axis cut into
     * blocks of block_size, block b of channel c with the integer multiplier
     * block_scales[c * n_blocks + b]; codes of compressed_bw bits. The pass
     * stores code x multiplier as a per-channel weight of bw bits, which is
     * exactly real = code x multiplier x scales[c]. block_size 0 = not LPBQ. */
    int64_t block_size;
    int compressed_bw;
    int64_t n_blocks;
    uint32_t *block_scales; /* [n * n_blocks], malloc'd */
} me_tensor_enc;

/* Table over a graph's tensors (index = tensor id). */
typedef struct me_enc_table {
    int n;
    me_tensor_enc *e;
} me_enc_table;

me_status me_enc_table_init(me_enc_table *t, int n, me_diag *d);
void me_enc_table_free(me_enc_table *t);
/* Set entry i to a per-tensor / per-channel encoding (arrays copied). */
me_status me_enc_set(me_tensor_enc *e, me_tenc_kind kind, int bw, bool sym, int n, const float *scales,
                     const int32_t *offsets, me_diag *d);
/* Make INT entry e (n channels) LPBQ: block_scales[n * n_blocks] copied. */
me_status me_enc_set_lpbq(me_tensor_enc *e, int64_t block_size, int compressed_bw, int64_t n_blocks,
                          const uint32_t *block_scales, me_diag *d);

/* Quantise g in place. `enc` holds activation encodings for float
 * activations (INT/FLOAT/NONE) and param overrides for static tensors; on
 * return it holds every encoding actually used (activations after
 * propagation through data-movement ops, weights, bias), keyed by the
 * float graph's tensor ids (names unchanged for those tensors). */
me_status me_quantize_graph(me_graph *g, const me_compile_options *o, me_enc_table *enc, me_diag *d);

/* The whole --quantize step of me_compile: calibrate (or load statistics),
 * compute encodings, apply overrides, quantise `g`, export encodings; then,
 * when there is calibration data, build a fresh float graph from in_path and
 * write the accuracy report. */
me_status me_quant_compile(const char *in_path, const char *out_path, const me_compile_options *o, me_graph *g,
                           me_diag *d);
/* me_quant_compile followed by me_graph_verify (a failure there is an
 * internal error naming the problems). */
me_status me_quant_compile_verified(const char *in_path, const char *out_path, const me_compile_options *o, me_graph *g,
                                    me_diag *d);
/* Second half: after `g` was written to out_path, the accuracy report. */
me_status me_quant_report(const char *in_path, const char *out_path, const me_compile_options *o, const me_graph *qg,
                          me_diag *d);

#endif
