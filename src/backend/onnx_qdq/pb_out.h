/* A growable byte buffer with protobuf wire-format writers (varints,
 * length-delimited fields, fixed32 floats), for building ONNX messages.
 * Allocation failure is sticky: `oom` is set and later writes are dropped,
 * so callers check once at the end. */
#ifndef ME_ONNX_QDQ_PB_OUT_H
#define ME_ONNX_QDQ_PB_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pb_out {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} pb_out;

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

void pb_out_free(pb_out *b);
void pb_bytes(pb_out *b, const void *data, size_t n);
void pb_varint(pb_out *b, uint64_t v);
size_t pb_varint_len(uint64_t v);
void pb_tag(pb_out *b, int field, int wire);
/* Field writers (the tag is included). Negative ints are written as
 * 64-bit two's complement varints, as protobuf's int64/int32 do. */
void pb_int(pb_out *b, int field, int64_t v);
void pb_float(pb_out *b, int field, float v);
void pb_str(pb_out *b, int field, const char *s);
void pb_lenbytes(pb_out *b, int field, const void *data, size_t n);
void pb_msg(pb_out *b, int field, const pb_out *sub);
/* Bytes a length-delimited field of `n` payload bytes takes with its tag. */
size_t pb_len_field_size(int field, uint64_t n);

#endif
