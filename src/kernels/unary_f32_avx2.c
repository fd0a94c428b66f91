/* unary_f32 rows for AVX2 + FMA, 8 lanes (see unary_f32_simd.h). */
#if defined(__x86_64__)
#define UNARY_VW 8
#define UNARY_SUFFIX avx2
#include "unary_f32_simd.h"
#endif
