/* modelexport generate ARTIFACT --prompt TEXT -n N ... (language models compiled from GGUF) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/diag.h"
#include "../llm/llm_session.h"
#include "../llm/tokenizer.h"
#include "cli.h"

const char cli_help_generate[] =
    "usage: modelexport generate ARTIFACT (--prompt TEXT | --tokens IDS) [options]\n"
    "\n"
    "Generate text with a language model compiled from GGUF (compile-qnn model.gguf\n"
    "model.dlc). The continuation goes to stdout; the generated token ids and the\n"
    "speed (tokens/second) go to stderr.\n"
    "\n"
    "options:\n"
    "  --prompt TEXT     the prompt, tokenized with the model's own vocabulary (BOS added\n"
    "                    as the vocabulary asks)\n"
    "  --tokens IDS      feed these comma-separated token ids instead of a prompt\n"
    "  -n N              tokens to generate (default 32; 0 only evaluates the input)\n"
    "  --temp T          sampling temperature (default 0 = greedy argmax)\n"
    "  --seed S          random seed for sampling (default 0)\n"
    "  --logits FILE     write float32 logits [positions][vocab] of every fed position\n"
    "  --threads N       kernel threads (default: the number of online cores); the\n"
    "                    results do not depend on it\n"
    "  -h, --help        show this help\n";

static int parse_ids(const char *s, int32_t **out, int *n) {
    int cap = 16, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) { free(v); return -1; }
        if (k == cap) {
            cap *= 2;
            int32_t *q = realloc(v, (size_t)cap * sizeof *q);
            if (!q) { free(v); return -1; }
            v = q;
        }
        v[k++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    if (k == 0) { free(v); return -1; }
    *out = v;
    *n = k;
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static int32_t pick(const float *logits, int V, double temp, uint64_t *rng) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (temp <= 0) return best;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp(((double)logits[i] - logits[best]) / temp);
    double r = (double)(rng_next(rng) >> 11) * 0x1.0p-53 * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += exp(((double)logits[i] - logits[best]) / temp);
        if (acc >= r) return i;
    }
    return best;
}

int cmd_generate(int argc, char **argv) {
    static const char *cmd = "generate";
    const char *artifact = NULL, *prompt = NULL, *tokens_s = NULL, *logits_path = NULL, *v;
    long n_gen = 32, seed = 0, threads = 0; /* 0: every online core */
    double temp = 0;
    int rc = 0, m;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char *end;
        if (a[0] != '-' || !a[1]) {
            if (artifact) return cli_usage(cmd, "unexpected argument '%s'", a);
            artifact = a;
        } else if ((m = cli_opt_value(argc, argv, &i, "--prompt", &v)) != 0) {
            if (m < 0) return cli_usage(cmd, "--prompt needs a text");
            prompt = v;
        } else if ((m = cli_opt_value(argc, argv, &i, "--tokens", &v)) != 0) {
            if (m < 0) return cli_usage(cmd, "--tokens needs comma-separated ids");
            tokens_s = v;
        } else if ((m = cli_opt_value(argc, argv, &i, "-n", &v)) != 0) {
            if (m < 0 || (n_gen = strtol(v, &end, 10)) < 0 || *end || n_gen > 1000000)
                return cli_usage(cmd, "-n needs a count >= 0");
        } else if ((m = cli_opt_value(argc, argv, &i, "--temp", &v)) != 0) {
            if (m < 0 || !((temp = strtod(v, &end)) >= 0) || *end) return cli_usage(cmd, "--temp needs a number >= 0");
        } else if ((m = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0) {
            if (m < 0 || (seed = strtol(v, &end, 10), *end)) return cli_usage(cmd, "--seed needs an integer");
        } else if ((m = cli_opt_value(argc, argv, &i, "--logits", &v)) != 0) {
            if (m < 0) return cli_usage(cmd, "--logits needs a file name");
            logits_path = v;
        } else if ((m = cli_opt_value(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || (threads = strtol(v, &end, 10)) < 1 || *end || threads > 4096)
                return cli_usage(cmd, "--threads needs a number from 1 to 4096");
        } else {
            return cli_usage(cmd, "unknown option '%s'", a);
        }
    }
    if (!artifact) return cli_usage(cmd, "generate needs an ARTIFACT");
    if (!prompt == !tokens_s) return cli_usage(cmd, "give exactly one of --prompt and --tokens");
    int32_t *ids = NULL;
    int n_ids = 0;
    if (tokens_s && parse_ids(tokens_s, &ids, &n_ids)) return cli_usage(cmd, "--tokens '%s': expected ids like 1,403,407", tokens_s);

    me_model *model = NULL;
    me_llm_session *s = NULL;
    me_error *err = NULL;
    FILE *lf = NULL;
    float *logits = NULL, *all = NULL;
    if (me_model_load(artifact, NULL, &model, &err) != ME_OK || me_llm_session_create(model, &s, &err) != ME_OK) {
        rc = cli_api_error(err);
        goto out;
    }
    if (me_llm_session_set_threads(s, (int)threads, &err) != ME_OK) {
        rc = cli_api_error(err);
        goto out;
    }
    const me_llm_desc *desc = me_llm_session_desc(s);
    const int V = (int)desc->hp.n_vocab;
    if (prompt && me_llm_tokenize(model, prompt, 1, &ids, &n_ids, &err) != ME_OK) {
        rc = cli_api_error(err);
        goto out;
    }
    if (n_ids == 0) { rc = cli_error("the prompt gives no tokens"); goto out; }
    fprintf(stderr, "prompt ids:");
    for (int i = 0; i < n_ids; i++) fprintf(stderr, "%s%d", i ? "," : " ", ids[i]);
    fputc('\n', stderr);
    if (logits_path && !(lf = fopen(logits_path, "wb"))) {
        rc = cli_error("cannot write '%s': %s", logits_path, strerror(errno));
        goto out;
    }
    logits = malloc((size_t)V * sizeof *logits);
    all = lf ? malloc((size_t)n_ids * (size_t)V * sizeof *all) : NULL;
    if (!logits || (lf && !all)) { rc = cli_error("out of memory"); goto out; }
    double t0 = now_s();
    if (me_llm_session_eval(s, ids, n_ids, lf ? all : logits, lf != NULL, &err) != ME_OK) {
        rc = cli_api_error(err);
        goto out;
    }
    double t_prompt = now_s() - t0;
    if (lf) {
        memcpy(logits, all + (size_t)(n_ids - 1) * (size_t)V, (size_t)V * sizeof *logits);
        if (fwrite(all, sizeof *all, (size_t)n_ids * (size_t)V, lf) != (size_t)n_ids * (size_t)V) {
            rc = cli_error("cannot write '%s'", logits_path);
            goto out;
        }
    }
    uint64_t rng = (uint64_t)seed;
    int generated = 0;
    char piece[512];
    fprintf(stderr, "generated ids:");
    double t1 = now_s();
    for (long k = 0; k < n_gen; k++) {
        int32_t next = pick(logits, V, temp, &rng);
        generated++;
        fprintf(stderr, "%s%d", k ? "," : " ", next);
        int pn = me_tok_piece(&desc->vocab, next, piece, sizeof piece);
        if (pn > 0) fwrite(piece, 1, (size_t)pn, stdout);
        fflush(stdout);
        if (next == desc->vocab.eos || k + 1 == n_gen) break;
        if (me_llm_session_position(s) >= (int)desc->hp.context_length) {
            fprintf(stderr, "\nmodelexport: note: the context (%u tokens) is full; generation stops", desc->hp.context_length);
            break;
        }
        if (me_llm_session_eval(s, &next, 1, logits, 0, &err) != ME_OK) {
            rc = cli_api_error(err);
            goto out;
        }
        if (lf && fwrite(logits, sizeof *logits, (size_t)V, lf) != (size_t)V) {
            rc = cli_error("cannot write '%s'", logits_path);
            goto out;
        }
    }
    double t_gen = now_s() - t1;
    if (n_gen > 0) putchar('\n');
    fprintf(stderr, "\nprompt: %d tokens in %.3f s (%.1f tokens/s); generated: %d tokens in %.3f s (%.1f tokens/s)\n",
            n_ids, t_prompt, t_prompt > 0 ? n_ids / t_prompt : 0.0, generated, t_gen,
            t_gen > 0 ? generated / t_gen : 0.0);
out:
    if (lf && fclose(lf) != 0 && rc == 0) rc = cli_error("cannot write '%s'", logits_path);
    free(logits);
    free(all);
    free(ids);
    me_llm_session_destroy(s);
    me_model_free(model);
    return rc;
}
