/* Input list parsing and validation: everything is checked before `run`
 * reads or writes any data. */
#include "input_list.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct il_ctx {
    const char *path;
    char *dir;          /* the list's directory, for the relative-path fallback */
    const me_model *m;
    int n_in;
    int line;
} il_ctx;

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (buf && ferror(f)) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static void describe_input(const me_model *m, int k, char *buf, size_t n) {
    me_tensor_info ti;
    me_model_input_info(m, k, &ti);
    int o = snprintf(buf, n, "input '%s' (%s [", ti.name, me_dtype_name(ti.dtype));
    for (int r = 0; r < ti.rank && o > 0 && (size_t)o < n; r++)
        o += snprintf(buf + o, n - (size_t)o, "%s%" PRId64, r ? ", " : "", ti.dims[r]);
    if (o > 0 && (size_t)o < n) snprintf(buf + o, n - (size_t)o, "])");
}

static int list_names(char *buf, size_t n, const me_model *m, int outputs) {
    int count = outputs ? me_model_num_outputs(m) : me_model_num_inputs(m);
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < count && o < n; i++) {
        me_tensor_info ti;
        if (outputs) me_model_output_info(m, i, &ti);
        else me_model_input_info(m, i, &ti);
        int w = snprintf(buf + o, n - o, "%s'%s'", i ? ", " : "", ti.name);
        if (w < 0) break;
        o += (size_t)w;
    }
    return count;
}

static int file_size(const char *p, long long *size) {
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    *size = (long long)st.st_size;
    return 0;
}

