/* CPU feature detection (cpuid / hwcaps) and ISA-level names. */
#include "cpu_target.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

typedef struct feature_name { uint64_t bit; const char *name; } feature_name;

static const feature_name x86_names[] = {
    {ME_CPUF_SSE3, "sse3"}, {ME_CPUF_SSSE3, "ssse3"}, {ME_CPUF_SSE41, "sse4.1"}, {ME_CPUF_SSE42, "sse4.2"},
    {ME_CPUF_POPCNT, "popcnt"}, {ME_CPUF_AVX, "avx"}, {ME_CPUF_AVX2, "avx2"}, {ME_CPUF_FMA, "fma"},
    {ME_CPUF_F16C, "f16c"}, {ME_CPUF_BMI1, "bmi1"}, {ME_CPUF_BMI2, "bmi2"}, {ME_CPUF_LZCNT, "lzcnt"},
    {ME_CPUF_MOVBE, "movbe"}, {ME_CPUF_AVX512F, "avx512f"}, {ME_CPUF_AVX512BW, "avx512bw"},
    {ME_CPUF_AVX512CD, "avx512cd"}, {ME_CPUF_AVX512DQ, "avx512dq"}, {ME_CPUF_AVX512VL, "avx512vl"},
    {ME_CPUF_AVX512VNNI, "avx512vnni"}, {ME_CPUF_AVXVNNI, "avxvnni"}, {0, NULL}};

static const feature_name arm_names[] = {
    {ME_CPUF_ASIMD, "asimd"}, {ME_CPUF_DOTPROD, "dotprod"}, {ME_CPUF_FP16, "fp16"},
    {ME_CPUF_I8MM, "i8mm"}, {ME_CPUF_SVE, "sve"}, {0, NULL}};

#define X86_V2 (ME_CPUF_SSE3 | ME_CPUF_SSSE3 | ME_CPUF_SSE41 | ME_CPUF_SSE42 | ME_CPUF_POPCNT)
#define X86_V3 (X86_V2 | ME_CPUF_AVX | ME_CPUF_AVX2 | ME_CPUF_FMA | ME_CPUF_F16C | ME_CPUF_BMI1 | \
                ME_CPUF_BMI2 | ME_CPUF_LZCNT | ME_CPUF_MOVBE)
#define X86_V4 (X86_V3 | ME_CPUF_AVX512F | ME_CPUF_AVX512BW | ME_CPUF_AVX512CD | ME_CPUF_AVX512DQ | \
                ME_CPUF_AVX512VL)

static const struct { const char *name; uint32_t arch; uint64_t features; } levels[] = {
    {"x86-64", ME_CPU_ARCH_X86_64, 0},
    {"x86-64-v2", ME_CPU_ARCH_X86_64, X86_V2},
    {"x86-64-v3", ME_CPU_ARCH_X86_64, X86_V3},
    {"x86-64-v4", ME_CPU_ARCH_X86_64, X86_V4},
    {"armv8-a", ME_CPU_ARCH_AARCH64, ME_CPUF_ASIMD},
    {"armv8.2-a", ME_CPU_ARCH_AARCH64, ME_CPUF_ASIMD},
};

static const feature_name *names_of(uint32_t arch) {
    return arch == ME_CPU_ARCH_X86_64 ? x86_names : arch == ME_CPU_ARCH_AARCH64 ? arm_names : NULL;
}

uint64_t me_cpu_known_features(uint32_t arch) {
    uint64_t m = 0;
    const feature_name *f = names_of(arch);
    for (; f && f->name; f++) m |= f->bit;
    return m;
}

const char *me_cpu_arch_name(uint32_t arch) {
    return arch == ME_CPU_ARCH_X86_64 ? "x86_64" : arch == ME_CPU_ARCH_AARCH64 ? "aarch64" : "unknown";
}

void me_cpu_feature_list(uint32_t arch, uint64_t features, char *buf, size_t n) {
    if (!n) return;
    buf[0] = 0;
    size_t used = 0;
    for (int b = 0; b < 64; b++) {
        uint64_t bit = 1ull << b;
        if (!(features & bit)) continue;
        const char *nm = NULL;
        char tmp[16];
        for (const feature_name *f = names_of(arch); f && f->name; f++)
            if (f->bit == bit) nm = f->name;
        if (!nm) { snprintf(tmp, sizeof tmp, "bit %d", b); nm = tmp; }
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", nm);
        if (w < 0 || (size_t)w >= n - used) return;
        used += (size_t)w;
    }
}

