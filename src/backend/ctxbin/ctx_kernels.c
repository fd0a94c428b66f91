/* Kernel choice at compile time for a CPU target, and its check at load.
 * Ops with SIMD variants in the kernel registry (src/runtime/kernel_families.h) get
 * the best variant the target's ISA allows; every other op the reference
 * kernel "ref.<op>". */
#include <stdio.h>
#include <string.h>

#include "../../runtime/kernel_families.h"
#include "../../ops/ops.h"
#include "ctxbin.h"

/* The registry's ISA bits a target provides. */
static unsigned isa_of(const me_cpu_target *t) {
    uint64_t f = t->features;
    unsigned isa = 0;
    const uint64_t avx512 = ME_CPUF_AVX512F | ME_CPUF_AVX512BW | ME_CPUF_AVX512VL | ME_CPUF_AVX512DQ;
    if (t->arch == ME_CPU_ARCH_X86_64) {
        if ((f & (ME_CPUF_AVX2 | ME_CPUF_FMA)) == (ME_CPUF_AVX2 | ME_CPUF_FMA)) {
            isa |= ME_ISA_AVX2;
            if ((f & avx512) == avx512) {
                isa |= ME_ISA_AVX512;
                if (f & ME_CPUF_AVX512VNNI) isa |= ME_ISA_AVX512_VNNI;
            }
        }
    } else if (t->arch == ME_CPU_ARCH_AARCH64) {
        if (f & ME_CPUF_ASIMD) isa |= ME_ISA_NEON;
        if (f & ME_CPUF_DOTPROD) isa |= ME_ISA_DOTPROD;
    }
    return isa;
}

void me_ctx_kernel_choose(const me_graph *g, const me_node *n, const me_cpu_target *target,
                          char id[ME_CTX_KERNEL_ID_MAX]) {
    const me_kernel_family *f = me_kernel_family_of(g, n);
    if (f) {
        unsigned have = isa_of(target);
        for (int i = 0; i < f->count(); i++)
            if ((f->isa_at(i) & have) == f->isa_at(i) && strlen(f->id_at(i)) < ME_CTX_KERNEL_ID_MAX) {
                snprintf(id, ME_CTX_KERNEL_ID_MAX, "%s", f->id_at(i));
                return;
            }
    }
    snprintf(id, ME_CTX_KERNEL_ID_MAX, "ref.%s", me_op_names[n->op]);
}

me_status me_ctx_kernel_check(const me_graph *g, const me_node *n, const char *id, const me_cpu_target *target,
                              me_diag *d) {
    char ref[ME_CTX_KERNEL_ID_MAX];
    snprintf(ref, sizeof ref, "ref.%s", me_op_names[n->op]);
    if (strcmp(id, ref) == 0) return ME_OK;
    const me_kernel_family *f = me_kernel_family_of(g, n);
    if (f && strncmp(id, f->prefix, strlen(f->prefix)) == 0) {
        for (int i = 0; i < f->count(); i++) {
            if (strcmp(f->id_at(i), id) != 0) continue;
            unsigned need = f->isa_at(i), have = isa_of(target);
            if ((need & have) != need)
                return me_fail(d, ME_ERR_FORMAT, "node '%s': kernel '%s' needs more than the target %s provides",
                               n->name, id, target->name);
            return ME_OK;
        }
        return me_fail(d, ME_ERR_UNSUPPORTED,
                       "node '%s': kernel '%s' is not in this build of modelexport (recompile the context binary)",
                       n->name, id);
    }
    return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): '%s' is not a kernel for this op", n->name,
                   me_op_names[n->op], id);
}
