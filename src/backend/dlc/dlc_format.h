/* On-disk layout of our DLC container (docs/dlc-format.md is the spec; keep
 * the two in step). Shared by the writer and the reader only.
 *
 * All integers are little-endian and are read/written byte by byte through
 * the helpers below, never by casting the file to structs. */
#ifndef ME_DLC_FORMAT_H
#define ME_DLC_FORMAT_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the DLC writer/reader assume a little-endian host (static data is stored as in memory)"
#endif

#define DLC_MAGIC "MEDLC\0\0\0"          /* 8 bytes */
#define DLC_TRAILER_MAGIC "MEDLCEND"     /* 8 bytes */
#define DLC_VERSION 2u            /* highest version written/read */
#define DLC_VERSION_1 1u          /* written when a file has no SUBGRAPHS / LLM section */
#define DLC_ALIGN 64u

/* header, at offset 0 */
#define DLC_HEADER_SIZE 64u
#define DLC_H_MAGIC 0          /* u8[8] */
#define DLC_H_VERSION 8        /* u32 */
#define DLC_H_FLAGS 12         /* u32, must be 0 */
#define DLC_H_FILE_SIZE 16     /* u64 */
#define DLC_H_SECTION_COUNT 24 /* u32 */
#define DLC_H_HEADER_SIZE 28   /* u32, = 64 */
#define DLC_H_TABLE_OFFSET 32  /* u64 */
/* 40..63 reserved, zero */

/* trailer, the last 16 bytes: crc32 of every byte before the trailer */
#define DLC_TRAILER_SIZE 16u
#define DLC_T_CRC 0            /* u32 */
#define DLC_T_RESERVED 4       /* u32, must be 0 */
#define DLC_T_MAGIC 8          /* u8[8] */

/* section table entry */
#define DLC_SECTION_ENTRY_SIZE 32u
#define DLC_S_TYPE 0           /* u32 */
#define DLC_S_COUNT 4          /* u32: records in record sections, else 0 */
#define DLC_S_OFFSET 8         /* u64, 64-aligned, from the start of the file */
#define DLC_S_SIZE 16          /* u64 */
#define DLC_S_RESERVED 24      /* u64, must be 0 */
#define DLC_MAX_SECTIONS 32u

enum {
    DLC_SEC_STRINGS = 1,
    DLC_SEC_GRAPH = 2,
    DLC_SEC_TENSORS = 3,
    DLC_SEC_ENCODINGS = 4,
    DLC_SEC_NODES = 5,
    DLC_SEC_PARAMS = 6,
    DLC_SEC_WORDS = 7,
    DLC_SEC_META = 8,
    DLC_SEC_DATA = 9,
    DLC_SEC_SUBGRAPHS = 10,    /* version 2, optional: named graphs over the shared tensors */
    DLC_SEC_LLM = 11,          /* version 2, optional: LLM description blob (src/llm/llm_desc.c) */
    DLC_SEC_COUNT_ = 12
};
#define DLC_SEC_REQUIRED_END 10  /* types 1..9 are required in every version */

/* SUBGRAPHS record */
#define DLC_SUBGRAPH_SIZE 16u
#define DLC_SG_NAME 0          /* u32 string ref, unique */
#define DLC_SG_N_INPUTS 4      /* u32 */
#define DLC_SG_N_OUTPUTS 8     /* u32 (>= 1) */
#define DLC_SG_IO_WORDS 12     /* u32 WORDS index: n_inputs then n_outputs u32 tensor ids */

/* GRAPH: fixed part, then i32 input ids, then i32 output ids */
#define DLC_GRAPH_FIXED_SIZE 16u
#define DLC_G_NAME 0           /* u32 string ref */
#define DLC_G_N_INPUTS 4       /* u32 */
#define DLC_G_N_OUTPUTS 8      /* u32 */
#define DLC_G_RESERVED 12      /* u32 */

