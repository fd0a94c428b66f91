/* Fixed-point requantisation; the definition is in requant.h and
 * docs/quantized-arithmetic.md. */
#include "requant.h"

#include <math.h>

bool me_requant_make(double multiplier, me_requant *r) {
    r->m0 = 0;
    r->shift = 0;
    if (!isfinite(multiplier) || multiplier < 0.0) return false;
    if (multiplier == 0.0) return true;
    if (multiplier < 0x1p-62 || multiplier > 0x1p30) return false;
    int e;
    double f = frexp(multiplier, &e); /* multiplier = f * 2^e, f in [0.5, 1) */
    int64_t m0 = (int64_t)floor(f * 2147483648.0 + 0.5); /* f > 0: half away from zero */
    if (m0 == (int64_t)1 << 31) {
        m0 = (int64_t)1 << 30;
        e++;
    }
    r->m0 = (int32_t)m0;
    r->shift = 31 - e;
    return true;
}

__int128 me_round_shift_i128(__int128 x, int s) {
    if (s <= 0) return x;
    __int128 half = (__int128)1 << (s - 1);
    if (x >= 0) return (x + half) >> s;
    return -((-x + half) >> s);
}

/* Saturate to +-ME_REQUANT_SAT (2^61), far beyond every code range: callers
 * subtract an int32 offset or add a second term in int64 without overflow
 * (fuzzing found `apply(x) - out_offset` overflowing at INT64_MAX). */
static int64_t sat_i128(__int128 v) {
    if (v > ME_REQUANT_SAT) return ME_REQUANT_SAT;
    if (v < -ME_REQUANT_SAT) return -ME_REQUANT_SAT;
    return (int64_t)v;
}

int64_t me_requant_apply(const me_requant *r, int64_t x) {
    if (r->m0 == 0) return 0;
    return sat_i128(me_round_shift_i128((__int128)x * r->m0, r->shift));
}

int64_t me_requant_apply2(const me_requant *ra, int64_t xa, const me_requant *rb, int64_t xb) {
    if (ra->m0 == 0) return me_requant_apply(rb, xb);
    if (rb->m0 == 0) return me_requant_apply(ra, xa);
    int s = ra->shift > rb->shift ? ra->shift : rb->shift;
    int da = s - ra->shift, db = s - rb->shift;
    /* multipliers more than 2^32 apart (never seen in practice): two roundings */
    if (da > 32 || db > 32) return sat_i128((__int128)me_requant_apply(ra, xa) + me_requant_apply(rb, xb));
    /* |x * m0| < 2^94, shifted left by <= 32: the sum stays below 2^127 */
    __int128 sum = (__int128)xa * ra->m0 * ((__int128)1 << da) + (__int128)xb * rb->m0 * ((__int128)1 << db);
    return sat_i128(me_round_shift_i128(sum, s));
}

int64_t me_quantize_value(double x, double scale, int64_t offset, int64_t qmin, int64_t qmax) {
    if (isnan(x)) return me_clamp_i64(-offset, qmin, qmax);
    double v = nearbyint(x / scale); /* default rounding mode: half to even */
    double r = v - (double)offset;
    if (r <= (double)qmin) return qmin;
    if (r >= (double)qmax) return qmax;
    return (int64_t)r;
}

bool me_qdtype_range(me_dtype dt, int64_t *qmin, int64_t *qmax) {
    switch (dt) {
    case ME_DT_U8: *qmin = 0; *qmax = 255; return true;
    case ME_DT_I8: *qmin = -128; *qmax = 127; return true;
    case ME_DT_U16: *qmin = 0; *qmax = 65535; return true;
    case ME_DT_I16: *qmin = -32768; *qmax = 32767; return true;
    case ME_DT_I32: *qmin = INT32_MIN; *qmax = INT32_MAX; return true;
    case ME_DT_I4: *qmin = -8; *qmax = 7; return true;
    case ME_DT_U4: *qmin = 0; *qmax = 15; return true;
    default: return false;
    }
}

int32_t me_qload(const void *data, me_dtype dt, int64_t i) {
    switch (dt) {
    case ME_DT_U8: return ((const uint8_t *)data)[i];
    case ME_DT_I8: return ((const int8_t *)data)[i];
    case ME_DT_U16: return ((const uint16_t *)data)[i];
    case ME_DT_I16: return ((const int16_t *)data)[i];
    case ME_DT_I32: return ((const int32_t *)data)[i];
    case ME_DT_I4: {
        uint8_t b = ((const uint8_t *)data)[i >> 1];
        int v = (i & 1) ? (b >> 4) : (b & 15);
        return v >= 8 ? v - 16 : v;
    }
    case ME_DT_U4: {
        uint8_t b = ((const uint8_t *)data)[i >> 1];
        return (i & 1) ? (b >> 4) : (b & 15);
    }
    default: return 0;
    }
}
