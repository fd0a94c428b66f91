/* modelexport run ARTIFACT --input-list FILE --output-dir DIR [options] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "input_list.h"

const char cli_help_run[] =
    "usage: modelexport run ARTIFACT --input-list FILE --output-dir DIR [options]\n"
    "\n"
    "Run a compiled .dlc or context binary (.bin), or an .onnx model (compiled in\n"
    "memory first), on raw input files with the embedded CPU runtime, like\n"
    "qnn-net-run. Prints the time of each inference and a summary line.\n"
    "\n"
    "options:\n"
    "  --input-list FILE         the inputs, one inference per line (see below)\n"
    "  --output-dir DIR          where the outputs go (created if missing)\n"
    "  --debug                   also write every intermediate tensor (see outputs)\n"
    CLI_HELP_THREADS
    "  --input-dim NAME DIMS     .onnx only: as for compile-qnn (repeatable)\n"
    "  --freeze-input NAME=FILE  .onnx only: as for compile-qnn (repeatable)\n"
    "  -h, --help                show this help\n"
    "\n"
    "input list:\n"
    "  - each line is one inference: either plain paths in the model's input order\n"
    "    (\"a.raw b.raw\") or name:=path entries (\"x:=a.raw y:=b.raw\"), not both on\n"
    "    one line; entries are separated by spaces, so paths cannot contain spaces;\n"
    "  - blank lines are skipped, except for a model without inputs, where each line\n"
    "    is one inference (and a list without lines runs it once);\n"
    "  - lines starting with '#' or '%' name the outputs to write (tensor names\n"
    "    separated by spaces or commas); they must come before the data lines.\n"
    "    Without them every output is written;\n"
    "  - a relative path is taken from the current directory; if no such file exists\n"
    "    there, from the input list's directory;\n"
    "  - each file holds the input's raw data: its dtype, little-endian, row-major, no\n"
    "    header, exactly the input's size in bytes.\n"
    "  The whole list is checked (files exist, sizes match) before anything runs.\n"
    "\n"
    "outputs:\n"
    "  DIR/Result_<i>/<name>.raw for the i-th inference line (from 0), where <name> is\n"
    "  the output tensor's name with every byte outside [A-Za-z0-9._-] replaced by '_';\n"
    "  the output's own dtype, little-endian, row-major, no header. With --debug,\n"
    "  every tensor a node produces is written the same way, in its own dtype\n"
    "  (quantised tensors as their integer codes: `inspect --json` gives the\n"
    "  encodings); a name that collides with one already written gets '~N' added.\n"
    "  The times printed then include writing them.\n";

static void print_notice(void *user, const char *msg) {
    (void)user;
    cli_note("%s", msg);
}

static int mkdir_p(const char *path) {
    char *p = strdup(path);
    if (!p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) { free(p); return -1; }
        *s = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    struct stat st;
    if (rc == 0 && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) { errno = ENOTDIR; rc = -1; }
    free(p);
    return rc;
}

static char *sanitize(const char *name) {
    char *s = strdup(name);
    if (!s) return NULL;
    for (char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) *p = '_';
    }
    return s;
}

static int read_exact(const char *path, void *buf, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int extra = fgetc(f) != EOF;
    int bad = ferror(f);
    fclose(f);
    return got == n && !extra && !bad ? 0 : -1;
}

static int write_file(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = n ? fwrite(buf, 1, n, f) : 0;
    int rc = fclose(f);
    return put == n && rc == 0 ? 0 : -1;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* run --debug: every tensor a node produced, written as it is produced */
typedef struct debug_dump {
    char *dir;          /* DIR/Result_<i> of the current inference */
    char **written;     /* sanitized names written there (collisions get ~N) */
    int n_written, cap_written;
    int failed;         /* errno of the first failure, reported after the run */
    char *failed_path;
} debug_dump;

static void debug_reset(debug_dump *dd) {
    for (int i = 0; i < dd->n_written; i++) free(dd->written[i]);
    dd->n_written = 0;
}

static int debug_seen(const debug_dump *dd, const char *name) {
    for (int i = 0; i < dd->n_written; i++)
        if (strcmp(dd->written[i], name) == 0) return 1;
    return 0;
}

