/* Q4_0 / Q8_0 rows against Q8_0 activations for AVX2 (see blockq_dot_x86.h). */
#if defined(__x86_64__)
#include <immintrin.h>

/* Q4_0: unsigned nibbles times int8 (maddubs), minus 8 * the activations' pair sums */
static inline __m256i bq_dot_q4_avx2(__m256i q, __m256i a) {
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(_mm256_set1_epi8(8), a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
/* Q8_0: maddubs needs unsigned x signed: |w| times a with w's sign moved onto a */
static inline __m256i bq_dot_q8_avx2(__m256i w, __m256i a) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
#define BQ_DOT_Q4 bq_dot_q4_avx2
#define BQ_DOT_Q8 bq_dot_q8_avx2
#define BQ_NAME_Q4_0 me_blockq_dot_q4_0__avx2
#define BQ_NAME_Q8_0 me_blockq_dot_q8_0__avx2
#include "blockq_dot_x86.h"
#endif
