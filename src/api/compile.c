/* me_compile: ONNX -> IR -> passes -> artifact. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../backend/ctxbin/ctxbin.h"
#include "../backend/dlc/dlc.h"
#include "../backend/onnx_qdq/onnx_qdq.h"
#include "../frontend/frontend.h"
#include "../frontend/gguf/llm_gguf.h"
#include "../passes/passes.h"
#include "../quant/fp16_pass.h"
#include "../quant/quantize_pass.h"
#include "api_internal.h"

void me_compile_options_init(me_compile_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->format = ME_FORMAT_AUTO;
    o->optimize = 1;
    o->act_bitwidth = 8;
    o->weights_bitwidth = 8;
    o->bias_bitwidth = 32;
    o->float_bitwidth = 32;
    o->percentile_value = 99.99;
}

static const char *format_name(me_format f) {
    switch (f) {
    case ME_FORMAT_DLC: return "dlc";
    case ME_FORMAT_CPP: return "cpp";
    case ME_FORMAT_CONTEXT_BINARY: return "context-binary";
    case ME_FORMAT_ONNX_QDQ: return "onnx-qdq";
    default: return "auto";
    }
}

static me_status resolve_format(const char *out, me_format asked, me_format *f, me_diag *d) {
    if (asked != ME_FORMAT_AUTO) {
        if (asked < ME_FORMAT_DLC || asked > ME_FORMAT_ONNX_QDQ)
            return me_fail(d, ME_ERR_INVALID_ARG, "unknown output format %d", (int)asked);
        *f = asked;
        return ME_OK;
    }
    struct stat st;
    size_t n = strlen(out);
    if ((n && out[n - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode))) *f = ME_FORMAT_CPP;
    else if (me_api_has_ext(out, ".dlc")) *f = ME_FORMAT_DLC;
    else if (me_api_has_ext(out, ".bin")) *f = ME_FORMAT_CONTEXT_BINARY;
    else if (me_api_has_ext(out, ".onnx")) *f = ME_FORMAT_ONNX_QDQ;
    else
        return me_fail(d, ME_ERR_INVALID_ARG,
                       "cannot tell the output format from '%s' (known: .dlc, .bin for a context binary, "
                       ".onnx for onnx-qdq, a directory for cpp); choose one with --format", out);
    return ME_OK;
}

/* The same test me_api_build_graph makes to pick the GGUF builder. */
static bool is_gguf_path(const char *path) {
    unsigned char head[4];
    int got = me_api_peek(path, head, (int)sizeof head);
    return (got >= 4 && memcmp(head, "GGUF", 4) == 0) || me_api_has_ext(path, ".gguf");
}

