/* CPU feature detection (see cpu.h). */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return 0; /* the OS saves XMM and YMM state */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned isa = 0;
    int avx2 = (b >> 5) & 1;
    if (avx2 && fma) isa |= ME_ISA_AVX2;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    int zmm_os = (xcr0 & 0xe6) == 0xe6; /* opmask, ZMM_Hi256, Hi16_ZMM */
    if ((isa & ME_ISA_AVX2) && zmm_os && f && dq && bw && vl) {
        isa |= ME_ISA_AVX512;
        if (vnni) isa |= ME_ISA_AVX512_VNNI;
    }
    return isa;
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static unsigned detect(void) {
    unsigned long hw = getauxval(AT_HWCAP);
    unsigned isa = 0;
    if (hw & HWCAP_ASIMD) isa |= ME_ISA_NEON;
    if ((isa & ME_ISA_NEON) && (hw & HWCAP_ASIMDDP)) isa |= ME_ISA_DOTPROD;
    return isa;
}
#else
static unsigned detect(void) { return 0; }
#endif

/* 0 = not yet detected; the stored value has bit 31 set. */
static unsigned cached_detected, cached_capped;

unsigned me_cpu_isa_detected(void) {
    unsigned v = __atomic_load_n(&cached_detected, __ATOMIC_ACQUIRE);
    if (!v) {
        v = detect() | 0x80000000u;
        __atomic_store_n(&cached_detected, v, __ATOMIC_RELEASE);
    }
    return v & 0x7fffffffu;
}

/* The ISA bits allowed by an ME_ISA value; everything for an unknown one
 * (a warning is printed once). */
static unsigned cap_mask(const char *s) {
    if (!s || !*s) return ~0u;
    if (strcmp(s, "generic") == 0) return 0;
    if (strcmp(s, "avx2") == 0) return ME_ISA_AVX2;
    if (strcmp(s, "avx512") == 0) return ME_ISA_AVX2 | ME_ISA_AVX512 | ME_ISA_AVX512_VNNI;
    if (strcmp(s, "neon") == 0) return ME_ISA_NEON;
    if (strcmp(s, "dotprod") == 0) return ME_ISA_NEON | ME_ISA_DOTPROD;
    fprintf(stderr, "modelexport: ignoring ME_ISA=%s (expected generic, avx2, avx512, neon or dotprod)\n", s);
    return ~0u;
}

unsigned me_cpu_isa(void) {
    unsigned v = __atomic_load_n(&cached_capped, __ATOMIC_ACQUIRE);
    if (!v) {
        v = (me_cpu_isa_detected() & cap_mask(getenv("ME_ISA"))) | 0x80000000u;
        __atomic_store_n(&cached_capped, v, __ATOMIC_RELEASE);
    }
    return v & 0x7fffffffu;
}

const char *me_isa_str(unsigned mask, char *buf, size_t n) {
    static const struct { unsigned bit; const char *name; } names[] = {
        {ME_ISA_AVX2, "avx2"}, {ME_ISA_AVX512, "avx512"}, {ME_ISA_AVX512_VNNI, "avx512vnni"},
        {ME_ISA_NEON, "neon"}, {ME_ISA_DOTPROD, "dotprod"},
    };
    if (!n) return buf;
    buf[0] = 0;
    size_t len = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(mask & names[i].bit)) continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? " " : "", names[i].name);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
    if (!len) snprintf(buf, n, "generic");
    return buf;
}
