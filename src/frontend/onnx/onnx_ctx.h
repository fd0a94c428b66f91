/* Private state of one ONNX import, shared by the importer (onnx_frontend.c)
 * and the translation API (onnx_translate_api.c). Translators see only the
 * opaque mo_ctx of onnx_import.h. */
#ifndef ME_ONNX_CTX_H
#define ME_ONNX_CTX_H

#include "onnx_import.h"

/* String -> int map (open addressing). Keys are not copied: they must outlive
 * the map (arena or mapped-file strings). */
typedef struct mo_strmap {
    const char **keys;
    int *vals;
    int cap, n;
} mo_strmap;

bool mo_strmap_put(mo_strmap *m, const char *key, int val); /* false: out of memory */
int mo_strmap_get(const mo_strmap *m, const char *key, int dflt);
void mo_strmap_free(mo_strmap *m);

/* One ONNX value name and what it is bound to. */
typedef struct mo_value {
    const char *name;
    int tensor;               /* IR tensor, -1 until an initializer is materialised */
    const onnx_tensor *init;  /* initializer not yet turned into an IR tensor */
    int pending_uses;         /* ONNX consumers not yet translated (initializers) */
    bool unknown;             /* depends on a graph input that must be frozen */
    bool graph_input;         /* a non-frozen graph input */
} mo_value;

enum {
    MO_T_AUTO_NAMED = 1u << 0, /* name was derived; mo_bind may rename it */
    MO_T_FROM_FILE = 1u << 1,  /* static data lies in a mapped file */
    MO_T_RELEASED = 1u << 2,
};

struct mo_ctx {
    me_graph *g;
    me_diag *d;
    const me_compile_options *opts;
    int64_t opset;

    mo_strmap vmap;           /* ONNX value name -> index into vals */
    mo_value *vals;
    int n_vals, cap_vals;
    mo_strmap onnx_names;     /* every value name in the model: derived names avoid them */
    mo_strmap node_names;     /* IR node names in use */

    /* per IR tensor bookkeeping, grown with the graph */
    uint8_t *tflags;
    int *ir_uses;             /* live IR nodes reading the tensor */
    int cap_t;

    /* graph inputs needed as values ("must be fixed at compile time") */
    const char **fixed;
    int n_fixed, cap_fixed;
    bool fixed_hit;           /* set when the current node recorded one */

    /* scope cache for the node being translated */
    const onnx_node *scope_node;
    const char *scope;

    int subgraph_depth;
    bool attr_bad;            /* a translator read an attribute of the wrong type */
};

/* The import running on this thread (attribute getters report type errors to it). */
extern _Thread_local mo_ctx *mo_current;

/* Value map helpers. */
int mo_value_find(mo_ctx *c, const char *name);                 /* index or -1 */
int mo_value_add(mo_ctx *c, const char *name);                  /* index or -1 (nomem) */
/* IR tensor of a value, materialising an initializer; -1 on error (reported). */
int mo_value_tensor(mo_ctx *c, int vi);
/* Bookkeeping arrays cover every tensor of the graph. */
bool mo_track_tensors(mo_ctx *c);
/* A derived name that is neither an IR tensor nor an ONNX value name (arena). */
const char *mo_unique_name(mo_ctx *c, const char *base);
/* Rename tensor t (the graph's name index is rebuilt by me_graph_compact at the end). */
void mo_rename_tensor(mo_ctx *c, int t, const char *name);
/* Memory for static data: large blocks get their own anonymous mapping
 * adopted by the graph (so me_graph_release_static can give the pages back
 * when a pass replaces the data); small ones come from the arena. */
void *mo_big_alloc(mo_ctx *c, size_t n);
/* Drop the fully covered pages of a range inside one of the graph's file
 * mappings (they are re-read from the file if touched again); a range
 * elsewhere (e.g. the arena) is left alone. */
void mo_drop_pages(mo_ctx *c, const void *p, size_t n);
/* Record a graph input that must be frozen (deduplicated). */
void mo_record_fixed(mo_ctx *c, const char *name);
/* Translate nodes of a graph (main or subgraph) in topological order. */
me_status mo_translate_graph(mo_ctx *c, const onnx_graph *gr, const char *name_prefix);
/* Create the static IR tensor of an initializer (conversions, alignment). */
int mo_make_initializer(mo_ctx *c, const onnx_tensor *t);

#endif
