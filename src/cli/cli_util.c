/* Messages, option and number parsing shared by the CLI commands. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("modelexport: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_INPUT;
}

int cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("modelexport: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cmd) fprintf(stderr, "see 'modelexport %s --help'\n", cmd);
    else fputs("see 'modelexport --help'\n", stderr);
    return CLI_EXIT_USAGE;
}

int cli_api_error(me_error *err) {
    const char *msg = me_error_message(err);
    fputs("modelexport: error: ", stderr);
    /* continuation lines are indented under the first */
    for (const char *p = msg; *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(stderr, "%s%.*s\n", p == msg ? "" : "  ", (int)len, p);
        p += len + (p[len] == '\n');
    }
    if (!*msg) fputc('\n', stderr);
    me_error_free(err);
    return CLI_EXIT_INPUT;
}

void cli_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("modelexport: note: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != 0) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

int cli_parse_i64(const char *s, int64_t *out) {
    if (!s || !*s || *s == '+' || *s == ' ') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s) return -1;
    *out = v;
    return 0;
}

static int parse_dims(const char *s, me_input_dim *d) {
    d->rank = 0;
    if (!*s) return -1;
    const char *p = s;
    while (1) {
        size_t len = strcspn(p, ",");
        char num[32];
        if (len == 0 || len >= sizeof num || d->rank >= ME_MAX_RANK) return -1;
        memcpy(num, p, len);
        num[len] = 0;
        int64_t v;
        if (cli_parse_i64(num, &v) || v < 0) return -1;
        d->dims[d->rank++] = v;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

int cli_compile_flag(const char *cmd, int argc, char **argv, int *i, cli_compile_flags *f) {
    const char *a = argv[*i];
    if (strcmp(a, "--input-dim") == 0) {
        if (*i + 2 >= argc) return -cli_usage(cmd, "--input-dim needs a name and dimensions, e.g. --input-dim x 1,3,224,224");
        const char *name = argv[*i + 1], *dims = argv[*i + 2];
        me_input_dim *nd = realloc(f->dims, (size_t)(f->n_dims + 1) * sizeof *nd);
        if (!nd) return -cli_error("out of memory");
        f->dims = nd;
        me_input_dim *d = &f->dims[f->n_dims];
        memset(d, 0, sizeof *d);
        d->name = name;
        if (parse_dims(dims, d))
            return -cli_usage(cmd, "--input-dim %s: bad dimensions '%s' (expected up to %d comma-separated non-negative integers)",
                              name, dims, ME_MAX_RANK);
        for (int k = 0; k < f->n_dims; k++)
            if (strcmp(f->dims[k].name, name) == 0) return -cli_usage(cmd, "--input-dim %s is given twice", name);
        f->n_dims++;
        *i += 2;
        return 1;
    }
    const char *v;
    int m = cli_opt_value(argc, argv, i, "--freeze-input", &v);
    if (m == 0) return 0;
    if (m < 0) return -cli_usage(cmd, "--freeze-input needs NAME=FILE");
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) return -cli_usage(cmd, "--freeze-input '%s': expected NAME=FILE", v);
    me_frozen_input *nf = realloc(f->frozen, (size_t)(f->n_frozen + 1) * sizeof *nf);
    if (!nf) return -cli_error("out of memory");
    f->frozen = nf;
    char *name = strndup(v, (size_t)(eq - v));
    if (!name) return -cli_error("out of memory");
    for (int k = 0; k < f->n_frozen; k++)
        if (strcmp(f->frozen[k].name, name) == 0) {
            free(name);
            return -cli_usage(cmd, "--freeze-input for '%.*s' is given twice", (int)(eq - v), v);
        }
    f->frozen[f->n_frozen].name = name;
    f->frozen[f->n_frozen].path = eq + 1;
    f->n_frozen++;
    return 1;
}

void cli_compile_flags_free(cli_compile_flags *f) {
    for (int i = 0; i < f->n_frozen; i++) free((char *)f->frozen[i].name);
    free(f->frozen);
    free(f->dims);
    memset(f, 0, sizeof *f);
}

void cli_fmt_bytes(char *buf, size_t n, uint64_t b) {
    if (b < 1000) snprintf(buf, n, "%" PRIu64 " B", b);
    else if (b < 1000000) snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else snprintf(buf, n, "%.2f GB", (double)b / 1e9);
}

void cli_fmt_si(char *buf, size_t n, int64_t v) {
    if (v < 1000) snprintf(buf, n, "%" PRId64, v);
    else if (v < 1000000) snprintf(buf, n, "%.1fk", (double)v / 1e3);
    else if (v < 1000000000) snprintf(buf, n, "%.1fM", (double)v / 1e6);
    else snprintf(buf, n, "%.2fB", (double)v / 1e9);
}

static int needs_quotes(const char *s) {
    if (!*s) return 1;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_./=:,+@%", *s)))
            return 1;
    return 0;
}

char *cli_join_command(int argc, char **argv) {
    size_t cap = 32;
    for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (!out) return NULL;
    p += sprintf(p, "modelexport");
    for (int i = 0; i < argc; i++) {
        *p++ = ' ';
        if (!needs_quotes(argv[i])) {
            p += sprintf(p, "%s", argv[i]);
            continue;
        }
        *p++ = '\'';
        for (const char *s = argv[i]; *s; s++) {
            if (*s == '\'') p += sprintf(p, "'\\''");
            else *p++ = *s;
        }
        *p++ = '\'';
    }
    *p = 0;
    return out;
}
