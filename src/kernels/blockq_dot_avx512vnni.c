/* Q4_0 / Q8_0 rows against Q8_0 activations with AVX-512 VNNI (VL, 256-bit
 * vpdpbusd; see blockq_dot_x86.h). vpdpbusd multiplies unsigned by signed bytes. */
#if defined(__x86_64__)
#include <immintrin.h>

/* Q4_0: nibbles are already unsigned; the -8 offset is 8 * sum(a), a second vpdpbusd */
static inline __m256i bq_dot_q4_vnni(__m256i q, __m256i a) {
    const __m256i z = _mm256_setzero_si256();
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, q, a), _mm256_dpbusd_epi32(z, _mm256_set1_epi8(8), a));
}
/* Q8_0: |w| times a with w's sign moved onto a */
static inline __m256i bq_dot_q8_vnni(__m256i w, __m256i a) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}
#define BQ_DOT_Q4 bq_dot_q4_vnni
#define BQ_DOT_Q8 bq_dot_q8_vnni
#define BQ_NAME_Q4_0 me_blockq_dot_q4_0__avx512vnni
#define BQ_NAME_Q8_0 me_blockq_dot_q8_0__avx512vnni
#include "blockq_dot_x86.h"
#endif
