/* Float add/multiply rows for aarch64 NEON (see kernels.h); exact, like the reference. */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "kernels.h"

#define ADD_S(x, y) ((x) + (y))
#define MUL_S(x, y) ((x) * (y))
#define MAX_S(x, y) ((x) > (y) ? (x) : (y))
#define MIN_S(x, y) ((x) < (y) ? (x) : (y))

/* a > b ? a : b lane by lane (vmaxq_f32 would return NaN for a NaN operand) */
static inline float32x4_t max_gt(float32x4_t a, float32x4_t b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
/* a < b ? a : b, the same way */
static inline float32x4_t min_lt(float32x4_t a, float32x4_t b) { return vbslq_f32(vcltq_f32(a, b), a, b); }

#define ROW(NAME, VOP, OP)                                                                              \
    void NAME(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {              \
        int64_t i = 0;                                                                                    \
        if (sa && sb) {                                                                                   \
            for (; i + 4 <= n; i += 4) vst1q_f32(o + i, VOP(vld1q_f32(a + i), vld1q_f32(b + i)));        \
            for (; i < n; i++) o[i] = OP(a[i], b[i]);                                                       \
        } else if (sa) {                                                                                  \
            float32x4_t y = vdupq_n_f32(b[0]);                                                            \
            for (; i + 4 <= n; i += 4) vst1q_f32(o + i, VOP(vld1q_f32(a + i), y));                        \
            for (; i < n; i++) o[i] = OP(a[i], b[0]);                                                       \
        } else if (sb) {                                                                                  \
            float32x4_t x = vdupq_n_f32(a[0]);                                                            \
            for (; i + 4 <= n; i += 4) vst1q_f32(o + i, VOP(x, vld1q_f32(b + i)));                        \
            for (; i < n; i++) o[i] = OP(a[0], b[i]);                                                       \
        } else {                                                                                          \
            float v = OP(a[0], b[0]);                                                                       \
            for (; i < n; i++) o[i] = v;                                                                  \
        }                                                                                                 \
    }
ROW(me_add_f32_row__neon, vaddq_f32, ADD_S)
ROW(me_mul_f32_row__neon, vmulq_f32, MUL_S)
ROW(me_min_f32_row__neon, min_lt, MIN_S)
ROW(me_max_f32_row__neon, max_gt, MAX_S)
#endif
