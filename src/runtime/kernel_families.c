/* The node -> kernel family map (see families.h). */
#include "kernel_families.h"

#include <string.h>

#include "../ops/ops.h"
#include "../quant/quant_kernels.h"

#define FAMILY(fam)                                                                              \
    static int fam##_count(void) { return me_##fam##_kernel_count; }                             \
    static const char *fam##_id(int i) { return me_##fam##_kernels[i].id; }                      \
    static unsigned fam##_isa(int i) { return me_##fam##_kernels[i].isa; }                       \
    static const void *fam##_row(int i) { return &me_##fam##_kernels[i]; }                       \
    static const void *fam##_select(void) { return me_##fam##_select(); }                        \
    static const me_kernel_family fam##_family = {#fam "__", fam##_count, fam##_id, fam##_isa, fam##_row, \
                                                  fam##_select};
FAMILY(gemm_f32)
FAMILY(dwconv_f32)
FAMILY(eltwise_f32)
FAMILY(unary_f32)
FAMILY(norm_f32)
#undef FAMILY

const me_kernel_family *me_kernel_family_of(const me_graph *g, const me_node *n) {
    if (n->n_in < 1 || n->in[0] < 0) return NULL;
    if (me_op_has_quant_kernel(g, n)) return NULL; /* integer kernels: no registry family yet */
    if (g->tensors[n->in[0]].dtype != ME_DT_F32) return NULL;
    switch (n->op) {
    case ME_OP_CONV2D:
    case ME_OP_FULLY_CONNECTED:
    case ME_OP_MATMUL:
    case ME_OP_ATTENTION: return &gemm_f32_family;
    case ME_OP_DEPTHWISE_CONV2D: return &dwconv_f32_family;
    case ME_OP_ADD:
    case ME_OP_MULTIPLY:
    case ME_OP_POOL_MAX2D:
    case ME_OP_POOL_AVG2D:
    case ME_OP_RELU:
    case ME_OP_RELU_MIN_MAX: return &eltwise_f32_family;
    case ME_OP_SIGMOID:
    case ME_OP_TANH:
    case ME_OP_NEURON:
    case ME_OP_GELU:
    case ME_OP_EXP:
    case ME_OP_ERF:
    case ME_OP_SOFTMAX:
    case ME_OP_LOG_SOFTMAX: return &unary_f32_family;
    case ME_OP_LAYER_NORM:
    case ME_OP_RMS_NORM: return &norm_f32_family;
    default: return NULL;
    }
}

const void *me_kernel_family_find(const me_kernel_family *f, const char *id, unsigned *isa) {
    for (int i = 0; f && id && i < f->count(); i++)
        if (strcmp(f->id_at(i), id) == 0) {
            if (isa) *isa = f->isa_at(i);
            return f->row_at(i);
        }
    return NULL;
}
