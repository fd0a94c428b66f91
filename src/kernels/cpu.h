/* CPU feature detection for kernel dispatch.
 *
 * Features are detected once (cpuid/xgetbv on x86-64, HWCAP on aarch64) and
 * can be capped with the environment variable ME_ISA=generic|avx2|avx512|neon
 * (read on first use), so tests and benchmarks can force a lower level. */
#ifndef ME_KERNELS_CPU_H
#define ME_KERNELS_CPU_H

#include <stddef.h>

/* ISA bits a kernel variant may require; a variant runs when all its bits are
 * present. Each x86 level implies the ones below it. */
enum {
    ME_ISA_AVX2 = 1u << 0,        /* AVX2 + FMA (with OS-enabled YMM state) */
    ME_ISA_AVX512 = 1u << 1,      /* AVX-512 F/BW/VL/DQ (with OS-enabled ZMM state) */
    ME_ISA_AVX512_VNNI = 1u << 2, /* AVX-512 VNNI */
    ME_ISA_NEON = 1u << 3,        /* aarch64 Advanced SIMD */
    ME_ISA_DOTPROD = 1u << 4,     /* aarch64 SDOT/UDOT */
};

/* What this CPU has, ignoring ME_ISA. */
unsigned me_cpu_isa_detected(void);
/* What dispatch may use: detected, capped by ME_ISA. */
unsigned me_cpu_isa(void);
/* True when every bit of `need` is usable. */
static inline int me_cpu_has(unsigned need) { return (me_cpu_isa() & need) == need; }
/* "avx2 avx512" style list of the bits in mask ("generic" when none). */
const char *me_isa_str(unsigned mask, char *buf, size_t n);

#endif
