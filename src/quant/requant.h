/* Fixed-point requantisation shared by every integer kernel and pass.
 * The definition (docs/quantized-arithmetic.md §3):
 *
 *   A positive real multiplier M (computed in double from float32 scales) is
 *   represented as M ~= m0 * 2^(exp - 31) with m0 in [2^30, 2^31): frexp(M)
 *   gives M = f * 2^exp, f in [0.5, 1); m0 = round_half_away(f * 2^31); if that
 *   rounds up to 2^31, m0 = 2^30 and exp += 1. M == 0 gives m0 = 0.
 *
 *   Applying it to an integer x (int64) is ONE rounding of the exact product:
 *       me_requant_apply(x) = round_half_away(x * m0 / 2^(31 - exp))
 *   computed exactly in 128-bit integers, saturated to +-2^61. (No
 *   double-rounding as in a "doubling high multiply then rounding shift"
 *   pair: this single rounding is what those two steps approximate.)
 *
 *   A code is then y = clamp(me_requant_apply(x) - out_offset, qmin, qmax).
 *
 * Multipliers outside [2^-62, 2^30] are rejected (ME_ERR_UNSUPPORTED) when
 * built; that bounds the shift to [1, 93]. */
#ifndef ME_QUANT_REQUANT_H
#define ME_QUANT_REQUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/diag.h"
#include "../ir/ir.h"

typedef struct me_requant {
    int32_t m0;  /* 0, or in [2^30, 2^31) */
    int shift;   /* right shift 31 - exp, in [1, 93] (0 when m0 == 0) */
} me_requant;

/* Build from a real multiplier; false if M is negative, not finite, or
 * outside [2^-62, 2^30] (M == 0 is accepted). */
bool me_requant_make(double multiplier, me_requant *r);
/* Results saturate to [-ME_REQUANT_SAT, ME_REQUANT_SAT]: beyond any code
 * range, and small enough that `apply(x) - offset` or the sum of two results
 * cannot overflow int64. */
#define ME_REQUANT_SAT ((int64_t)1 << 61)
/* round_half_away(x * m0 / 2^shift), saturated (ME_REQUANT_SAT). */
int64_t me_requant_apply(const me_requant *r, int64_t x);
/* Sum of two requantised terms with ONE rounding:
 * round_half_away(xa * Ma + xb * Mb) where Ma, Mb are the exact represented
 * values. If the two shifts differ by more than 32 (multipliers more than
 * 2^32 apart) the result is apply(ra, xa) + apply(rb, xb) instead. */
int64_t me_requant_apply2(const me_requant *ra, int64_t xa, const me_requant *rb, int64_t xb);

/* Round half away from zero of x / 2^s (s in [0, 126]) on 128-bit integers. */
__int128 me_round_shift_i128(__int128 x, int s);

/* Saturate to [lo, hi]. */
static inline int64_t me_clamp_i64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Quantise one real value as the Quantize op does: round_half_even(x / scale)
 * (both in double) minus offset, clamped to [qmin, qmax]; NaN gives -offset
 * clamped. Used at prepare time only (tables, clamp bounds). */
int64_t me_quantize_value(double x, double scale, int64_t offset, int64_t qmin, int64_t qmax);

/* Code range of a quantised dtype: U8 [0,255], I8 [-128,127], U16, I16, I32,
 * I4 [-8,7], U4 [0,15]. false for other dtypes. */
bool me_qdtype_range(me_dtype dt, int64_t *qmin, int64_t *qmax);

/* Scale and offset of channel c of an encoding (per tensor: c ignored). */
static inline float me_qenc_scale(const me_qenc *q, int64_t c) {
    return q->kind == ME_QENC_AXIS_SCALE_OFFSET ? q->scales[c] : q->scales[0];
}
static inline int32_t me_qenc_offset(const me_qenc *q, int64_t c) {
    if (!q->offsets) return 0;
    return q->kind == ME_QENC_AXIS_SCALE_OFFSET ? q->offsets[c] : q->offsets[0];
}

/* Read element i of integer tensor data of dtype dt (I4/U4 packed two per
 * byte over the flattened array, low nibble = even element). */
int32_t me_qload(const void *data, me_dtype dt, int64_t i);

#endif
