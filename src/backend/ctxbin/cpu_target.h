/* CPU targets a context binary is specialised for: an architecture plus a
 * set of ISA features, named like compilers name them ("x86-64-v3",
 * "x86-64-v4", "armv8.2-a+dotprod", "native"). The feature bits are stored in
 * context binaries, so their numbers never change. */
#ifndef ME_CPU_TARGET_H
#define ME_CPU_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/diag.h"

enum { ME_CPU_ARCH_X86_64 = 1, ME_CPU_ARCH_AARCH64 = 2 };

/* x86-64 features (bits 0..31) */
#define ME_CPUF_SSE3        (1ull << 0)
#define ME_CPUF_SSSE3       (1ull << 1)
#define ME_CPUF_SSE41       (1ull << 2)
#define ME_CPUF_SSE42       (1ull << 3)
#define ME_CPUF_POPCNT      (1ull << 4)
#define ME_CPUF_AVX         (1ull << 5)
#define ME_CPUF_AVX2        (1ull << 6)
#define ME_CPUF_FMA         (1ull << 7)
#define ME_CPUF_F16C        (1ull << 8)
#define ME_CPUF_BMI1        (1ull << 9)
#define ME_CPUF_BMI2        (1ull << 10)
#define ME_CPUF_LZCNT       (1ull << 11)
#define ME_CPUF_MOVBE       (1ull << 12)
#define ME_CPUF_AVX512F     (1ull << 13)
#define ME_CPUF_AVX512BW    (1ull << 14)
#define ME_CPUF_AVX512CD    (1ull << 15)
#define ME_CPUF_AVX512DQ    (1ull << 16)
#define ME_CPUF_AVX512VL    (1ull << 17)
#define ME_CPUF_AVX512VNNI  (1ull << 18)
#define ME_CPUF_AVXVNNI     (1ull << 19)
/* AArch64 features (bits 32..47) */
#define ME_CPUF_ASIMD       (1ull << 32)
#define ME_CPUF_DOTPROD     (1ull << 33)
#define ME_CPUF_FP16        (1ull << 34)
#define ME_CPUF_I8MM        (1ull << 35)
#define ME_CPUF_SVE         (1ull << 36)

#define ME_CPU_TARGET_NAME_MAX 48

typedef struct me_cpu_target {
    uint32_t arch;              /* ME_CPU_ARCH_* */
    uint64_t features;          /* ME_CPUF_* */
    char name[ME_CPU_TARGET_NAME_MAX]; /* as asked, e.g. "x86-64-v3" or "native" */
} me_cpu_target;

/* The CPU this process runs on. */
void me_cpu_host(me_cpu_target *t);

/* Parse a device name: "native", "x86-64", "x86-64-v2", "x86-64-v3",
 * "x86-64-v4", "armv8-a", "armv8.2-a", each optionally followed by
 * "+feature" suffixes (e.g. "+dotprod", "+avx512vnni"). */
me_status me_cpu_target_parse(const char *name, me_cpu_target *t, me_diag *d);

/* Known feature bits of an architecture (others are rejected on load). */
uint64_t me_cpu_known_features(uint32_t arch);

const char *me_cpu_arch_name(uint32_t arch);

/* Writes the names of the bits in `features` as "avx512f, avx512bw" into buf
 * (unknown bits as "bit N"). */
void me_cpu_feature_list(uint32_t arch, uint64_t features, char *buf, size_t n);

/* ME_OK if a CPU `host` can run code made for `target`; otherwise
 * ME_ERR_UNSUPPORTED with a message naming what is missing. `what` names the
 * artifact in the message. */
me_status me_cpu_check(const me_cpu_target *target, const me_cpu_target *host, const char *what, me_diag *d);

#endif
