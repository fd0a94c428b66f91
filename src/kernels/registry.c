/* The kernel lists as tables, dispatch and lookup (see kernels.h). */
#include <string.h>

#include "kernels.h"

#define DEFINE_SELECT(fam)                                                                  \
    const me_##fam##_kernel *me_##fam##_select(void) {                                      \
        static const me_##fam##_kernel *chosen;                                             \
        const me_##fam##_kernel *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);            \
        if (k) return k;                                                                    \
        k = &me_##fam##_kernels[me_##fam##_kernel_count - 1];                               \
        for (int i = 0; i < me_##fam##_kernel_count; i++)                                   \
            if (me_cpu_has(me_##fam##_kernels[i].isa)) { k = &me_##fam##_kernels[i]; break; } \
        __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);                                     \
        return k;                                                                           \
    }                                                                                       \
    const me_##fam##_kernel *me_##fam##_find(const char *id) {                              \
        for (int i = 0; id && i < me_##fam##_kernel_count; i++)                             \
            if (strcmp(me_##fam##_kernels[i].id, id) == 0) return &me_##fam##_kernels[i];   \
        return NULL;                                                                        \
    }

const me_gemm_f32_kernel me_gemm_f32_kernels[] = {
#define X(id, isa, nn, nt, mr, nr, packed, pmr, pnr) {id, isa, nn, nt, mr, nr, packed, pmr, pnr},
#include "gemm_f32.inc"
#undef X
};
const int me_gemm_f32_kernel_count = (int)(sizeof me_gemm_f32_kernels / sizeof me_gemm_f32_kernels[0]);
DEFINE_SELECT(gemm_f32)

const me_dwconv_f32_kernel me_dwconv_f32_kernels[] = {
#define X(id, isa, fn) {id, isa, fn},
#include "dwconv_f32.inc"
#undef X
};
const int me_dwconv_f32_kernel_count = (int)(sizeof me_dwconv_f32_kernels / sizeof me_dwconv_f32_kernels[0]);
DEFINE_SELECT(dwconv_f32)

const me_eltwise_f32_kernel me_eltwise_f32_kernels[] = {
#define X(id, isa, add, mul, max, min) {id, isa, add, mul, max, min},
#include "eltwise_f32.inc"
#undef X
};
const int me_eltwise_f32_kernel_count = (int)(sizeof me_eltwise_f32_kernels / sizeof me_eltwise_f32_kernels[0]);
DEFINE_SELECT(eltwise_f32)

const me_blockq_dot_kernel me_blockq_dot_kernels[] = {
#define X(id, isa, q4_0, q8_0, g4_0, g8_0, k4, k6, p4, p4q, p8) {id, isa, q4_0, q8_0, g4_0, g8_0, k4, k6, p4, p4q, p8},
#include "blockq_dot.inc"
#undef X
};
const int me_blockq_dot_kernel_count = (int)(sizeof me_blockq_dot_kernels / sizeof me_blockq_dot_kernels[0]);
DEFINE_SELECT(blockq_dot)

const me_qint8_kernel me_qint8_kernels[] = {
#define X(id, isa, gemm, dw, add, quant, mul, lut) {id, isa, gemm, dw, add, quant, mul, lut},
#include "qint8.inc"
#undef X
};
const int me_qint8_kernel_count = (int)(sizeof me_qint8_kernels / sizeof me_qint8_kernels[0]);
DEFINE_SELECT(qint8)

#define ME_UNARY_F32_ROW(fn, sfx) me_unary_f32_##fn##__##sfx,
const me_unary_f32_kernel me_unary_f32_kernels[] = {
#define X(id, isa, sfx) {id, isa, ME_UNARY_F32_FNS(ME_UNARY_F32_ROW, sfx)},
#include "unary_f32.inc"
#undef X
};
#undef ME_UNARY_F32_ROW
const int me_unary_f32_kernel_count = (int)(sizeof me_unary_f32_kernels / sizeof me_unary_f32_kernels[0]);
DEFINE_SELECT(unary_f32)

const me_norm_f32_kernel me_norm_f32_kernels[] = {
#define X(id, isa, sfx) {id, isa, me_norm_f32_sum__##sfx, me_norm_f32_apply__##sfx},
#include "norm_f32.inc"
#undef X
};
const int me_norm_f32_kernel_count = (int)(sizeof me_norm_f32_kernels / sizeof me_norm_f32_kernels[0]);
DEFINE_SELECT(norm_f32)
