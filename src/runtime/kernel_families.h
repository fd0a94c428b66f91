/* Which kernel registry family runs a node, as one table: the runtime
 * (variant choice, me_exec_fix_kernel) and the context binary (choice at
 * compile time, check at load) both ask here, so a new family is added in
 * one place (kernel_families.c). */
#ifndef ME_RUNTIME_KERNEL_FAMILIES_H
#define ME_RUNTIME_KERNEL_FAMILIES_H

#include "../ir/ir.h"
#include "../kernels/kernels.h"

typedef struct me_kernel_family {
    const char *prefix;                 /* every id of the family starts with it, e.g. "gemm_f32__" */
    int (*count)(void);
    const char *(*id_at)(int i);
    unsigned (*isa_at)(int i);          /* ME_ISA_* bits the variant needs */
    const void *(*row_at)(int i);       /* the registry row, what me_kernel_ctx.variant points to */
    const void *(*select)(void);        /* this CPU's choice (first supported row, under ME_ISA) */
} me_kernel_family;

/* The family that executes node n with the dtypes and encodings it carries
 * now; NULL when the op runs only its reference kernel. */
const me_kernel_family *me_kernel_family_of(const me_graph *g, const me_node *n);

/* Row `id` of family f (NULL if absent); *isa gets its ISA bits. */
const void *me_kernel_family_find(const me_kernel_family *f, const char *id, unsigned *isa);

#endif
