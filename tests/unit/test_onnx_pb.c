/* Protobuf wire reader: varint edge cases, truncation, overlong lengths,
 * groups, packed counts. */
#include <string.h>

#include "check.h"
#include "frontend/onnx/pb.h"

static void test_varint(void) {
    struct { uint8_t b[11]; size_t n; uint64_t v; } ok[] = {
        {{0x00}, 1, 0},
        {{0x01}, 1, 1},
        {{0x7f}, 1, 127},
        {{0x80, 0x01}, 2, 128},
        {{0xac, 0x02}, 2, 300},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 0xffffffffu},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, UINT64_MAX},
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 10, (uint64_t)1 << 63},
        {{0x80, 0x00}, 2, 0}, /* non-minimal but valid */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        size_t n = pb_read_varint(ok[i].b, ok[i].b + ok[i].n, &v);
        CHECK(n == ok[i].n);
        CHECK(v == ok[i].v);
    }
    /* truncated: continuation bit set on the last available byte */
    uint8_t t1[] = {0x80};
    uint64_t v;
    CHECK(pb_read_varint(t1, t1 + 1, &v) == 0);
    uint8_t t2[] = {0xff, 0xff};
    CHECK(pb_read_varint(t2, t2 + 2, &v) == 0);
    CHECK(pb_read_varint(t2, t2, &v) == 0); /* empty */
    /* 11 bytes, and a 10th byte carrying more than bit 63 */
    uint8_t o1[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(pb_read_varint(o1, o1 + 11, &v) == 0);
    uint8_t o2[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    CHECK(pb_read_varint(o2, o2 + 10, &v) == 0);
}

static me_status next_of(const uint8_t *b, size_t n, pb_field *f, me_diag *d) {
    pb_reader r;
    pb_init(&r, b, b, n, d);
    return pb_next(&r, f);
}

static void test_fields(void) {
    me_diag d;
    me_diag_init(&d);
    pb_field f;
    /* field 1 varint 150 */
    uint8_t a[] = {0x08, 0x96, 0x01};
    CHECK(next_of(a, sizeof a, &f, &d) == ME_OK && f.num == 1 && f.wire == PB_VARINT && f.v == 150);
    /* field 2 string "hi" */
    uint8_t b[] = {0x12, 0x02, 'h', 'i'};
    CHECK(next_of(b, sizeof b, &f, &d) == ME_OK && f.num == 2 && f.len == 2 && memcmp(f.data, "hi", 2) == 0);
    /* length one past the end */
    uint8_t c[] = {0x12, 0x03, 'h', 'i'};
    me_diag_clear(&d);
    CHECK(next_of(c, sizeof c, &f, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "byte 0") != NULL);
    /* a huge length (would wrap a pointer) */
    uint8_t e[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'x'};
    CHECK(next_of(e, sizeof e, &f, &d) == ME_ERR_FORMAT);
    /* fixed32 / fixed64 values, little-endian */
    uint8_t g[] = {0x1d, 0x78, 0x56, 0x34, 0x12};
    CHECK(next_of(g, sizeof g, &f, &d) == ME_OK && f.num == 3 && f.wire == PB_I32 && f.v == 0x12345678u);
    uint8_t h[] = {0x21, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(next_of(h, sizeof h, &f, &d) == ME_OK && f.wire == PB_I64 && f.v == 0x0807060504030201ull);
    /* truncated fixed values */
    CHECK(next_of(g, 4, &f, &d) == ME_ERR_FORMAT);
    CHECK(next_of(h, 8, &f, &d) == ME_ERR_FORMAT);
    /* field number 0, wire types 6 and 7 */
    uint8_t z[] = {0x00, 0x01};
    CHECK(next_of(z, sizeof z, &f, &d) == ME_ERR_FORMAT);
    uint8_t w6[] = {0x0e, 0x01};
    CHECK(next_of(w6, sizeof w6, &f, &d) == ME_ERR_FORMAT);
    uint8_t w7[] = {0x0f, 0x01};
    CHECK(next_of(w7, sizeof w7, &f, &d) == ME_ERR_FORMAT);
    /* truncated tag / varint value */
    uint8_t tv[] = {0x08, 0x80};
    CHECK(next_of(tv, sizeof tv, &f, &d) == ME_ERR_FORMAT);
    me_diag_free(&d);
}

static void test_offsets_and_groups(void) {
    me_diag d;
    me_diag_init(&d);
    /* two fields; the second is broken: the error names its offset (3) */
    uint8_t b[] = {0x08, 0x96, 0x01, 0x12, 0x05, 'a'};
    pb_reader r;
    pb_init(&r, b, b, sizeof b, &d);
    pb_field f;
    CHECK(pb_next(&r, &f) == ME_OK && f.offset == 0);
    CHECK(pb_next(&r, &f) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "byte 3") != NULL);
    /* a group (field 4: start 0x23 ... end 0x24) is skipped whole, then field 1 */
    uint8_t gbuf[] = {0x23, 0x08, 0x01, 0x12, 0x01, 'x', 0x24, 0x08, 0x07};
    pb_init(&r, gbuf, gbuf, sizeof gbuf, &d);
    CHECK(pb_next(&r, &f) == ME_OK && f.num == 4);
    CHECK(pb_next(&r, &f) == ME_OK && f.num == 1 && f.v == 7);
    CHECK(pb_done(&r));
    /* unterminated and mismatched groups */
    uint8_t gu[] = {0x23, 0x08, 0x01};
    pb_init(&r, gu, gu, sizeof gu, &d);
    CHECK(pb_next(&r, &f) == ME_ERR_FORMAT);
    uint8_t gm[] = {0x23, 0x2c};
    pb_init(&r, gm, gm, sizeof gm, &d);
    CHECK(pb_next(&r, &f) == ME_ERR_FORMAT);
    /* deeply nested groups stop at the limit instead of recursing without end */
    uint8_t deep[200];
    for (int i = 0; i < 100; i++) deep[i] = 0x23;
    for (int i = 100; i < 200; i++) deep[i] = 0x24;
    pb_init(&r, deep, deep, sizeof deep, &d);
    CHECK(pb_next(&r, &f) == ME_ERR_FORMAT);
    me_diag_free(&d);
}

static void test_packed(void) {
    me_diag d;
    me_diag_init(&d);
    pb_reader r;
    uint8_t b[] = {0x0a, 0x04, 0x01, 0xac, 0x02, 0x05};
    pb_init(&r, b, b, sizeof b, &d);
    pb_field f;
    CHECK(pb_next(&r, &f) == ME_OK);
    size_t cnt = 0;
    CHECK(pb_packed_count(&r, &f, PB_VARINT, &cnt) == ME_OK && cnt == 3);
    CHECK(pb_packed_count(&r, &f, PB_I32, &cnt) == ME_OK && cnt == 1);
    CHECK(pb_packed_count(&r, &f, PB_I64, &cnt) == ME_ERR_FORMAT);
    /* varint cut inside a packed payload */
    uint8_t c[] = {0x0a, 0x02, 0x01, 0x80};
    pb_init(&r, c, c, sizeof c, &d);
    CHECK(pb_next(&r, &f) == ME_OK);
    CHECK(pb_packed_count(&r, &f, PB_VARINT, &cnt) == ME_ERR_FORMAT);
    me_diag_free(&d);
}

int main(void) {
    test_varint();
    test_fields();
    test_offsets_and_groups();
    test_packed();
    return check_exit();
}