/* TENSORS record */
#define DLC_TENSOR_SIZE 104u
#define DLC_T_NAME 0           /* u32 string ref */
#define DLC_T_DTYPE 4          /* u32 me_dtype */
#define DLC_T_RANK 8           /* u32 */
#define DLC_T_FLAGS 12         /* u32: 1 input, 2 output, 4 static */
#define DLC_T_DIMS 16          /* i64[8], unused entries 0 */
#define DLC_T_DATA_OFFSET 80   /* u64, from the start of DATA */
#define DLC_T_DATA_SIZE 88     /* u64 */
#define DLC_T_ENCODING 96      /* i32 index into ENCODINGS, -1 none */
#define DLC_T_RESERVED2 100    /* u32 */
#define DLC_TF_INPUT 1u
#define DLC_TF_OUTPUT 2u
#define DLC_TF_STATIC 4u

/* ENCODINGS record; its n scales (f32) then n offsets (i32) are WORDS */
#define DLC_ENCODING_SIZE 48u
#define DLC_E_KIND 0           /* u32 me_qenc_kind (1..3) */
#define DLC_E_BITWIDTH 4       /* u32 */
#define DLC_E_SIGNED 8         /* u32 0/1 */
#define DLC_E_AXIS 12          /* i32 */
#define DLC_E_N 16             /* i64 */
#define DLC_E_BLOCK_SIZE 24    /* i64 */
#define DLC_E_BLOCK_TYPE 32    /* i32 */
#define DLC_E_RESERVED 36      /* u32 */
#define DLC_E_WORDS 40         /* u64 first WORDS index */

/* NODES record */
#define DLC_NODE_SIZE 48u
#define DLC_N_NAME 0           /* u32 string ref */
#define DLC_N_OP 4             /* u32 string ref: QNN op type name */
#define DLC_N_PACKAGE 8        /* u32 string ref */
#define DLC_N_SCOPE 12         /* u32 string ref ("" = root) */
#define DLC_N_N_IN 16          /* u32 */
#define DLC_N_N_OUT 20         /* u32 */
#define DLC_N_N_PARAMS 24      /* u32 */
#define DLC_N_N_SOURCES 28     /* u32 */
#define DLC_N_IO_WORDS 32      /* u32 WORDS index: n_in i32 input ids then n_out i32 output ids */
#define DLC_N_SOURCE_WORDS 36  /* u32 WORDS index: n_sources string refs */
#define DLC_N_FIRST_PARAM 40   /* u32 PARAMS index */
#define DLC_N_RESERVED 44      /* u32 */

/* PARAMS record */
#define DLC_PARAM_SIZE 48u
#define DLC_P_NAME 0           /* u32 string ref */
#define DLC_P_KIND 4           /* u32 0 scalar, 1 tensor */
#define DLC_P_DTYPE 8          /* u32 me_dtype */
#define DLC_P_RANK 12          /* u32: 0 scalar, 1 or 2 tensor */
#define DLC_P_DIMS 16          /* i64[2] */
#define DLC_P_VALUE 32         /* scalar: i64 (ints, bool) or f64 bits (F32); tensor: u64 WORDS index */
#define DLC_P_COUNT 40         /* i64 element count (tensor), 0 for scalars */
#define DLC_MAX_PARAM_COUNT (1 << 20)

/* META */
#define DLC_META_SIZE 48u
#define DLC_M_SOURCE_HASH 0    /* u8[32] SHA-256 of the source model */
#define DLC_M_SOURCE_PATH 32   /* u32 string ref */
#define DLC_M_COMPILE_OPTIONS 36 /* u32 string ref */
#define DLC_M_PRODUCER 40      /* u32 string ref */
#define DLC_M_RESERVED 44      /* u32 */

static inline uint32_t dlc_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t dlc_get_u64(const uint8_t *p) {
    return (uint64_t)dlc_get_u32(p) | (uint64_t)dlc_get_u32(p + 4) << 32;
}
static inline int32_t dlc_get_i32(const uint8_t *p) { return (int32_t)dlc_get_u32(p); }
static inline int64_t dlc_get_i64(const uint8_t *p) { return (int64_t)dlc_get_u64(p); }
static inline void dlc_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void dlc_put_u64(uint8_t *p, uint64_t v) {
    dlc_put_u32(p, (uint32_t)v);
    dlc_put_u32(p + 4, (uint32_t)(v >> 32));
}

#endif
