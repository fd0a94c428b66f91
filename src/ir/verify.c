/* The IR verifier: runs after every pass in the tests. It reports every
 * problem it finds, not only the first. */
#include <stdlib.h>
#include <string.h>

#include "../ops/ops.h"
#include "../quant/quant_kernels.h"
#include "ir.h"

static void check_params(const me_node *n, me_diag *d, int *bad) {
    const me_opdef *def = me_opdefs[n->op];
    if (!def->params) return;
    for (const me_param_schema *s = def->params; s->name; s++) {
        const me_param *p = me_node_param(n, s->name);
        if (!p) {
            if (s->required) { me_diag_add(d, "verify: node '%s' (%s): required param '%s' is missing", n->name, def->name, s->name); (*bad)++; }
            continue;
        }
        if (p->kind != s->kind || p->dtype != s->dtype) {
            me_diag_add(d, "verify: node '%s' (%s): param '%s' has the wrong kind or dtype", n->name, def->name, s->name);
            (*bad)++;
        }
    }
    for (int i = 0; i < n->n_params; i++) {
        int known = 0;
        for (const me_param_schema *s = def->params; s->name; s++)
            if (strcmp(s->name, n->params[i].name) == 0) known = 1;
        if (!known) { me_diag_add(d, "verify: node '%s' (%s): unknown param '%s'", n->name, def->name, n->params[i].name); (*bad)++; }
    }
}

me_status me_graph_verify(const me_graph *g, me_diag *d) {
    int bad = 0;
    int nt = g->n_tensors;
    int *prod_count = calloc((size_t)(nt ? nt : 1), sizeof(int));
    if (!prod_count) return me_fail(d, ME_ERR_NOMEM, "out of memory");

    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] < 0 || g->inputs[i] >= nt) { me_diag_add(d, "verify: graph input %d is not a tensor", i); bad++; }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= nt) { me_diag_add(d, "verify: graph output %d is not a tensor", i); bad++; }
    if (bad) { free(prod_count); return ME_ERR_INTERNAL; }

    for (int t = 0; t < nt; t++) {
        const me_tensor *tt = &g->tensors[t];
        if (tt->rank < 0 || tt->rank > ME_MAX_RANK || me_tensor_numel(tt) < 0) {
            me_diag_add(d, "verify: tensor '%s' has an invalid shape", tt->name); bad++; continue;
        }
        if ((unsigned)tt->dtype >= ME_DT_COUNT || tt->dtype == ME_DT_UNDEFINED) {
            me_diag_add(d, "verify: tensor '%s' has no dtype", tt->name); bad++;
        }
        if ((tt->flags & ME_TF_STATIC) && (!tt->data && tt->nbytes) ) { me_diag_add(d, "verify: static tensor '%s' has no data", tt->name); bad++; }
        if ((tt->flags & ME_TF_STATIC) && tt->nbytes != me_tensor_nbytes(tt)) {
            me_diag_add(d, "verify: static tensor '%s' holds %zu bytes, its shape needs %zu", tt->name, tt->nbytes, me_tensor_nbytes(tt)); bad++;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->op < 0 || n->op >= ME_OP_COUNT) { me_diag_add(d, "verify: node '%s' has a bad op", n->name); bad++; continue; }
        const me_opdef *def = me_opdefs[n->op];
        if (n->n_in < def->min_in || (def->max_in >= 0 && n->n_in > def->max_in)) {
            me_diag_add(d, "verify: node '%s' (%s) has %d inputs", n->name, def->name, n->n_in); bad++;
        }
        if (n->n_out < def->min_out || n->n_out > def->max_out) {
            me_diag_add(d, "verify: node '%s' (%s) has %d outputs", n->name, def->name, n->n_out); bad++;
        }
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t < -1 || t >= nt) { me_diag_add(d, "verify: node '%s' input %d is not a tensor", n->name, k); bad++; continue; }
            if (t >= 0 && !(g->tensors[t].flags & (ME_TF_STATIC | ME_TF_INPUT)) && g->tensors[t].producer < 0) {
                me_diag_add(d, "verify: node '%s' reads '%s', which nothing produces", n->name, g->tensors[t].name); bad++;
            }
        }
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t < 0 || t >= nt) { me_diag_add(d, "verify: node '%s' output %d is not a tensor", n->name, k); bad++; continue; }
            prod_count[t]++;
            if (g->tensors[t].flags & (ME_TF_STATIC | ME_TF_INPUT)) {
                me_diag_add(d, "verify: node '%s' writes '%s', which is a constant or graph input", n->name, g->tensors[t].name); bad++;
            }
            if (g->tensors[t].producer != i) { me_diag_add(d, "verify: tensor '%s' has a stale producer", g->tensors[t].name); bad++; }
        }
        check_params(n, d, &bad);
    }
    for (int t = 0; t < nt; t++)
        if (prod_count[t] > 1) { me_diag_add(d, "verify: tensor '%s' is produced by %d nodes", g->tensors[t].name, prod_count[t]); bad++; }
    for (int i = 0; i < g->n_outputs; i++) {
        const me_tensor *o = &g->tensors[g->outputs[i]];
        if (!(o->flags & (ME_TF_STATIC | ME_TF_INPUT)) && o->producer < 0) { me_diag_add(d, "verify: graph output '%s' is never produced", o->name); bad++; }
    }
    free(prod_count);
    if (bad) return ME_ERR_INTERNAL;

    int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
    if (!order) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    int n_order = 0;
    me_status st = me_graph_toposort(g, order, &n_order, d);
    free(order);
    if (st != ME_OK) return ME_ERR_INTERNAL;

    /* Re-run shape inference on a scratch copy of each node's outputs and compare. */
    me_graph *mg = (me_graph *)g; /* infer writes output shapes; we restore them */
    for (int i = 0; i < g->n_nodes; i++) {
        me_node *n = &mg->nodes[i];
        if (n->dead) continue;
        me_tensor saved[8];
        int nsave = n->n_out < 8 ? n->n_out : 8;
        for (int k = 0; k < nsave; k++) saved[k] = mg->tensors[n->out[k]];
        me_diag sub; me_diag_init(&sub);
        me_status ist = me_node_infer(mg, n, &sub);
        if (ist != ME_OK) {
            me_diag_add(d, "verify: node '%s' (%s) fails shape inference: %s", n->name, me_opdefs[n->op]->name, me_diag_text(&sub));
            bad++;
        } else {
            for (int k = 0; k < nsave; k++) {
                const me_tensor *a = &saved[k], *b = &mg->tensors[n->out[k]];
                int same = a->dtype == b->dtype && a->rank == b->rank;
                for (int r = 0; same && r < a->rank; r++) same = a->dims[r] == b->dims[r];
                if (!same) { me_diag_add(d, "verify: node '%s' output '%s': stored shape/dtype differ from inference", n->name, a->name); bad++; }
            }
        }
        for (int k = 0; k < nsave; k++) mg->tensors[n->out[k]] = saved[k];
        me_diag_free(&sub);
    }
    return bad ? ME_ERR_INTERNAL : ME_OK;
}
