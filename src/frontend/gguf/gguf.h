/* GGUF reader: a validated view of a mapped GGUF file (../shared/reference/gguf.md §1-3).
 * Nothing is copied: strings, arrays and tensor data point into the mapping.
 * Every count, length, offset, dimension and product is checked against the
 * file size and for overflow; tensors must lie inside the data section and
 * must not overlap. A bad file gives ME_ERR_FORMAT with a reason. */
#ifndef ME_GGUF_H
#define ME_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "../../core/arena.h"
#include "../../core/diag.h"
#include "../../core/mapfile.h"

typedef enum gguf_vtype {
    GGUF_T_UINT8 = 0, GGUF_T_INT8 = 1, GGUF_T_UINT16 = 2, GGUF_T_INT16 = 3, GGUF_T_UINT32 = 4,
    GGUF_T_INT32 = 5, GGUF_T_FLOAT32 = 6, GGUF_T_BOOL = 7, GGUF_T_STRING = 8, GGUF_T_ARRAY = 9,
    GGUF_T_UINT64 = 10, GGUF_T_INT64 = 11, GGUF_T_FLOAT64 = 12, GGUF_T_COUNT
} gguf_vtype;

typedef struct gguf_str { const char *p; uint64_t n; } gguf_str; /* not NUL-terminated */

typedef struct gguf_kv {
    gguf_str key;
    gguf_vtype type;
    /* scalars (any integer type widened; float types in f) */
    union { uint64_t u; int64_t i; double f; bool b; } v;
    gguf_str s;                 /* STRING */
    /* ARRAY */
    gguf_vtype arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;    /* raw elements in the file (non-string arrays) */
    gguf_str *arr_strs;         /* string arrays: arr_n views (arena) */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[4];              /* ggml order: ne[0] is the fastest-varying (row length) */
    uint32_t type;              /* ggml type id (gguf.md §3) */
    uint64_t offset;            /* relative to the data section */
    const uint8_t *data;        /* inside the mapping */
    uint64_t nbytes;
} gguf_tensor;

typedef struct gguf_file {
    me_mapfile map;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kvs;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
} gguf_file;

me_status gguf_open(const char *path, me_arena *arena, gguf_file *out, me_diag *d);
void gguf_close(gguf_file *f);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
/* Typed getters: accept any integer/float width; false if absent or of a wrong kind. */
bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
bool gguf_get_f64(const gguf_file *f, const char *key, double *out);
bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
bool gguf_str_eq(gguf_str s, const char *c);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);

/* Array elements (kv of type ARRAY): element i widened; false if out of range or of a wrong kind
 * (u64: unsigned or non-negative signed ints; i64: any int that fits; f64: any int or float). */
bool gguf_arr_u64(const gguf_kv *kv, uint64_t i, uint64_t *out);
bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out);
bool gguf_arr_f64(const gguf_kv *kv, uint64_t i, double *out);
bool gguf_arr_str(const gguf_kv *kv, uint64_t i, gguf_str *out);

/* ggml type table (gguf.md §3): name ("Q4_K") or NULL for an unknown/removed id;
 * block size (weights) and bytes per block. */
const char *gguf_type_name(uint32_t type);
bool gguf_type_size(uint32_t type, int *block_size, int *block_bytes);
const char *gguf_vtype_name(uint32_t vtype); /* "u32", "string", ... */

#endif
