/* The pass table and the pass manager. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "../ops/ops.h"

enum {
#define X(name, fn, required) ME_PASS_ID_##name,
#include "passes.def"
#undef X
    ME_PASS_COUNT
};

const me_pass me_passes[] = {
#define X(name, fn, required) {#name, fn, required},
#include "passes.def"
#undef X
};
_Static_assert(sizeof(me_passes) / sizeof(me_passes[0]) == ME_PASS_COUNT, "one table entry per passes.def row");

const int me_n_passes = ME_PASS_COUNT;

/* What the caller sees of the graph's I/O; passes must not change it. */
typedef struct io_sig { const char *name; me_dtype dt; int rank; int64_t dims[ME_MAX_RANK]; } io_sig;

static io_sig *io_snapshot(const me_graph *g) {
    int n = g->n_inputs + g->n_outputs;
    io_sig *s = calloc((size_t)(n ? n : 1), sizeof *s);
    if (!s) return NULL;
    for (int i = 0; i < n; i++) {
        const me_tensor *t = &g->tensors[i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs]];
        s[i].name = t->name;
        s[i].dt = t->dtype;
        s[i].rank = t->rank;
        memcpy(s[i].dims, t->dims, sizeof s[i].dims);
    }
    return s;
}

static me_status io_check(const me_graph *g, const io_sig *s, int n_in, int n_out, const char *pass, me_diag *d) {
    if (g->n_inputs != n_in || g->n_outputs != n_out)
        return me_fail(d, ME_ERR_INTERNAL, "after pass '%s': the graph's inputs or outputs changed", pass);
    for (int i = 0; i < n_in + n_out; i++) {
        int t = i < n_in ? g->inputs[i] : g->outputs[i - n_in];
        const me_tensor *tt = &g->tensors[t];
        bool same = strcmp(tt->name, s[i].name) == 0 && tt->dtype == s[i].dt && tt->rank == s[i].rank;
        for (int r = 0; same && r < tt->rank; r++) same = tt->dims[r] == s[i].dims[r];
        if (!same)
            return me_fail(d, ME_ERR_INTERNAL, "after pass '%s': graph %s '%s' changed its name, dtype or shape",
                           pass, i < n_in ? "input" : "output", s[i].name);
        if (i >= n_in && !(tt->flags & (ME_TF_STATIC | ME_TF_INPUT))) {
            int p = tt->producer;
            if (p < 0 || p >= g->n_nodes || g->nodes[p].dead)
                return me_fail(d, ME_ERR_INTERNAL, "after pass '%s': graph output '%s' lost its producer", pass, tt->name);
        }
    }
    return ME_OK;
}

static me_status verify_after(const me_graph *g, const char *pass, me_diag *d) {
    me_diag sub;
    me_diag_init(&sub);
    me_status st = me_graph_verify(g, &sub);
    if (st != ME_OK) st = me_fail(d, st, "after pass '%s': %s", pass, me_diag_text(&sub));
    me_diag_free(&sub);
    return st;
}

me_status me_run_passes(me_graph *g, const me_pass_options *o, me_diag *d) {
    me_pass_options dflt = {1, 0};
    if (!o) o = &dflt;
    int n_in = g->n_inputs, n_out = g->n_outputs;
    io_sig *sig = io_snapshot(g);
    if (!sig) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    me_status st = ME_OK;
    for (int i = 0; i < me_n_passes && st == ME_OK; i++) {
        const me_pass *p = &me_passes[i];
        if (!p->required && !o->optimize) continue;
        st = p->fn(g, o, d);
        if (st != ME_OK) {
            me_diag_add(d, "in pass '%s'", p->name);
            break;
        }
        st = io_check(g, sig, n_in, n_out, p->name, d);
        if (st == ME_OK && o->verify_each_pass) st = verify_after(g, p->name, d);
    }
    if (st == ME_OK) st = me_graph_compact(g, d);
    if (st == ME_OK) st = me_graph_order_nodes(g, d);
    if (st == ME_OK) st = io_check(g, sig, n_in, n_out, "compact", d);
    if (st == ME_OK && o->verify_each_pass) st = verify_after(g, "compact", d);
    free(sig);
    return st;
}

me_status me_graph_order_nodes(me_graph *g, me_diag *d) {
    int nn = g->n_nodes;
    /* state: 0 unvisited, 1 on the stack, 2 emitted */
    unsigned char *state = calloc((size_t)(nn ? nn : 1), 1);
    int *order = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    int *stack = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    int *next_in = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    me_node *sorted = malloc((size_t)(nn ? nn : 1) * sizeof(me_node));
    me_status st = ME_OK;
    if (!state || !order || !stack || !next_in || !sorted) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    /* Producers may be stale after edits: recompute from live nodes. */
    for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].dead) continue;
        for (int k = 0; k < g->nodes[i].n_out; k++) g->tensors[g->nodes[i].out[k]].producer = i;
    }
    int n_order = 0;
    for (int root = 0; root < nn; root++) {
        if (g->nodes[root].dead || state[root]) continue;
        /* Iterative DFS: emit a node once all its producers are emitted. */
        int sp = 0;
        stack[sp++] = root;
        state[root] = 1;
        next_in[root] = 0;
        while (sp > 0) {
            int v = stack[sp - 1];
            const me_node *n = &g->nodes[v];
            if (next_in[v] < n->n_in) {
                int t = n->in[next_in[v]++];
                int p = t >= 0 ? g->tensors[t].producer : -1;
                if (p < 0 || state[p] == 2) continue;
                if (state[p] == 1) { st = me_fail(d, ME_ERR_FORMAT, "the graph has a cycle through node '%s'", g->nodes[p].name); goto done; }
                state[p] = 1;
                next_in[p] = 0;
                stack[sp++] = p;
                continue;
            }
            state[v] = 2;
            order[n_order++] = v;
            sp--;
        }
    }
    for (int i = 0; i < n_order; i++) sorted[i] = g->nodes[order[i]];
    memcpy(g->nodes, sorted, (size_t)n_order * sizeof(me_node));
    g->n_nodes = n_order;
    for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
    for (int i = 0; i < n_order; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) g->tensors[g->nodes[i].out[k]].producer = i;
done:
    free(state); free(order); free(stack); free(next_in); free(sorted);
    return st;
}