static void debug_write(void *user, const me_tensor_info *ti, const void *data) {
    debug_dump *dd = user;
    if (dd->failed) return;
    char *base = sanitize(ti->name), *name = NULL;
    if (base) {
        size_t cap = strlen(base) + 16;
        name = malloc(cap);
        if (name) snprintf(name, cap, "%s", base);
        for (int k = 1; name && debug_seen(dd, name) && k < 1000000; k++) snprintf(name, cap, "%s~%d", base, k);
    }
    free(base);
    if (name && dd->n_written == dd->cap_written) {
        int cap = dd->cap_written ? 2 * dd->cap_written : 64;
        char **grown = realloc(dd->written, (size_t)cap * sizeof *grown);
        if (grown) {
            dd->written = grown;
            dd->cap_written = cap;
        } else {
            free(name);
            name = NULL;
        }
    }
    size_t plen = name ? strlen(dd->dir) + strlen(name) + 8 : 0;
    char *path = name ? malloc(plen) : NULL;
    if (!path) {
        free(name);
        dd->failed = ENOMEM;
        return;
    }
    dd->written[dd->n_written++] = name;
    snprintf(path, plen, "%s/%s.raw", dd->dir, name);
    if (write_file(path, data, ti->nbytes) != 0) {
        dd->failed = errno ? errno : EIO;
        dd->failed_path = path;
        return;
    }
    free(path);
}

static int ends_with_onnx(const char *s) {
    size_t n = strlen(s);
    return n >= 5 && (strcmp(s + n - 5, ".onnx") == 0 || strcmp(s + n - 5, ".ONNX") == 0);
}

