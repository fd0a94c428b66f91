/* libFuzzer target: the GGUF reader (src/frontend/gguf) and what the LLM path
 * does with a GGUF at load: gguf_open, the hyper-parameters and tokenizer
 * vocabulary (llm_read_hparams / llm_read_vocab) with a tokenizer built from
 * it and used on a few strings, the whole LLM graph builder
 * (me_import_gguf_llm, small --seq-len / --context-length) with the IR
 * verifier, and `inspect` in both output forms. */
#include "api/inspect_gguf.h"
#include "frontend/gguf/gguf.h"
#include "frontend/gguf/llm_gguf.h"
#include "fuzz_common.h"
#include "llm/llm_model.h"
#include "llm/tokenizer.h"

static void tokenize(const me_llm_vocab *v, const uint8_t *data, size_t size) {
    me_diag d;
    me_diag_init(&d);
    me_tokenizer *t = NULL;
    me_status st = me_tok_create(v, &t, &d);
    fuzz_note("tokenizer", st, &d);
    if (st == ME_OK) {
        char tail[65];
        size_t n = size < 64 ? size : 64;
        memcpy(tail, data + size - n, n);
        tail[n] = 0;
        const char *texts[] = {"Hello world, 123 h\xc3\xa9llo\n\n  tabs\t<s></s> don't", " ", "", tail};
        for (int i = 0; i < 4; i++) {
            int32_t *ids = NULL;
            int n_ids = 0;
            if (me_tok_encode(t, texts[i], i & 1, &ids, &n_ids, &d) == ME_OK) {
                char piece[64];
                for (int k = 0; k < n_ids && k < 16; k++) me_tok_piece(v, ids[k], piece, sizeof piece);
            }
            free(ids);
        }
        char piece[8];
        for (int32_t id = -1; id < 4; id++) me_tok_piece(v, id, piece, sizeof piece);
        if (v->n_tokens) me_tok_piece(v, (int32_t)(v->n_tokens - 1), piece, sizeof piece);
    }
    me_tok_free(t);
    me_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("model.gguf", data, size);
    me_diag d;
    me_diag_init(&d);

    /* 1. metadata + tokenizer */
    me_arena a;
    me_arena_init(&a);
    gguf_file f;
    me_status st = gguf_open(path, &a, &f, &d);
    fuzz_note("gguf_open", st, &d);
    if (st == ME_OK) {
        gguf_str an;
        char arch[40] = "llama";
        if (gguf_get_str(&f, "general.architecture", &an) && an.n < sizeof arch) {
            memcpy(arch, an.p, (size_t)an.n);
            arch[an.n] = 0;
        }
        me_llm_hparams hp;
        memset(&hp, 0, sizeof hp);
        llm_read_hparams(&f, arch, &hp, &d);
        me_llm_vocab v;
        memset(&v, 0, sizeof v);
        st = llm_read_vocab(&f, &a, &v, &d);
        fuzz_note("vocab", st, &d);
        if (st == ME_OK) tokenize(&v, data, size);
        gguf_close(&f);
    }
    me_arena_free(&a);

    /* 2. the whole graph builder */
    me_compile_options o;
    me_compile_options_init(&o);
    o.llm_seq_len = 4;
    o.llm_context_length = 16;
    me_graph g;
    me_graph_init(&g, &d);
    st = me_import_gguf_llm(path, &o, &g, &d);
    fuzz_note("import", st, &d);
    if (st == ME_OK) {
        me_diag vd;
        me_diag_init(&vd);
        if (me_graph_verify(&g, &vd) != ME_OK) {
            fprintf(stderr, "the LLM graph of a fuzz input does not verify:\n%s\n", me_diag_text(&vd));
            abort();
        }
        me_diag_free(&vd);
    }
    me_graph_free(&g);

    /* 3. inspect */
    for (int json = 0; json < 2; json++) {
        char *text = NULL;
        if (me_inspect_gguf(path, json, &text, &d) == ME_OK) free(text);
    }
    me_diag_free(&d);
    return 0;
}
