/* modelexport compile-qnn IN OUT [options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char cli_help_compile_qnn[] =
    "usage: modelexport compile-qnn IN OUT [options]\n"
    "\n"
    "Compile an ONNX model or a GGUF language model (IN) into OUT: our own DLC\n"
    "container (not Qualcomm's DLC), a CPU context binary, or a QDQ ONNX model. OUT\n"
    "is written through a temporary file, so a failed compile leaves nothing behind.\n"
    "On success one summary line is printed; notes (for example about dimensions that\n"
    "were defaulted) go to stderr.\n"
    "\n"
    "options:\n"
    "  --format FMT              dlc, cpp, context-binary or onnx-qdq. Without it the\n"
    "                            format follows OUT: .dlc -> dlc, .bin -> context-binary,\n"
    "                            .onnx -> onnx-qdq, a directory or a trailing '/' -> cpp.\n"
    "                            Available: dlc, context-binary (ours, for a CPU target;\n"
    "                            not Qualcomm's) and onnx-qdq; cpp is planned and refused\n"
    "  --backend NAME            context-binary only: cpu (default). htp, dsp and gpu are\n"
    "                            refused: Qualcomm context binaries need the QNN SDK\n"
    "  --device NAME             context-binary only: the CPU target, native (default),\n"
    "                            x86-64-v3, x86-64-v4, armv8.2-a+dotprod, ... (a level plus\n"
    "                            optional +feature suffixes)\n"
    "  --input-dim NAME DIMS     fix the shape of graph input NAME, DIMS comma-separated,\n"
    "                            e.g. --input-dim x 1,3,224,224 (repeatable)\n"
    "  --freeze-input NAME=FILE  make graph input NAME a constant holding FILE's raw bytes\n"
    "                            (the input's dtype, little-endian, row-major); needed for\n"
    "                            inputs that feed shapes, axes or counts (repeatable)\n"
    "  --seq-len N               GGUF language models: tokens per prefill run (default 64)\n"
    "  --context-length N        GGUF language models: KV-cache rows (default: the model's\n"
    "                            context length, at most 4096)\n"
    "  --float                   GGUF language models: dequantise every weight to float32\n"
    "  --no-optimize             run only the graph passes needed for correctness\n"
    "  --verify-passes           check the IR after every graph pass (slower)\n"
    "  -q, --quiet               print nothing on success (no summary, no notes)\n"
    "  -h, --help                show this help\n"
    "\n"
    "quantisation (QNN quantizer flags; QNN's underscore spellings such as\n"
    "--act_bitwidth are accepted too):\n"
    "  --quantize                quantise the graph (implied by --calibration-data,\n"
    "                            --load-calibration, --quantization-overrides)\n"
    "  --calibration-data LIST   QNN input_list of raw input files (one line per sample,\n"
    "                            plain paths in input order or name:=path; '#'/'%' lines\n"
    "                            are ignored); the float graph runs on every line to\n"
    "                            collect per-tensor min/max and histograms. Alias --input-list\n"
    "  --load-calibration FILE   use statistics saved by --save-calibration instead\n"
    "  --save-calibration FILE   write the collected statistics (binary, validated on load)\n"
    "  --quantization-overrides FILE  encodings JSON, QNN's legacy schema or version 1.0.0\n"
    "                            (PER_TENSOR / PER_CHANNEL / LPBQ; PER_BLOCK is refused), naming\n"
    "                            tensors by their names in the source model;\n"
    "                            listed tensors use these encodings, dtype float keeps a\n"
    "                            tensor (and its op) in float\n"
    "  --float-fallback          quantise only what the overrides give (no calibration data)\n"
    "  --export-encodings FILE   write every encoding used (legacy schema; 1.0.0 with LPBQ); feeding it back\n"
    "                            through --quantization-overrides gives the same artifact\n"
    "  --act-bitwidth 8|16       activations, unsigned (default 8)\n"
    "  --weights-bitwidth 4|8|16 weights, signed symmetric (default 8; 4-bit packed two per byte)\n"
    "  --bias-bitwidth 8|32      bias: int32 at input scale x weight scale (default 32; QNN's\n"
    "                            default is 8) or int8 with its own symmetric scale\n"
    "  --float-bitwidth 32|16    float precision (default 32): 16 stores float tensors as FP16 (with\n"
    "                            --quantize: those of the ops left in float)\n"
    "  --param-quantizer Q       weights: tf|symmetric|adjusted (absolute maximum, symmetric)\n"
    "                            or enhanced (SQNR search over a histogram); default tf\n"
    "  --act-quantizer Q         activations: tf (min/max, zero in range and exactly\n"
    "                            representable, minimum range 1e-4), enhanced (AIMET-style\n"
    "                            SQNR search for long-tailed data), adjusted (like tf, but\n"
    "                            widened instead of shifted to put zero on the grid),\n"
    "                            symmetric ([-absmax, absmax]); default tf\n"
    "  --act-quantizer-calibration C  how an activation's range is picked: min-max (default),\n"
    "                            percentile, mse / sqnr (clip search minimising quantisation\n"
    "                            plus clipping noise, the latter weighted 1 / 3), entropy\n"
    "                            (KL-divergence clip search)\n"
    "  --percentile-calibration-value P  for percentile, in [90, 100] (default 99.99)\n"
    "  --use-per-channel-quantization  per-output-channel conv weight encodings\n"
    "  --use-per-row-quantization      per-row FullyConnected / MatMul weight encodings\n"
    "  --report FILE             accuracy report JSON (default OUT.report.json); written when\n"
    "                            there is calibration data, with a table on stdout: SQNR,\n"
    "                            cosine similarity and max abs error of every tensor vs float\n";

static void print_notice(void *user, const char *msg) {
    (void)user;
    /* progress lines only when someone watches a terminal */
    if (strncmp(msg, "progress: ", 10) == 0) {
        if (isatty(2)) fprintf(stderr, "\r%s\033[K", msg + 10);
        return;
    }
    cli_note("%s", msg);
}