int cmd_run(int argc, char **argv) {
    static const char *cmd = "run";
    const char *artifact = NULL, *list_path = NULL, *out_dir = NULL;
    int threads = 0, debug = 0;
    int rc = 0, only_pos = 0;
    debug_dump dd = {0};
    cli_compile_flags cf = {0};
    me_model *m = NULL;
    me_session *s = NULL;
    input_list il = {0};
    void **inbuf = NULL;
    char **out_names = NULL;
    char *path = NULL, *cmdline = NULL;
    int n_in = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (artifact) { rc = cli_usage(cmd, "unexpected argument '%s'", a); goto out; }
            artifact = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        if (strcmp(a, "--debug") == 0) { debug = 1; continue; }
        const char *v;
        int mt;
        if ((mt = cli_opt_value(argc, argv, &i, "--input-list", &v)) != 0) {
            if (mt < 0) { rc = cli_usage(cmd, "--input-list needs a FILE"); goto out; }
            list_path = v;
        } else if ((mt = cli_opt_value(argc, argv, &i, "--output-dir", &v)) != 0) {
            if (mt < 0) { rc = cli_usage(cmd, "--output-dir needs a DIR"); goto out; }
            out_dir = v;
        } else if ((mt = cli_threads_flag(cmd, argc, argv, &i, &threads)) != 0) {
            if (mt < 0) { rc = -mt; goto out; }
        } else if ((mt = cli_compile_flag(cmd, argc, argv, &i, &cf)) != 0) {
            if (mt < 0) { rc = -mt; goto out; }
        } else {
            rc = cli_usage(cmd, "unknown option '%s'", a);
            goto out;
        }
    }
    if (!artifact) { rc = cli_usage(cmd, "run needs an ARTIFACT (.dlc or .onnx)"); goto out; }
    if (!list_path) { rc = cli_usage(cmd, "run needs --input-list FILE"); goto out; }
    if (!out_dir) { rc = cli_usage(cmd, "run needs --output-dir DIR"); goto out; }
    if ((cf.n_dims || cf.n_frozen) && !ends_with_onnx(artifact)) {
        rc = cli_usage(cmd, "--input-dim and --freeze-input apply only to an .onnx model");
        goto out;
    }

    me_compile_options co;
    me_compile_options_init(&co);
    co.input_dims = cf.dims;
    co.n_input_dims = cf.n_dims;
    co.frozen_inputs = cf.frozen;
    co.n_frozen_inputs = cf.n_frozen;
    co.notice = print_notice;
    cmdline = cli_join_command(argc + 1, argv - 1);
    co.command_line = cmdline;
    me_load_options lo = {&co};
    me_error *err = NULL;
    if (me_model_load(artifact, &lo, &m, &err) != ME_OK) { rc = cli_api_error(err); goto out; }

    rc = il_load(list_path, m, &il);
    if (rc) goto out;
    out_names = calloc((size_t)il.n_outputs + 1, sizeof *out_names);
    if (!out_names) { rc = cli_error("out of memory"); goto out; }
    for (int k = 0; k < il.n_outputs; k++) {
        me_tensor_info ti;
        me_model_output_info(m, il.outputs[k], &ti);
        out_names[k] = sanitize(ti.name);
        if (!out_names[k]) { rc = cli_error("out of memory"); goto out; }
        for (int j = 0; j < k; j++)
            if (strcmp(out_names[j], out_names[k]) == 0) {
                me_tensor_info tj;
                me_model_output_info(m, il.outputs[j], &tj);
                rc = cli_error("outputs '%s' and '%s' would both be written to '%s.raw'; select one with a '%%' line in the input list",
                               tj.name, ti.name, out_names[k]);
                goto out;
            }
    }
    if (me_session_create(m, &s, &err) != ME_OK) { rc = cli_api_error(err); goto out; }
    if (threads && me_session_set_threads(s, threads, &err) != ME_OK) { rc = cli_api_error(err); goto out; }
    n_in = me_model_num_inputs(m);
    inbuf = calloc((size_t)n_in + 1, sizeof *inbuf);
    if (!inbuf) { rc = cli_error("out of memory"); goto out; }
    for (int k = 0; k < n_in; k++) {
        me_tensor_info ti;
        me_model_input_info(m, k, &ti);
        inbuf[k] = malloc(ti.nbytes ? ti.nbytes : 1);
        if (!inbuf[k]) { rc = cli_error("out of memory for input '%s' (%zu bytes)", ti.name, ti.nbytes); goto out; }
    }
    if (mkdir_p(out_dir) != 0) { rc = cli_error("cannot create output directory '%s': %s", out_dir, strerror(errno)); goto out; }
    size_t path_cap = strlen(out_dir) + 64;
    for (int k = 0; k < il.n_outputs; k++)
        if (strlen(out_dir) + strlen(out_names[k]) + 64 > path_cap) path_cap = strlen(out_dir) + strlen(out_names[k]) + 64;
    path = malloc(path_cap);
    if (!path) { rc = cli_error("out of memory"); goto out; }

    if (debug && me_session_set_observer(s, debug_write, &dd) != ME_OK) { rc = cli_error("cannot observe the session"); goto out; }
    double total = 0;
    for (int r = 0; r < il.n_runs; r++) {
        if (debug) { /* the directory exists before the run writes into it */
            snprintf(path, path_cap, "%s/Result_%d", out_dir, r);
            if (mkdir_p(path) != 0) { rc = cli_error("cannot create '%s': %s", path, strerror(errno)); goto out; }
            free(dd.dir);
            debug_reset(&dd);
            if (!(dd.dir = strdup(path))) { rc = cli_error("out of memory"); goto out; }
        }
        for (int k = 0; k < n_in; k++) {
            me_tensor_info ti;
            me_model_input_info(m, k, &ti);
            if (read_exact(il.runs[r].paths[k], inbuf[k], ti.nbytes) != 0) {
                rc = cli_error("cannot read %zu bytes from '%s' (input list line %d)", ti.nbytes, il.runs[r].paths[k], il.runs[r].line);
                goto out;
            }
            if (me_session_set_input(s, k, inbuf[k], ti.nbytes, &err) != ME_OK) { rc = cli_api_error(err); goto out; }
        }
        double t0 = now_ms();
        if (me_session_run(s, &err) != ME_OK) {
            fprintf(stderr, "modelexport: error: inference %d (input list line %d) failed:\n", r, il.runs[r].line);
            rc = cli_api_error(err);
            goto out;
        }
        double dt = now_ms() - t0;
        total += dt;
        if (dd.failed) {
            rc = dd.failed_path ? cli_error("cannot write '%s': %s", dd.failed_path, strerror(dd.failed))
                                : cli_error("out of memory writing the --debug tensors");
            goto out;
        }
        snprintf(path, path_cap, "%s/Result_%d", out_dir, r);
        if (mkdir_p(path) != 0) { rc = cli_error("cannot create '%s': %s", path, strerror(errno)); goto out; }
        for (int k = 0; k < il.n_outputs; k++) {
            const void *data;
            size_t nbytes;
            if (me_session_get_output(s, il.outputs[k], &data, &nbytes) != ME_OK) { rc = cli_error("cannot get output %d", il.outputs[k]); goto out; }
            snprintf(path, path_cap, "%s/Result_%d/%s.raw", out_dir, r, out_names[k]);
            if (write_file(path, data, nbytes) != 0) { rc = cli_error("cannot write '%s': %s", path, strerror(errno)); goto out; }
        }
        printf("Result_%d: %.3f ms\n", r, dt);
    }
    printf("ran %d inference%s of %s in %.3f ms (mean %.3f ms); outputs in %s\n", il.n_runs, il.n_runs == 1 ? "" : "s",
           artifact, total, il.n_runs ? total / il.n_runs : 0.0, out_dir);
out:
    if (inbuf)
        for (int k = 0; k < n_in; k++) free(inbuf[k]);
    free(inbuf);
    if (out_names)
        for (int k = 0; k < il.n_outputs; k++) free(out_names[k]);
    free(out_names);
    debug_reset(&dd);
    free(dd.written);
    free(dd.dir);
    free(dd.failed_path);
    free(path);
    free(cmdline);
    il_free(&il);
    me_session_destroy(s);
    me_model_free(m);
    cli_compile_flags_free(&cf);
    return rc;
}