/* Resolve an entry's path (cwd first, then the list's directory) and check its size. */
static int check_file(il_ctx *c, int k, const char *entry, char **resolved) {
    long long size;
    char *p = strdup(entry);
    if (!p) return cli_error("out of memory");
    if (file_size(p, &size) != 0 && entry[0] != '/') {
        size_t n = strlen(c->dir) + strlen(entry) + 2;
        char *alt = malloc(n);
        if (!alt) { free(p); return cli_error("out of memory"); }
        snprintf(alt, n, "%s/%s", c->dir, entry);
        long long s2;
        if (file_size(alt, &s2) == 0) {
            free(p);
            p = alt;
            size = s2;
        } else {
            free(alt);
        }
    }
    if (file_size(p, &size) != 0) {
        free(p);
        if (entry[0] == '/') return cli_error("input list '%s' line %d: cannot read '%s'", c->path, c->line, entry);
        return cli_error("input list '%s' line %d: cannot find '%s' (looked in the current directory and in '%s')",
                         c->path, c->line, entry, c->dir);
    }
    me_tensor_info ti;
    me_model_input_info(c->m, k, &ti);
    if ((unsigned long long)size != (unsigned long long)ti.nbytes) {
        char what[256];
        describe_input(c->m, k, what, sizeof what);
        free(p);
        return cli_error("input list '%s' line %d: '%s' has %lld bytes, but %s needs %zu bytes", c->path, c->line,
                         entry, size, what, ti.nbytes);
    }
    *resolved = p;
    return 0;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* Output selection line ('#' or '%'): names separated by spaces or commas. */
static int select_outputs(il_ctx *c, char *s, input_list *l, unsigned char *picked) {
    for (char *tok = strtok(s, " \t,"); tok; tok = strtok(NULL, " \t,")) {
        int k = me_model_find_output(c->m, tok);
        if (k < 0) {
            char names[2048];
            list_names(names, sizeof names, c->m, 1);
            return cli_error("input list '%s' line %d: '%s' is not an output of the model (outputs: %s)", c->path,
                             c->line, tok, names);
        }
        picked[k] = 1;
        l->n_outputs = 1; /* marks "a selection was given" until finalised */
    }
    return 0;
}

static int data_line(il_ctx *c, char *s, il_run *run) {
    char *toks[1024];
    int nt = 0;
    for (char *p = s; *p;) {
        while (is_space(*p)) p++;
        if (!*p) break;
        if (nt == (int)(sizeof toks / sizeof toks[0]))
            return cli_error("input list '%s' line %d: too many entries", c->path, c->line);
        toks[nt++] = p;
        while (*p && !is_space(*p)) p++;
        if (*p) *p++ = 0;
    }
    run->line = c->line;
    run->paths = calloc((size_t)(c->n_in > 0 ? c->n_in : 1), sizeof(char *));
    if (!run->paths) return cli_error("out of memory");
    run->n_paths = c->n_in;
    if (c->n_in == 0) {
        if (nt) return cli_error("input list '%s' line %d: the model has no inputs, but the line lists files", c->path, c->line);
        return 0;
    }
    int named = 0;
    for (int i = 0; i < nt; i++) named += strstr(toks[i], ":=") != NULL;
    if (named && named != nt)
        return cli_error("input list '%s' line %d: mixes name:=path entries with plain paths", c->path, c->line);
    if (!named) {
        if (nt != c->n_in) {
            char names[2048];
            list_names(names, sizeof names, c->m, 0);
            return cli_error("input list '%s' line %d: %d file%s given, the model has %d input%s (%s)", c->path, c->line,
                             nt, nt == 1 ? "" : "s", c->n_in, c->n_in == 1 ? "" : "s", names);
        }
        for (int k = 0; k < nt; k++) {
            int rc = check_file(c, k, toks[k], &run->paths[k]);
            if (rc) return rc;
        }
        return 0;
    }
    for (int i = 0; i < nt; i++) {
        char *sep = strstr(toks[i], ":=");
        *sep = 0;
        int k = me_model_find_input(c->m, toks[i]);
        if (k < 0) {
            char names[2048];
            list_names(names, sizeof names, c->m, 0);
            return cli_error("input list '%s' line %d: '%s' is not an input of the model (inputs: %s)", c->path, c->line,
                             toks[i], names);
        }
        if (run->paths[k]) return cli_error("input list '%s' line %d: input '%s' is given twice", c->path, c->line, toks[i]);
        if (!sep[2]) return cli_error("input list '%s' line %d: input '%s' has no path", c->path, c->line, toks[i]);
        int rc = check_file(c, k, sep + 2, &run->paths[k]);
        if (rc) return rc;
    }
    for (int k = 0; k < c->n_in; k++)
        if (!run->paths[k]) {
            me_tensor_info ti;
            me_model_input_info(c->m, k, &ti);
            return cli_error("input list '%s' line %d: no file for input '%s'", c->path, c->line, ti.name);
        }
    return 0;
}

void il_free(input_list *l) {
    for (int i = 0; i < l->n_runs; i++) {
        if (!l->runs[i].paths) continue;
        for (int k = 0; k < l->runs[i].n_paths; k++) free(l->runs[i].paths[k]);
        free(l->runs[i].paths);
    }
    free(l->runs);
    free(l->outputs);
    memset(l, 0, sizeof *l);
}

int il_load(const char *path, const me_model *m, input_list *l) {
    memset(l, 0, sizeof *l);
    il_ctx c = {path, NULL, m, me_model_num_inputs(m), 0};
    size_t len;
    char *text = read_all(path, &len);
    if (!text) return cli_error("cannot read input list '%s': %s", path, strerror(errno));
    if (memchr(text, 0, len)) {
        free(text);
        return cli_error("input list '%s' is not a text file", path);
    }
    const char *slash = strrchr(path, '/');
    c.dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    int n_out = me_model_num_outputs(m);
    unsigned char *picked = calloc((size_t)n_out + 1, 1);
    int rc = 0, cap = 0;
    if (!c.dir || !picked) rc = cli_error("out of memory");
    char *p = text;
    while (!rc && *p) {
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = 0;
        c.line++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == '\r' || is_space(p[n - 1]))) p[--n] = 0;
        while (is_space(*p)) p++;
        if (*p == '#' || *p == '%') {
            if (l->n_runs) rc = cli_error("input list '%s' line %d: output selection lines must come before the data lines", path, c.line);
            else rc = select_outputs(&c, p + 1, l, picked);
        } else if (*p || c.n_in == 0) {
            if (l->n_runs == cap) {
                cap = cap ? cap * 2 : 16;
                il_run *nr = realloc(l->runs, (size_t)cap * sizeof *nr);
                if (!nr) { rc = cli_error("out of memory"); break; }
                l->runs = nr;
            }
            il_run *run = &l->runs[l->n_runs++];
            memset(run, 0, sizeof *run);
            rc = data_line(&c, p, run);
        }
        p = next;
    }
    if (!rc && l->n_runs == 0) {
        if (c.n_in > 0) rc = cli_error("input list '%s' has no inference lines", path);
        else { /* a model without inputs: run once */
            l->runs = calloc(1, sizeof *l->runs);
            if (!l->runs) rc = cli_error("out of memory");
            else {
                l->runs[0].paths = calloc(1, sizeof(char *));
                l->runs[0].line = 0;
                l->n_runs = 1;
                if (!l->runs[0].paths) rc = cli_error("out of memory");
            }
        }
    }
    if (!rc) {
        int any = l->n_outputs;
        l->outputs = malloc((size_t)(n_out > 0 ? n_out : 1) * sizeof(int));
        l->n_outputs = 0;
        if (!l->outputs) rc = cli_error("out of memory");
        for (int k = 0; !rc && k < n_out; k++)
            if (!any || picked[k]) l->outputs[l->n_outputs++] = k;
    }
    free(picked);
    free(c.dir);
    free(text);
    if (rc) il_free(l);
    return rc;
}
