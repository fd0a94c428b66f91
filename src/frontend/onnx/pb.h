/* Minimal protobuf wire-format reader over a byte range (no allocation).
 * See pb.c for why this is hand-written. */
#ifndef ME_ONNX_PB_H
#define ME_ONNX_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/diag.h"

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_SGROUP = 3, PB_EGROUP = 4, PB_I32 = 5 };

/* A cursor over one message body. `base` is the start of the whole file so
 * errors can report absolute byte offsets. */
typedef struct pb_reader {
    const uint8_t *base;
    const uint8_t *p, *end;
    me_diag *d;
} pb_reader;

/* One decoded field: for PB_LEN, `data`/`len` is the payload (in place). */
typedef struct pb_field {
    uint32_t num;
    int wire;
    uint64_t v;          /* VARINT, I64, I32 value (raw bits) */
    const uint8_t *data; /* LEN payload */
    size_t len;
    size_t offset;       /* absolute offset of the field's tag */
} pb_field;

void pb_init(pb_reader *r, const uint8_t *base, const uint8_t *p, size_t len, me_diag *d);
/* A reader over a LEN field's payload. */
void pb_sub(const pb_reader *parent, const pb_field *f, pb_reader *out);
bool pb_done(const pb_reader *r);
size_t pb_offset(const pb_reader *r);

/* Reads the next field; ME_ERR_FORMAT (with the byte offset) on malformed input.
 * Groups (deprecated) are skipped as a whole. */
me_status pb_next(pb_reader *r, pb_field *f);

/* Raw varint decoding: returns bytes consumed, 0 if truncated or longer than 10 bytes. */
size_t pb_read_varint(const uint8_t *p, const uint8_t *end, uint64_t *out);

/* Number of elements in a packed repeated field's payload (elements of wire
 * type PB_VARINT, PB_I32 or PB_I64); ME_ERR_FORMAT when the payload is not a
 * whole number of valid elements. */
me_status pb_packed_count(const pb_reader *r, const pb_field *f, int elem_wire, size_t *count);

#endif
