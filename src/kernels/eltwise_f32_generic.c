/* Reference float add/multiply/max/min rows (see kernels.h). */
#include "kernels.h"

#define ADD_S(x, y) ((x) + (y))
#define MUL_S(x, y) ((x) * (y))
#define MAX_S(x, y) ((x) > (y) ? (x) : (y))
#define MIN_S(x, y) ((x) < (y) ? (x) : (y))

#define ROW(NAME, OP)                                                                                \
    void NAME(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {           \
        if (sa && sb)      for (int64_t i = 0; i < n; i++) o[i] = OP(a[i], b[i]);                        \
        else if (sa)       { float y = b[0]; for (int64_t i = 0; i < n; i++) o[i] = OP(a[i], y); }        \
        else if (sb)       { float x = a[0]; for (int64_t i = 0; i < n; i++) o[i] = OP(x, b[i]); }        \
        else               { float v = OP(a[0], b[0]); for (int64_t i = 0; i < n; i++) o[i] = v; }        \
    }
ROW(me_add_f32_row__generic, ADD_S)
ROW(me_mul_f32_row__generic, MUL_S)
ROW(me_max_f32_row__generic, MAX_S)
ROW(me_min_f32_row__generic, MIN_S)
