/* LLM description blob and tokenizers on hand-built vocabularies whose
 * expected tokenizations are worked out by hand in the comments. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/diag.h"
#include "llm/llm_model.h"
#include "llm/tokenizer.h"

#define U2581 "\xE2\x96\x81"

static void set_vocab(me_llm_vocab *v, const char **toks, uint32_t *lens, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) lens[i] = (uint32_t)strlen(toks[i]);
    v->n_tokens = n;
    v->tokens = toks;
    v->token_len = lens;
}

/* SPM: "ab c" -> "▁ab▁c" -> symbols ▁ a b ▁ c.
 * Pairs: "▁a" (-0.5), "ab" (-0.1); best "ab" -> ▁ ab ▁ c, new pair "▁ab" (-0.2)
 * (the stale "▁a" no longer matches) -> ▁ab ▁ c. "c" is not a token: byte
 * fallback <0x63>. With BOS: [1, ▁ab, ▁, <0x63>] = [1, 6, 3, 7]. */
static void test_spm(void) {
    const char *toks[] = {"<unk>", "<s>", "</s>", U2581, "a", "ab", U2581 "ab", "<0x63>", U2581 "a", "b"};
    float scores[] = {0, 0, 0, -1, -1, -0.1f, -0.2f, 0, -0.5f, -1};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 6, 1, 1};
    uint32_t lens[10];
    me_llm_vocab v = {0};
    set_vocab(&v, toks, lens, 10);
    v.model = ME_TOK_SPM;
    v.scores = scores;
    v.types = types;
    v.bos = 1; v.eos = 2; v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
    me_diag d;
    me_diag_init(&d);
    me_tokenizer *t = NULL;
    CHECK(me_tok_create(&v, &t, &d) == ME_OK);
    int32_t *ids = NULL;
    int n = 0;
    CHECK(t && me_tok_encode(t, "ab c", true, &ids, &n, &d) == ME_OK);
    int32_t want[] = {1, 6, 3, 7};
    CHECK(n == 4);
    for (int i = 0; i < n && i < 4; i++) CHECK(ids[i] == want[i]);
    free(ids);
    /* without specials: no BOS */
    CHECK(t && me_tok_encode(t, "ab c", false, &ids, &n, &d) == ME_OK);
    CHECK(n == 3 && ids[0] == 6);
    free(ids);
    char buf[16];
    CHECK(me_tok_piece(&v, 6, buf, sizeof buf) == 3 && strcmp(buf, " ab") == 0);
    CHECK(me_tok_piece(&v, 7, buf, sizeof buf) == 1 && strcmp(buf, "c") == 0);
    CHECK(me_tok_piece(&v, 1, buf, sizeof buf) == 0);  /* control token: nothing */
    CHECK(me_tok_piece(&v, 10, buf, sizeof buf) == -1);
    me_tok_free(t);
    me_diag_free(&d);
}

/* GPT-2 BPE: "hi hi" pre-tokenizes (gpt2 rules) into "hi" and " hi"; the space
 * byte 0x20 maps to U+0120 "Ġ". "hi": h i -> merge rank 0 "h i" -> [hi].
 * " hi": Ġ h i -> "h i" (rank 0) -> Ġ hi -> "Ġ hi" (rank 1) -> [Ġhi]. */
static void test_bpe(void) {
    const char *toks[] = {"h", "i", "\xC4\xA0", "hi", "\xC4\xA0hi"};
    const char *merges[] = {"h i", "\xC4\xA0 hi"};
    uint32_t lens[5];
    me_llm_vocab v = {0};
    set_vocab(&v, toks, lens, 5);
    v.model = ME_TOK_BPE;
    v.merges = merges;
    v.n_merges = 2;
    v.bos = v.eos = v.unk = -1;
    me_diag d;
    me_diag_init(&d);
    me_tokenizer *t = NULL;
    CHECK(me_tok_create(&v, &t, &d) == ME_OK);
    int32_t *ids = NULL;
    int n = 0;
    CHECK(t && me_tok_encode(t, "hi hi", true, &ids, &n, &d) == ME_OK);
    CHECK(n == 2 && ids && ids[0] == 3 && ids[1] == 4);
    free(ids);
    char buf[16];
    CHECK(me_tok_piece(&v, 4, buf, sizeof buf) == 3 && strcmp(buf, " hi") == 0);
    me_tok_free(t);
    me_diag_free(&d);
}

/* Pack, unpack, and every truncation of the blob is refused. */
static void test_desc(void) {
    const char *toks[] = {"<unk>", "<s>", "x"};
    uint32_t lens[3];
    float scores[] = {0, 0, -2.5f};
    me_llm_desc m;
    memset(&m, 0, sizeof m);
    strcpy(m.hp.arch, "llama");
    m.hp.n_vocab = 3; m.hp.n_embd = 8; m.hp.n_layer = 2; m.hp.n_head = 2; m.hp.n_head_kv = 1;
    m.hp.head_dim = 4; m.hp.n_rot = 4; m.hp.n_ff = 16; m.hp.ctx_train = 128; m.hp.seq_len = 8;
    m.hp.context_length = 32; m.hp.eps = 1e-5f; m.hp.rope_base = 10000.0f;
    set_vocab(&m.vocab, toks, lens, 3);
    m.vocab.model = ME_TOK_SPM;
    m.vocab.scores = scores;
    m.vocab.bos = 1; m.vocab.eos = -1; m.vocab.unk = 0;
    m.vocab.add_bos = true;
    me_diag d;
    me_diag_init(&d);
    void *blob = NULL;
    size_t n = 0;
    CHECK(me_llm_desc_pack(&m, &blob, &n, &d) == ME_OK);
    me_arena a;
    me_arena_init(&a);
    me_llm_desc r;
    CHECK(me_llm_desc_unpack(blob, n, &a, &r, &d) == ME_OK);
    CHECK(strcmp(r.hp.arch, "llama") == 0 && r.hp.n_layer == 2 && r.hp.context_length == 32);
    CHECK(r.hp.eps == 1e-5f && r.hp.rope_base == 10000.0f);
    CHECK(r.vocab.n_tokens == 3 && strcmp(r.vocab.tokens[2], "x") == 0 && r.vocab.scores && r.vocab.scores[2] == -2.5f);
    CHECK(r.vocab.bos == 1 && r.vocab.eos == -1 && r.vocab.add_bos && !r.vocab.add_eos);
    int refused = 0;
    for (size_t k = 0; k < n; k++) {
        me_diag_clear(&d);
        refused += me_llm_desc_unpack(blob, k, &a, &r, &d) == ME_ERR_FORMAT;
    }
    CHECK(refused == (int)n);
    me_arena_free(&a);
    free(blob);
    me_diag_free(&d);
}

int main(void) {
    test_spm();
    test_bpe();
    test_desc();
    return check_exit();
}
