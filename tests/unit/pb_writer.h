/* A tiny protobuf writer for tests: builds ONNX models byte by byte, so the
 * importer is tested without any ONNX tooling. Field numbers are onnx.proto's. */
#ifndef ME_TEST_PB_WRITER_H
#define ME_TEST_PB_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pbw {
    uint8_t *d;
    size_t n, cap;
} pbw;

static inline void pbw_raw(pbw *w, const void *p, size_t len) {
    if (w->n + len > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        while (cap < w->n + len) cap *= 2;
        w->d = realloc(w->d, cap);
        if (!w->d) abort(); /* test helper: out of memory ends the test */
        w->cap = cap;
    }
    if (len) memcpy(w->d + w->n, p, len);
    w->n += len;
}
static inline void pbw_varint(pbw *w, uint64_t v) {
    uint8_t b[10];
    int k = 0;
    do {
        b[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[k] |= 0x80;
        k++;
    } while (v);
    pbw_raw(w, b, (size_t)k);
}
static inline void pbw_tag(pbw *w, uint32_t field, int wire) { pbw_varint(w, (uint64_t)field << 3 | (uint64_t)wire); }
static inline void pbw_uint(pbw *w, uint32_t field, uint64_t v) { pbw_tag(w, field, 0); pbw_varint(w, v); }
static inline void pbw_int(pbw *w, uint32_t field, int64_t v) { pbw_uint(w, field, (uint64_t)v); }
static inline void pbw_bytes(pbw *w, uint32_t field, const void *p, size_t len) {
    pbw_tag(w, field, 2);
    pbw_varint(w, len);
    pbw_raw(w, p, len);
}
static inline void pbw_str(pbw *w, uint32_t field, const char *s) { pbw_bytes(w, field, s, strlen(s)); }
static inline void pbw_msg(pbw *w, uint32_t field, const pbw *sub) { pbw_bytes(w, field, sub->d, sub->n); }
static inline void pbw_f32(pbw *w, uint32_t field, float f) {
    uint8_t b[4];
    memcpy(b, &f, 4); /* little-endian host */
    pbw_tag(w, field, 5);
    pbw_raw(w, b, 4);
}
static inline void pbw_free(pbw *w) { free(w->d); memset(w, 0, sizeof *w); }
/* Moves `sub` into field `field` of w and frees it. */
static inline void pbw_take(pbw *w, uint32_t field, pbw *sub) { pbw_msg(w, field, sub); pbw_free(sub); }

/* ---- ONNX messages ---- */
enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_INT32 = 6, T_INT64 = 7, T_BOOL = 9, T_FLOAT16 = 10, T_DOUBLE = 11 };

/* ValueInfoProto with a tensor type; dims < 0 become dim_param `sym` (or unknown when sym is NULL).
 * rank < 0: no shape. */
static inline void onnx_w_value_info(pbw *g, uint32_t field, const char *name, int elem, int rank, const int64_t *dims,
                                     const char *sym) {
    pbw vi = {0}, type = {0}, tt = {0}, shape = {0};
    pbw_uint(&tt, 1, (uint64_t)elem);
    if (rank >= 0) {
        for (int i = 0; i < rank; i++) {
            pbw dim = {0};
            if (dims[i] >= 0) pbw_int(&dim, 1, dims[i]);
            else if (sym) pbw_str(&dim, 2, sym);
            pbw_take(&shape, 1, &dim);
        }
        pbw_take(&tt, 2, &shape);
    }
    pbw_take(&type, 1, &tt);
    pbw_str(&vi, 1, name);
    pbw_take(&vi, 2, &type);
    pbw_take(g, field, &vi);
}

/* TensorProto with raw_data. */
static inline void onnx_w_tensor_raw(pbw *out, uint32_t field, const char *name, int dtype, int rank, const int64_t *dims,
                                     const void *data, size_t len) {
    pbw t = {0};
    for (int i = 0; i < rank; i++) pbw_int(&t, 1, dims[i]);
    pbw_uint(&t, 2, (uint64_t)dtype);
    pbw_str(&t, 8, name);
    pbw_bytes(&t, 9, data, len);
    pbw_take(out, field, &t);
}

/* Attribute builders (append one AttributeProto to a node under construction). */
static inline void onnx_w_attr_int(pbw *node, const char *name, int64_t v) {
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_int(&a, 3, v);
    pbw_uint(&a, 20, 2);
    pbw_take(node, 5, &a);
}
static inline void onnx_w_attr_float(pbw *node, const char *name, float v) {
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_f32(&a, 2, v);
    pbw_uint(&a, 20, 1);
    pbw_take(node, 5, &a);
}
static inline void onnx_w_attr_str(pbw *node, const char *name, const char *v) {
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_str(&a, 4, v);
    pbw_uint(&a, 20, 3);
    pbw_take(node, 5, &a);
}
/* INTS, packed (packed != 0) or one field per element. */
static inline void onnx_w_attr_ints(pbw *node, const char *name, const int64_t *v, int n, int packed) {
    pbw a = {0};
    pbw_str(&a, 1, name);
    if (packed) {
        pbw p = {0};
        for (int i = 0; i < n; i++) pbw_varint(&p, (uint64_t)v[i]);
        pbw_take(&a, 8, &p);
    } else {
        for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
    }
    pbw_uint(&a, 20, 7);
    pbw_take(node, 5, &a);
}
/* A TENSOR attribute from a prepared TensorProto body. */
static inline void onnx_w_attr_tensor(pbw *node, const char *name, pbw *tensor_body) {
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_take(&a, 5, tensor_body);
    pbw_uint(&a, 20, 4);
    pbw_take(node, 5, &a);
}

/* Starts a NodeProto: inputs/outputs are NULL-terminated lists ("" = omitted). */
static inline void onnx_w_node_begin(pbw *node, const char *op, const char *name, const char *const *ins,
                                     const char *const *outs) {
    memset(node, 0, sizeof *node);
    for (int i = 0; ins && ins[i]; i++) pbw_str(node, 1, ins[i]);
    for (int i = 0; outs && outs[i]; i++) pbw_str(node, 2, outs[i]);
    if (name) pbw_str(node, 3, name);
    pbw_str(node, 4, op);
}
static inline void onnx_w_node_domain(pbw *node, const char *domain) { pbw_str(node, 7, domain); }
static inline void onnx_w_node_meta(pbw *node, const char *key, const char *value) {
    pbw e = {0};
    pbw_str(&e, 1, key);
    pbw_str(&e, 2, value);
    pbw_take(node, 9, &e);
}

/* ModelProto around a finished GraphProto body. */
static inline void onnx_w_model(pbw *model, pbw *graph, int64_t opset) {
    memset(model, 0, sizeof *model);
    pbw_int(model, 1, 8);
    pbw_str(model, 2, "pb_writer");
    pbw op = {0};
    pbw_str(&op, 1, "");
    pbw_int(&op, 2, opset);
    pbw_take(model, 8, &op);
    pbw_take(model, 7, graph);
}

/* Writes w to path; returns 0 on success. */
static inline int pbw_write_file(const pbw *w, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = fwrite(w->d, 1, w->n, f);
    return fclose(f) == 0 && k == w->n ? 0 : -1;
}

#endif