me_status me_api_build_graph(const char *path, const me_compile_options *o, int run_passes,
                             me_graph *g, me_diag *d) {
    unsigned char head[8];
    int got = me_api_peek(path, head, (int)sizeof head);
    if (got < 0) return me_fail(d, ME_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (me_dlc_has_magic(head, (size_t)got))
        return me_fail(d, ME_ERR_INVALID_ARG, "'%s' is already a compiled DLC; this needs an .onnx model", path);
    /* a GGUF language model: its own graph builder; the passes would renumber
     * the tensors its prefill/decode subgraphs refer to */
    bool gguf = (got >= 4 && memcmp(head, "GGUF", 4) == 0) || me_api_has_ext(path, ".gguf");
    if (gguf) run_passes = 0;
    me_status st = gguf ? me_import_gguf_llm(path, o, g, d) : me_import_onnx(path, o, g, d);
    if (st != ME_OK) return st;
    if (g->n_outputs == 0) return me_fail(d, ME_ERR_FORMAT, "'%s' has no graph outputs", path);
    g->compile_options = me_arena_strdup(&g->arena, o->command_line ? o->command_line : "");
    if (!g->compile_options) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    if (run_passes) {
        me_pass_options po = {o->optimize, o->verify_each_pass, o->quantize};
        st = me_run_passes(g, &po, d);
        if (st != ME_OK) return st;
    }
    me_diag vd;
    me_diag_init(&vd);
    if (me_graph_verify(g, &vd) != ME_OK) {
        me_fail(d, ME_ERR_INTERNAL, "internal error: the compiled graph of '%s' does not verify:", path);
        me_diag_add(d, "%s", me_diag_text(&vd));
        st = ME_ERR_INTERNAL;
    }
    me_diag_free(&vd);
    return st;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

me_status me_compile(const char *in_path, const char *out_path, const me_compile_options *opts, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_compile_options dflt;
    me_compile_options_init(&dflt);
    const me_compile_options *o = opts ? opts : &dflt;
    me_status st = ME_OK;
    me_format f = ME_FORMAT_AUTO;
    if (!in_path || !out_path || !*in_path || !*out_path) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_compile: input and output paths are required");
        goto out;
    }
    if (o->n_input_dims < 0 || (o->n_input_dims && !o->input_dims) || o->n_frozen_inputs < 0 ||
        (o->n_frozen_inputs && !o->frozen_inputs)) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_compile: inconsistent input_dims / frozen_inputs counts");
        goto out;
    }
    for (int i = 0; i < o->n_input_dims; i++)
        if (!o->input_dims[i].name || o->input_dims[i].rank < 0 || o->input_dims[i].rank > ME_MAX_RANK) {
            st = me_fail(&d, ME_ERR_INVALID_ARG, "input dims entry %d: a name and a rank of 0..%d are required", i, ME_MAX_RANK);
            goto out;
        }
    for (int i = 0; i < o->n_frozen_inputs; i++)
        if (!o->frozen_inputs[i].name || !o->frozen_inputs[i].path) {
            st = me_fail(&d, ME_ERR_INVALID_ARG, "frozen input entry %d: a name and a path are required", i);
            goto out;
        }
    st = resolve_format(out_path, o->format, &f, &d);
    if (st != ME_OK) goto out;
    if ((o->backend || o->device) && f != ME_FORMAT_CONTEXT_BINARY) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "a backend and a device apply only to the context-binary format");
        goto out;
    }
    me_cpu_target target;
    if (f == ME_FORMAT_CONTEXT_BINARY && (st = me_ctx_target_from_options(o->backend, o->device, &target, &d)) != ME_OK)
        goto out;
    if (f != ME_FORMAT_DLC && f != ME_FORMAT_CONTEXT_BINARY && f != ME_FORMAT_ONNX_QDQ) {
        st = me_fail(&d, ME_ERR_UNSUPPORTED, "format '%s' is not available yet (planned)", format_name(f));
        goto out;
    }
    if (same_file(in_path, out_path)) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "the output '%s' is the input file", out_path);
        goto out;
    }

    me_graph g;
    me_graph_init(&g, &d);
    st = me_api_build_graph(in_path, o, 1, &g, &d);
    if (st == ME_OK && o->quantize) st = me_quant_compile_verified(in_path, out_path, o, &g, &d);
    if (st == ME_OK && !o->quantize && o->float_bitwidth == 16 && g.n_nodes > 0 && is_gguf_path(in_path))
        st = me_fail(&d, ME_ERR_UNSUPPORTED, "--float-bitwidth 16 is not supported for GGUF language models");
    /* after quantisation: with --quantize only the ops left in float become f16 */
    if (st == ME_OK) st = me_fp16_apply_option(o->float_bitwidth, &g, &d);
    if (st == ME_OK)
        st = f == ME_FORMAT_CONTEXT_BINARY ? me_ctxbin_write(&g, &target, out_path, &d)
             : f == ME_FORMAT_ONNX_QDQ     ? me_onnx_qdq_write(&g, out_path, &d)
                                           : me_dlc_write(&g, out_path, &d);
    if (st == ME_OK && o->quantize) {
        st = me_quant_report(in_path, out_path, o, &g, &d);
        if (st != ME_OK) remove(out_path); /* a failed compile leaves no output */
    }
    if (st == ME_OK && o->stats) {
        me_compile_stats *s = o->stats;
        memset(s, 0, sizeof *s);
        for (int i = 0; i < g.n_nodes; i++) s->n_nodes += !g.nodes[i].dead;
        for (int t = 0; t < g.n_tensors; t++)
            if (g.tensors[t].flags & ME_TF_STATIC) s->n_params += me_tensor_numel(&g.tensors[t]);
        struct stat fs;
        if (stat(out_path, &fs) == 0) s->file_bytes = (uint64_t)fs.st_size;
    }
    me_graph_free(&g);
out:
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}
