/* Threaded entry point over the unary_f32 rows (see dispatch.h). */
#include "dispatch.h"

/* Below this many elements a row is not worth waking the workers. */
enum { UNARY_PAR_MIN = 1 << 13 };

typedef struct unary_job {
    me_unary_f32_fn fn;
    const float *x;
    float *y;
} unary_job;

static void unary_chunk(void *v, int64_t b, int64_t e) {
    const unary_job *j = v;
    j->fn(j->x + b, j->y + b, e - b);
}

me_unary_f32_fn me_unary_f32_fn_of(const me_unary_f32_kernel *kern, me_unary_op op) {
    if (!kern) kern = me_unary_f32_select();
    switch (op) {
    case ME_UNARY_EXP: return kern->exp;
    case ME_UNARY_SIGMOID: return kern->sigmoid;
    case ME_UNARY_SILU: return kern->silu;
    case ME_UNARY_TANH: return kern->tanh;
    case ME_UNARY_ERF: return kern->erf;
    case ME_UNARY_GELU: return kern->gelu;
    }
    return kern->exp;
}

void me_unary_f32(me_threadpool *tp, const me_unary_f32_kernel *kern, me_unary_op op, const float *x, float *y,
                  int64_t n) {
    if (n <= 0) return;
    unary_job j = {me_unary_f32_fn_of(kern, op), x, y};
    if (n < UNARY_PAR_MIN || me_threadpool_threads(tp) < 2) j.fn(x, y, n);
    else me_parallel_for(tp, n, 64, unary_chunk, &j);
}
