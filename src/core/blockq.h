/* Block-quantised weight storage (GGML block types, gguf.md §3-4).
 *
 * An IR tensor with dtype ME_DT_BLOCKQ holds raw blocks; its qenc has kind
 * ME_QENC_BLOCK, block_type = the ggml type id and block_size = weights per
 * block. Its dims are the logical row-major shape (e.g. [out, in]); blocks
 * run along the last dimension, which must be a multiple of block_size. */
#ifndef ME_BLOCKQ_H
#define ME_BLOCKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ggml type ids (gguf.md §3) */
enum {
    ME_GGML_F32 = 0, ME_GGML_F16 = 1, ME_GGML_Q4_0 = 2, ME_GGML_Q4_1 = 3, ME_GGML_Q5_0 = 6,
    ME_GGML_Q5_1 = 7, ME_GGML_Q8_0 = 8, ME_GGML_Q8_1 = 9, ME_GGML_Q2_K = 10, ME_GGML_Q3_K = 11,
    ME_GGML_Q4_K = 12, ME_GGML_Q5_K = 13, ME_GGML_Q6_K = 14, ME_GGML_Q8_K = 15, ME_GGML_BF16 = 30
};

typedef struct me_blockq_traits {
    const char *name;       /* "Q4_0" */
    int block_size;         /* weights per block */
    int block_bytes;        /* bytes per block */
    /* Dequantise n weights (n a multiple of block_size) exactly as ggml does. */
    void (*to_float)(const void *blocks, float *out, int64_t n);
} me_blockq_traits;

/* NULL for an unknown or unsupported type. */
const me_blockq_traits *me_blockq_get(int ggml_type);
/* Bytes of one row of `ncols` weights; 0 if ncols is not a multiple of the block size. */
size_t me_blockq_row_bytes(int ggml_type, int64_t ncols);

/* Rows of IEEE half / bfloat16 (little-endian) to float32, exact. */
void me_f16_row_to_f32(const void *src, float *out, int64_t n);
void me_bf16_row_to_f32(const void *src, float *out, int64_t n);
/* Any of F32, F16, BF16 and the block types above: n weights (a multiple of the
 * block size) to float32, exactly as ggml; false for another type or a bad n. */
bool me_ggml_to_float(int ggml_type, const void *src, float *out, int64_t n);

#endif
