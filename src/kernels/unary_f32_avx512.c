/* unary_f32 rows for AVX-512, 16 lanes (see unary_f32_simd.h). */
#if defined(__x86_64__)
#define UNARY_VW 16
#define UNARY_SUFFIX avx512
#define UNARY_SCALEF 1
#include <immintrin.h>
#include "unary_f32_simd.h"
#endif
