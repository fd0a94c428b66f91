/* modelexport compile-qnn IN OUT [options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

const char cli_help_compile_qnn[] =
    "usage: modelexport compile-qnn IN OUT [options]\n"
    "\n"
    "Compile an ONNX model (IN) into OUT. The output format available now is our own\n"
    "DLC container (not Qualcomm's DLC). OUT is written through a temporary file, so a\n"
    "failed compile leaves nothing behind. On success one summary line is printed;\n"
    "notes (for example about dimensions that were defaulted) go to stderr.\n"
    "\n"
    "options:\n"
    "  --format FMT              dlc, cpp, context-binary or onnx-qdq. Without it the\n"
    "                            format follows OUT: .dlc -> dlc, .bin -> context-binary,\n"
    "                            .onnx -> onnx-qdq, a directory or a trailing '/' -> cpp.\n"
    "                            Only dlc is available yet; the others are planned and\n"
    "                            refused with an error\n"
    "  --input-dim NAME DIMS     fix the shape of graph input NAME, DIMS comma-separated,\n"
    "                            e.g. --input-dim x 1,3,224,224 (repeatable)\n"
    "  --freeze-input NAME=FILE  make graph input NAME a constant holding FILE's raw bytes\n"
    "                            (the input's dtype, little-endian, row-major); needed for\n"
    "                            inputs that feed shapes, axes or counts (repeatable)\n"
    "  --no-optimize             run only the graph passes needed for correctness\n"
    "  --verify-passes           check the IR after every graph pass (slower)\n"
    "  -q, --quiet               print nothing on success (no summary, no notes)\n"
    "  -h, --help                show this help\n";

static void print_notice(void *user, const char *msg) {
    (void)user;
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
    const char *fmt_name = NULL;
    cli_compile_flags cf = {0};
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
        m = cli_compile_flag(cmd, argc, argv, &i, &cf);
        if (m < 0) { rc = -m; goto out; }
        if (m > 0) continue;
        if (strcmp(a, "--no-optimize") == 0) no_opt = 1;
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
    o.notice = quiet ? NULL : print_notice;
    o.stats = &stats;
    char *cmdline = cli_join_command(argc + 1, argv - 1);
    o.command_line = cmdline;
    me_error *err = NULL;
    if (me_compile(pos[0], pos[1], &o, &err) != ME_OK) {
        rc = cli_api_error(err);
    } else if (!quiet) {
        char params[32], size[32];
        cli_fmt_si(params, sizeof params, stats.n_params);
        cli_fmt_bytes(size, sizeof size, stats.file_bytes);
        printf("compiled %s -> %s: %d node%s, %s params, %s\n", pos[0], pos[1], stats.n_nodes,
               stats.n_nodes == 1 ? "" : "s", params, size);
    }
    free(cmdline);
out:
    cli_compile_flags_free(&cf);
    return rc;
}
