/* Protobuf wire-format reader.
 *
 * Hand-written rather than protobuf-c: initializer raw_data and external data
 * must stay in place inside the mapped file (a 100 MB model must not cost
 * 100 MB of heap), and every length must be checked against the bytes that
 * remain, because model files are untrusted input. */
#include "pb.h"

#define PB_MAX_GROUP_DEPTH 32

void pb_init(pb_reader *r, const uint8_t *base, const uint8_t *p, size_t len, me_diag *d) {
    r->base = base;
    r->p = p;
    r->end = p + len;
    r->d = d;
}

void pb_sub(const pb_reader *parent, const pb_field *f, pb_reader *out) {
    pb_init(out, parent->base, f->data, f->len, parent->d);
}

bool pb_done(const pb_reader *r) { return r->p >= r->end; }

size_t pb_offset(const pb_reader *r) { return (size_t)(r->p - r->base); }

size_t pb_read_varint(const uint8_t *p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (size_t i = 0; i < 10; i++) {
        if (p + i >= end) return 0;
        uint8_t b = p[i];
        if (i == 9 && b > 1) return 0; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

static me_status bad(const pb_reader *r, size_t off, const char *what) {
    return me_fail(r->d, ME_ERR_FORMAT, "malformed protobuf at byte %zu: %s", off, what);
}

/* Skips the body of a group whose start tag has been read (field `num`). */
static me_status skip_group(pb_reader *r, uint32_t num, int depth) {
    if (depth > PB_MAX_GROUP_DEPTH) return bad(r, pb_offset(r), "groups nested too deeply");
    for (;;) {
        if (pb_done(r)) return bad(r, pb_offset(r), "unterminated group");
        size_t off = pb_offset(r);
        uint64_t tag;
        size_t n = pb_read_varint(r->p, r->end, &tag);
        if (!n) return bad(r, off, "truncated or overlong tag");
        r->p += n;
        uint32_t fnum = (uint32_t)(tag >> 3);
        int wire = (int)(tag & 7);
        if (tag >> 3 > 0x1fffffff || fnum == 0) return bad(r, off, "invalid field number");
        uint64_t v;
        switch (wire) {
        case PB_VARINT:
            n = pb_read_varint(r->p, r->end, &v);
            if (!n) return bad(r, pb_offset(r), "truncated varint");
            r->p += n;
            break;
        case PB_I64:
            if (r->end - r->p < 8) return bad(r, pb_offset(r), "truncated 64-bit value");
            r->p += 8;
            break;
        case PB_I32:
            if (r->end - r->p < 4) return bad(r, pb_offset(r), "truncated 32-bit value");
            r->p += 4;
            break;
        case PB_LEN:
            n = pb_read_varint(r->p, r->end, &v);
            if (!n) return bad(r, pb_offset(r), "truncated length");
            r->p += n;
            if (v > (uint64_t)(r->end - r->p)) return bad(r, off, "length exceeds the remaining bytes");
            r->p += v;
            break;
        case PB_SGROUP: {
            me_status st = skip_group(r, fnum, depth + 1);
            if (st != ME_OK) return st;
            break;
        }
        case PB_EGROUP:
            if (fnum != num) return bad(r, off, "mismatched end of group");
            return ME_OK;
        default: return bad(r, off, "invalid wire type");
        }
    }
}

me_status pb_next(pb_reader *r, pb_field *f) {
    size_t off = pb_offset(r);
    uint64_t tag;
    size_t n = pb_read_varint(r->p, r->end, &tag);
    if (!n) return bad(r, off, "truncated or overlong tag");
    if (tag >> 3 > 0x1fffffff || (tag >> 3) == 0) return bad(r, off, "invalid field number");
    r->p += n;
    f->num = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->offset = off;
    f->v = 0;
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case PB_VARINT:
        n = pb_read_varint(r->p, r->end, &f->v);
        if (!n) return bad(r, pb_offset(r), "truncated or overlong varint");
        r->p += n;
        return ME_OK;
    case PB_I64: {
        if (r->end - r->p < 8) return bad(r, pb_offset(r), "truncated 64-bit value");
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | r->p[i];
        f->v = v;
        r->p += 8;
        return ME_OK;
    }
    case PB_I32: {
        if (r->end - r->p < 4) return bad(r, pb_offset(r), "truncated 32-bit value");
        f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 | (uint64_t)r->p[3] << 24;
        r->p += 4;
        return ME_OK;
    }
    case PB_LEN: {
        uint64_t len;
        n = pb_read_varint(r->p, r->end, &len);
        if (!n) return bad(r, pb_offset(r), "truncated or overlong length");
        r->p += n;
        if (len > (uint64_t)(r->end - r->p)) return bad(r, off, "length exceeds the remaining bytes");
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return ME_OK;
    }
    case PB_SGROUP: return skip_group(r, f->num, 1);
    case PB_EGROUP: return bad(r, off, "end of group without a start");
    default: return bad(r, off, "invalid wire type");
    }
}

me_status pb_packed_count(const pb_reader *r, const pb_field *f, int elem_wire, size_t *count) {
    if (elem_wire == PB_I32 || elem_wire == PB_I64) {
        size_t es = elem_wire == PB_I32 ? 4 : 8;
        if (f->len % es) return bad(r, f->offset, "packed fixed-size field is not a whole number of elements");
        *count = f->len / es;
        return ME_OK;
    }
    size_t cnt = 0;
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v;
        size_t n = pb_read_varint(p, end, &v);
        if (!n) return bad(r, (size_t)(p - r->base), "truncated varint in a packed field");
        p += n;
        cnt++;
    }
    *count = cnt;
    return ME_OK;
}
