/* unary_f32 rows for aarch64 NEON, 4 lanes (see unary_f32_simd.h). */
#if defined(__aarch64__)
#define UNARY_VW 4
#define UNARY_SUFFIX neon
#include "unary_f32_simd.h"
#endif
