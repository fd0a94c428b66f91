/* Reference float add/multiply rows (see kernels.h). */
#include "kernels.h"

#define ROW(NAME, OP)                                                                                \
    void NAME(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {           \
        if (sa && sb)      for (int64_t i = 0; i < n; i++) o[i] = a[i] OP b[i];                        \
        else if (sa)       { float y = b[0]; for (int64_t i = 0; i < n; i++) o[i] = a[i] OP y; }        \
        else if (sb)       { float x = a[0]; for (int64_t i = 0; i < n; i++) o[i] = x OP b[i]; }        \
        else               { float v = a[0] OP b[0]; for (int64_t i = 0; i < n; i++) o[i] = v; }        \
    }
ROW(me_add_f32_row__generic, +)
ROW(me_mul_f32_row__generic, *)
