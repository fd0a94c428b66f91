/* Protobuf wire-format output buffer (see pb_out.h). */
#include "pb_out.h"

#include <stdlib.h>
#include <string.h>

void pb_out_free(pb_out *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool pb_reserve(pb_out *b, size_t extra) {
    if (b->oom) return false;
    if (extra <= b->cap - b->n) return true;
    size_t want = b->cap ? b->cap : 256;
    while (want - b->n < extra) {
        if (want > SIZE_MAX / 2) { b->oom = true; return false; }
        want *= 2;
    }
    uint8_t *p = realloc(b->p, want);
    if (!p) { b->oom = true; return false; }
    b->p = p;
    b->cap = want;
    return true;
}

void pb_bytes(pb_out *b, const void *data, size_t n) {
    if (!n || !pb_reserve(b, n)) return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void pb_varint(pb_out *b, uint64_t v) {
    uint8_t tmp[10];
    int k = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[k++] = byte | (v ? 0x80 : 0);
    } while (v);
    pb_bytes(b, tmp, (size_t)k);
}

size_t pb_varint_len(uint64_t v) {
    size_t k = 1;
    while (v >= 0x80) { v >>= 7; k++; }
    return k;
}

void pb_tag(pb_out *b, int field, int wire) { pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

void pb_int(pb_out *b, int field, int64_t v) {
    pb_tag(b, field, PB_VARINT);
    pb_varint(b, (uint64_t)v);
}

void pb_float(pb_out *b, int field, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    uint8_t le[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16), (uint8_t)(bits >> 24)};
    pb_tag(b, field, PB_FIXED32);
    pb_bytes(b, le, 4);
}

void pb_lenbytes(pb_out *b, int field, const void *data, size_t n) {
    pb_tag(b, field, PB_LEN);
    pb_varint(b, n);
    pb_bytes(b, data, n);
}

void pb_str(pb_out *b, int field, const char *s) { pb_lenbytes(b, field, s, strlen(s)); }

void pb_msg(pb_out *b, int field, const pb_out *sub) {
    if (sub->oom) b->oom = true;
    pb_lenbytes(b, field, sub->p, sub->n);
}

size_t pb_len_field_size(int field, uint64_t n) {
    return pb_varint_len((uint64_t)field << 3) + pb_varint_len(n) + (size_t)n;
}
