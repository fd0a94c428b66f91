/* GGML block types: sizes (gguf.md §3) and exact dequantisation (gguf.md §4). */
#include "blockq.h"

/* to_float implementations are filled in per type below as they are written. */
static const me_blockq_traits traits[] = {
    {"Q4_0", 32, 18, NULL}, {"Q4_1", 32, 20, NULL}, {"Q5_0", 32, 22, NULL}, {"Q5_1", 32, 24, NULL},
    {"Q8_0", 32, 34, NULL}, {"Q2_K", 256, 84, NULL}, {"Q3_K", 256, 110, NULL},
    {"Q4_K", 256, 144, NULL}, {"Q5_K", 256, 176, NULL}, {"Q6_K", 256, 210, NULL},
};
static const int trait_type[] = {ME_GGML_Q4_0, ME_GGML_Q4_1, ME_GGML_Q5_0, ME_GGML_Q5_1, ME_GGML_Q8_0,
                                 ME_GGML_Q2_K, ME_GGML_Q3_K, ME_GGML_Q4_K, ME_GGML_Q5_K, ME_GGML_Q6_K};

const me_blockq_traits *me_blockq_get(int ggml_type) {
    for (unsigned i = 0; i < sizeof trait_type / sizeof trait_type[0]; i++)
        if (trait_type[i] == ggml_type) return &traits[i];
    return NULL;
}

size_t me_blockq_row_bytes(int ggml_type, int64_t ncols) {
    const me_blockq_traits *t = me_blockq_get(ggml_type);
    if (!t || ncols <= 0 || ncols % t->block_size) return 0;
    return (size_t)(ncols / t->block_size) * (size_t)t->block_bytes;
}
