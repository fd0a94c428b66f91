/* Small helpers: overflow-checked arithmetic, min/max. */
#ifndef ME_UTIL_H
#define ME_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ME_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ME_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ME_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Each returns false on overflow and leaves *out unspecified. */
static inline bool me_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool me_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool me_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool me_add_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* Largest element count / byte size we accept for any one tensor (16 GiB). */
#define ME_MAX_TENSOR_BYTES ((int64_t)1 << 34)

static inline size_t me_align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

/* float16 <-> float32 (IEEE binary16), exact conversion with round-to-nearest-even. */
float me_f16_to_f32(uint16_t h);
uint16_t me_f32_to_f16(float f);
float me_bf16_to_f32(uint16_t h);
uint16_t me_f32_to_bf16(float f);

#endif
