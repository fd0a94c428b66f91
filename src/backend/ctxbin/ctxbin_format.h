/* On-disk layout of our context binary (docs/context-binary-format.md is the
 * spec; keep the two in step). Integers are little-endian and go through the
 * DLC byte helpers. */
#ifndef ME_CTXBIN_FORMAT_H
#define ME_CTXBIN_FORMAT_H

#include "../dlc/dlc_format.h"

#define CTX_MAGIC "MECTXBIN"            /* 8 bytes */
#define CTX_TRAILER_MAGIC "MECTXEND"    /* 8 bytes */
#define CTX_VERSION 2u            /* 2: one XXH3-64 checksum over the whole file */
#define CTX_ALIGN 64u

#define CTX_HEADER_SIZE 64u
#define CTX_H_MAGIC 0           /* u8[8] */
#define CTX_H_VERSION 8         /* u32 */
#define CTX_H_FLAGS 12          /* u32, 0 */
#define CTX_H_FILE_SIZE 16      /* u64 */
#define CTX_H_SECTION_COUNT 24  /* u32, = CTX_SEC_COUNT_ - 1 */
#define CTX_H_HEADER_SIZE 28    /* u32, 64 */
#define CTX_H_TABLE_OFFSET 32   /* u64, 64 */
#define CTX_H_GRAPH_OFFSET 40   /* u64: the GRAPH section */
#define CTX_H_GRAPH_SIZE 48     /* u64 */
/* 56..63 reserved, zero */

#define CTX_TRAILER_SIZE 16u
#define CTX_T_CHECKSUM 0        /* u64: XXH3-64 (seed 0) of every byte before the trailer */
#define CTX_T_MAGIC 8

/* section table entries: same 32-byte layout as the DLC's (DLC_S_*) */
enum {
    CTX_SEC_TARGET = 1,
    CTX_SEC_PLAN = 2,
    CTX_SEC_SCHEDULE = 3,
    CTX_SEC_LIFETIMES = 4,
    CTX_SEC_KERNELS = 5,
    CTX_SEC_PACKED = 6,
    CTX_SEC_GRAPH = 7,
    CTX_SEC_COUNT_ = 8
};

/* TARGET (exactly 64 bytes) */
#define CTX_TARGET_SIZE 64u
#define CTX_TG_ARCH 0           /* u32 ME_CPU_ARCH_* */
#define CTX_TG_RESERVED 4       /* u32 */
#define CTX_TG_FEATURES 8       /* u64 ME_CPUF_* */
#define CTX_TG_NAME 16          /* char[48], NUL-terminated, NUL-padded */

/* PLAN (exactly 64 bytes) */
#define CTX_PLAN_SIZE 64u
#define CTX_P_ARENA 0           /* u64 activation buffer bytes */
#define CTX_P_SCRATCH 8         /* u64 scratch bytes */
#define CTX_P_N_STEPS 16        /* u32 */
#define CTX_P_N_TENSORS 20      /* u32 */
#define CTX_P_N_NODES 24        /* u32 */
/* 28..63 reserved, zero */

/* SCHEDULE: u32 node id per step */
#define CTX_STEP_SIZE 4u

/* LIFETIMES: one record per tensor */
#define CTX_LIFETIME_SIZE 16u
#define CTX_L_FIRST 0           /* i32 first step, -1 for constants */
#define CTX_L_LAST 4            /* i32 last step, -1 for constants */
#define CTX_L_OFFSET 8          /* u64 offset in the buffer; all ones for constants */
#define CTX_OFFSET_NONE UINT64_MAX

/* KERNELS: one record per node */
#define CTX_KERNEL_SIZE 64u
#define CTX_K_ID 0              /* char[40], NUL-terminated, NUL-padded */
#define CTX_K_ID_MAX 40u
#define CTX_K_FLAGS 40          /* u32, 0 */
#define CTX_K_RESERVED 44       /* u32, 0 */
#define CTX_K_PACKED_OFFSET 48  /* u64 inside PACKED, 64-aligned */
#define CTX_K_PACKED_SIZE 56    /* u64, 0 = weights used as stored in GRAPH */

#endif