#if defined(__x86_64__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t host_x86(void) {
    unsigned a, b, c, dd;
    uint64_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &dd)) return 0;
    if (c & (1u << 0)) f |= ME_CPUF_SSE3;
    if (c & (1u << 9)) f |= ME_CPUF_SSSE3;
    if (c & (1u << 19)) f |= ME_CPUF_SSE41;
    if (c & (1u << 20)) f |= ME_CPUF_SSE42;
    if (c & (1u << 23)) f |= ME_CPUF_POPCNT;
    if (c & (1u << 22)) f |= ME_CPUF_MOVBE;
    int osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6, os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    if (os_avx) {
        if (c & (1u << 28)) f |= ME_CPUF_AVX;
        if (c & (1u << 12)) f |= ME_CPUF_FMA;
        if (c & (1u << 29)) f |= ME_CPUF_F16C;
    }
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, dd);
        if (b & (1u << 3)) f |= ME_CPUF_BMI1;
        if (b & (1u << 8)) f |= ME_CPUF_BMI2;
        if (os_avx && (b & (1u << 5))) f |= ME_CPUF_AVX2;
        if (os_avx512) {
            if (b & (1u << 16)) f |= ME_CPUF_AVX512F;
            if (b & (1u << 17)) f |= ME_CPUF_AVX512DQ;
            if (b & (1u << 28)) f |= ME_CPUF_AVX512CD;
            if (b & (1u << 30)) f |= ME_CPUF_AVX512BW;
            if (b & (1u << 31)) f |= ME_CPUF_AVX512VL;
            if (c & (1u << 11)) f |= ME_CPUF_AVX512VNNI;
        }
        unsigned sub_max = a;
        if (sub_max >= 1 && os_avx) {
            __cpuid_count(7, 1, a, b, c, dd);
            if (a & (1u << 4)) f |= ME_CPUF_AVXVNNI;
        }
    }
    if (__get_cpuid(0x80000001u, &a, &b, &c, &dd) && (c & (1u << 5))) f |= ME_CPUF_LZCNT;
    return f;
}
#endif

#if defined(__aarch64__)
static uint64_t host_arm(void) {
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    uint64_t f = 0;
    if (hw & (1ul << 1)) f |= ME_CPUF_ASIMD;    /* HWCAP_ASIMD */
    if (hw & (1ul << 20)) f |= ME_CPUF_DOTPROD; /* HWCAP_ASIMDDP */
    if (hw & (1ul << 10)) f |= ME_CPUF_FP16;    /* HWCAP_ASIMDHP */
    if (hw & (1ul << 22)) f |= ME_CPUF_SVE;     /* HWCAP_SVE */
    if (hw2 & (1ul << 13)) f |= ME_CPUF_I8MM;   /* HWCAP2_I8MM */
    return f;
}
#endif

void me_cpu_host(me_cpu_target *t) {
    memset(t, 0, sizeof *t);
#if defined(__x86_64__)
    t->arch = ME_CPU_ARCH_X86_64;
    t->features = host_x86();
#elif defined(__aarch64__)
    t->arch = ME_CPU_ARCH_AARCH64;
    t->features = host_arm();
#endif
    snprintf(t->name, sizeof t->name, "native");
}

me_status me_cpu_target_parse(const char *name, me_cpu_target *t, me_diag *d) {
    memset(t, 0, sizeof *t);
    if (!name || !*name) name = "native";
    if (strlen(name) >= ME_CPU_TARGET_NAME_MAX)
        return me_fail(d, ME_ERR_INVALID_ARG, "device name '%s' is too long", name);
    size_t base_len = strcspn(name, "+");
    if (base_len == 6 && strncmp(name, "native", 6) == 0) {
        me_cpu_host(t);
        if (!t->arch) return me_fail(d, ME_ERR_UNSUPPORTED, "device 'native': this CPU architecture is not supported");
    } else {
        int found = 0;
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
            if (strlen(levels[i].name) == base_len && strncmp(levels[i].name, name, base_len) == 0) {
                t->arch = levels[i].arch;
                t->features = levels[i].features;
                found = 1;
            }
        if (!found)
            return me_fail(d, ME_ERR_INVALID_ARG,
                           "unknown device '%.*s' (known: native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4, "
                           "armv8-a, armv8.2-a, each optionally with +feature suffixes such as +dotprod)",
                           (int)base_len, name);
    }
    for (const char *p = name + base_len; *p == '+';) {
        const char *s = p + 1;
        size_t len = strcspn(s, "+");
        int found = 0;
        for (const feature_name *f = names_of(t->arch); f && f->name; f++)
            if (strlen(f->name) == len && strncmp(f->name, s, len) == 0) {
                t->features |= f->bit;
                found = 1;
            }
        if (!found) {
            char known[512];
            me_cpu_feature_list(t->arch, me_cpu_known_features(t->arch), known, sizeof known);
            return me_fail(d, ME_ERR_INVALID_ARG, "device '%s': unknown %s feature '+%.*s' (known: %s)", name,
                           me_cpu_arch_name(t->arch), (int)len, s, known);
        }
        p = s + len;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    return ME_OK;
}

me_status me_cpu_check(const me_cpu_target *target, const me_cpu_target *host, const char *what, me_diag *d) {
    if (target->arch != host->arch)
        return me_fail(d, ME_ERR_UNSUPPORTED, "%s was compiled for %s (%s); this CPU is %s", what, target->name,
                       me_cpu_arch_name(target->arch), me_cpu_arch_name(host->arch));
    uint64_t missing = target->features & ~host->features;
    if (missing) {
        char list[512];
        me_cpu_feature_list(target->arch, missing, list, sizeof list);
        return me_fail(d, ME_ERR_UNSUPPORTED,
                       "%s was compiled for %s, which needs CPU features this CPU lacks: %s "
                       "(recompile it with --device native)", what, target->name, list);
    }
    return ME_OK;
}
