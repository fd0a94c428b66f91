/* Public dtype and status helpers. */
#include "modelexport.h"

static const struct { const char *name; size_t size; } dtype_info[ME_DT_COUNT] = {
    [ME_DT_UNDEFINED] = {"undefined", 0}, [ME_DT_F32] = {"float32", 4}, [ME_DT_F16] = {"float16", 2},
    [ME_DT_I64] = {"int64", 8},   [ME_DT_I32] = {"int32", 4},  [ME_DT_I16] = {"int16", 2},
    [ME_DT_I8] = {"int8", 1},     [ME_DT_U64] = {"uint64", 8}, [ME_DT_U32] = {"uint32", 4},
    [ME_DT_U16] = {"uint16", 2},  [ME_DT_U8] = {"uint8", 1},   [ME_DT_BOOL] = {"bool", 1},
    [ME_DT_F64] = {"float64", 8}, [ME_DT_BF16] = {"bfloat16", 2}, [ME_DT_I4] = {"int4", 0},
    [ME_DT_U4] = {"uint4", 0},    [ME_DT_BLOCKQ] = {"blockq", 0},
};

const char *me_dtype_name(me_dtype dt) {
    return (unsigned)dt < ME_DT_COUNT ? dtype_info[dt].name : "invalid";
}

size_t me_dtype_size(me_dtype dt) { return (unsigned)dt < ME_DT_COUNT ? dtype_info[dt].size : 0; }

const char *me_status_str(me_status st) {
    switch (st) {
    case ME_OK: return "ok";
    case ME_ERR_INVALID_ARG: return "invalid argument";
    case ME_ERR_IO: return "I/O error";
    case ME_ERR_FORMAT: return "malformed input";
    case ME_ERR_UNSUPPORTED: return "unsupported";
    case ME_ERR_NOMEM: return "out of memory";
    case ME_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