static int format_from_name(const char *s, me_format *f) {
    static const struct { const char *name; me_format f; } names[] = {
        {"dlc", ME_FORMAT_DLC}, {"cpp", ME_FORMAT_CPP},
        {"context-binary", ME_FORMAT_CONTEXT_BINARY}, {"onnx-qdq", ME_FORMAT_ONNX_QDQ},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) { *f = names[i].f; return 0; }
    return -1;
}

static int ends_with(const char *s, const char *ext) {
    size_t n = strlen(s), m = strlen(ext);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != ext[i]) return 0;
    }
    return 1;
}

/* The format OUT's name implies; -1 when it implies none. */
static int format_from_path(const char *out, me_format *f) {
    struct stat st;
    size_t n = strlen(out);
    if ((n && out[n - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode))) *f = ME_FORMAT_CPP;
    else if (ends_with(out, ".dlc")) *f = ME_FORMAT_DLC;
    else if (ends_with(out, ".bin")) *f = ME_FORMAT_CONTEXT_BINARY;
    else if (ends_with(out, ".onnx")) *f = ME_FORMAT_ONNX_QDQ;
    else return -1;
    return 0;
}

int cmd_compile_qnn(int argc, char **argv) {
    static const char *cmd = "compile-qnn";
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0, quiet = 0, no_opt = 0, verify = 0, rc = 0, only_pos = 0;
    int llm_seq = 0, llm_ctx = 0, llm_float = 0;
    const char *fmt_name = NULL, *backend = NULL, *device = NULL;
    cli_compile_flags cf = {0};
    cli_quant_flags qf = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (only_pos || a[0] != '-' || !a[1]) {
            if (n_pos >= 2) { rc = cli_usage(cmd, "unexpected argument '%s'", a); goto out; }
            pos[n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        int m = cli_opt_value(argc, argv, &i, "--format", &v);
        if (m < 0) { rc = cli_usage(cmd, "--format needs a value (dlc, cpp, context-binary, onnx-qdq)"); goto out; }
        if (m > 0) { fmt_name = v; continue; }
        m = cli_opt_value(argc, argv, &i, "--backend", &v);
        if (m < 0) { rc = cli_usage(cmd, "--backend needs a value (cpu)"); goto out; }
        if (m > 0) { backend = v; continue; }
        m = cli_opt_value(argc, argv, &i, "--device", &v);
        if (m < 0) { rc = cli_usage(cmd, "--device needs a value (native, x86-64-v3, x86-64-v4, armv8.2-a+dotprod, ...)"); goto out; }
        if (m > 0) { device = v; continue; }
        m = cli_compile_flag(cmd, argc, argv, &i, &cf);
        if (m < 0) { rc = -m; goto out; }
        if (m > 0) continue;
        m = cli_quant_flag(cmd, argc, argv, &i, &qf);
        if (m < 0) { rc = -m; goto out; }
        if (m > 0) continue;
        m = cli_opt_value(argc, argv, &i, "--seq-len", &v);
        if (m > 0 && (llm_seq = atoi(v)) <= 0) m = -1;
        if (m < 0) { rc = cli_usage(cmd, "--seq-len needs a positive integer"); goto out; }
        if (m > 0) continue;
        m = cli_opt_value(argc, argv, &i, "--context-length", &v);
        if (m > 0 && (llm_ctx = atoi(v)) <= 0) m = -1;
        if (m < 0) { rc = cli_usage(cmd, "--context-length needs a positive integer"); goto out; }
        if (m > 0) continue;
        if (strcmp(a, "--float") == 0) llm_float = 1;
        else if (strcmp(a, "--no-optimize") == 0) no_opt = 1;
        else if (strcmp(a, "--verify-passes") == 0) verify = 1;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) quiet = 1;
        else { rc = cli_usage(cmd, "unknown option '%s'", a); goto out; }
    }
    if (n_pos < 2) { rc = cli_usage(cmd, "compile-qnn needs IN and OUT"); goto out; }

    me_format f;
    if (fmt_name) {
        if (format_from_name(fmt_name, &f)) {
            rc = cli_usage(cmd, "unknown format '%s' (choose dlc, cpp, context-binary or onnx-qdq)", fmt_name);
            goto out;
        }
    } else if (format_from_path(pos[1], &f)) {
        rc = cli_usage(cmd, "cannot tell the output format from '%s' (.dlc, .bin, .onnx or a directory); use --format", pos[1]);
        goto out;
    }

    me_compile_options o;
    me_compile_options_init(&o);
    me_compile_stats stats;
    o.format = f;
    o.input_dims = cf.dims;
    o.n_input_dims = cf.n_dims;
    o.frozen_inputs = cf.frozen;
    o.n_frozen_inputs = cf.n_frozen;
    o.optimize = !no_opt;
    o.verify_each_pass = verify;
    o.llm_seq_len = llm_seq;
    o.llm_context_length = llm_ctx;
    o.llm_float = llm_float;
    o.notice = quiet ? NULL : print_notice;
    o.stats = &stats;
    o.backend = backend;
    o.device = device;
    if ((rc = cli_quant_apply(cmd, &qf, &o)) != 0) goto out;
    char *report = NULL;
    o.report_text = quiet ? NULL : &report;
    char *cmdline = cli_join_command(argc + 1, argv - 1);
    o.command_line = cmdline;
    me_error *err = NULL;
    int compiled = me_compile(pos[0], pos[1], &o, &err) == ME_OK;
    if (!quiet && isatty(2)) fputs("\r\033[K", stderr); /* end a progress line */
    if (!compiled) {
        rc = cli_api_error(err);
    } else if (!quiet) {
        char params[32], size[32];
        cli_fmt_si(params, sizeof params, stats.n_params);
        cli_fmt_bytes(size, sizeof size, stats.file_bytes);
        printf("compiled %s -> %s: %d node%s, %s params, %s\n", pos[0], pos[1], stats.n_nodes,
               stats.n_nodes == 1 ? "" : "s", params, size);
        if (report) fputs(report, stdout);
    }
    me_string_free(report);
    free(cmdline);
out:
    cli_compile_flags_free(&cf);
    return rc;
}
