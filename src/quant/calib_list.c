/* QNN input lists for the library (calibration, verify). Everything is
 * checked before any data is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static long long file_size(const char *p) {
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (long long)st.st_size;
}

static char *join_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* Resolve and size-check one entry for graph input k. */
static me_status resolve(const char *list, int line, const char *dir, const me_graph *g, int k, const char *entry,
                         char **out, me_diag *d) {
    char *p = strdup(entry);
    if (!p) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    long long size = file_size(p);
    if (size < 0 && entry[0] != '/') {
        char *alt = join_path(dir, entry);
        if (!alt) { free(p); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
        if (file_size(alt) >= 0) {
            free(p);
            p = alt;
            size = file_size(p);
        } else {
            free(alt);
        }
    }
    const me_tensor *t = &g->tensors[g->inputs[k]];
    if (size < 0) {
        free(p);
        return me_fail(d, ME_ERR_IO, "input list '%s' line %d: cannot find '%s' for input '%s'", list, line, entry, t->name);
    }
    size_t need = me_tensor_nbytes(t);
    if ((unsigned long long)size != (unsigned long long)need) {
        free(p);
        return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: '%s' has %lld bytes, but input '%s' (%s, %lld elements) needs %zu",
                       list, line, entry, size, t->name, me_dtype_name(t->dtype), (long long)me_tensor_numel(t), need);
    }
    *out = p;
    return ME_OK;
}

static int find_input(const me_graph *g, const char *name) {
    for (int k = 0; k < g->n_inputs; k++)
        if (strcmp(g->tensors[g->inputs[k]].name, name) == 0) return k;
    return -1;
}

static me_status parse_line(const char *list, int line, const char *dir, const me_graph *g, char *s, char **paths,
                            me_diag *d) {
    char *tok[256];
    int nt = 0;
    for (char *p = s; *p;) {
        while (is_space(*p)) p++;
        if (!*p) break;
        if (nt == 256) return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: too many entries", list, line);
        tok[nt++] = p;
        while (*p && !is_space(*p)) p++;
        if (*p) *p++ = 0;
    }
    int named = 0;
    for (int i = 0; i < nt; i++) named += strstr(tok[i], ":=") != NULL;
    if (named && named != nt)
        return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: mixes name:=path entries with plain paths", list, line);
    if (!named) {
        if (nt != g->n_inputs)
            return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: %d file%s given, the model has %d input%s", list, line,
                           nt, nt == 1 ? "" : "s", g->n_inputs, g->n_inputs == 1 ? "" : "s");
        for (int k = 0; k < nt; k++) {
            me_status st = resolve(list, line, dir, g, k, tok[k], &paths[k], d);
            if (st != ME_OK) return st;
        }
        return ME_OK;
    }
    for (int i = 0; i < nt; i++) {
        char *sep = strstr(tok[i], ":=");
        *sep = 0;
        int k = find_input(g, tok[i]);
        if (k < 0) return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: '%s' is not an input of the model", list, line, tok[i]);
        if (paths[k]) return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: input '%s' is given twice", list, line, tok[i]);
        if (!sep[2]) return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: input '%s' has no path", list, line, tok[i]);
        me_status st = resolve(list, line, dir, g, k, sep + 2, &paths[k], d);
        if (st != ME_OK) return st;
    }
    for (int k = 0; k < g->n_inputs; k++)
        if (!paths[k])
            return me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: no file for input '%s'", list, line,
                           g->tensors[g->inputs[k]].name);
    return ME_OK;
}

void me_input_list_free(me_input_list *l) {
    if (!l) return;
    if (l->paths)
        for (int i = 0; i < l->n_runs * l->n_inputs; i++) free(l->paths[i]);
    free(l->paths);
    free(l->line);
    memset(l, 0, sizeof *l);
}

me_status me_input_list_load(const char *path, const me_graph *g, me_input_list *l, me_diag *d) {
    memset(l, 0, sizeof *l);
    l->n_inputs = g->n_inputs;
    if (g->n_inputs == 0) return me_fail(d, ME_ERR_UNSUPPORTED, "the model has no inputs to calibrate with");
    FILE *f = fopen(path, "rb");
    if (!f) return me_fail(d, ME_ERR_IO, "cannot read input list '%s': %s", path, strerror(errno));
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    char buf[65536];
    int line = 0, cap = 0;
    me_status st = dir ? ME_OK : me_fail(d, ME_ERR_NOMEM, "out of memory");
    while (st == ME_OK && fgets(buf, sizeof buf, f)) {
        line++;
        size_t n = strlen(buf);
        if (n == sizeof buf - 1 && buf[n - 1] != '\n') {
            st = me_fail(d, ME_ERR_FORMAT, "input list '%s' line %d: line too long", path, line);
            break;
        }
        while (n && (buf[n - 1] == '\n' || is_space(buf[n - 1]))) buf[--n] = 0;
        char *p = buf;
        while (is_space(*p)) p++;
        if (!*p || *p == '#' || *p == '%') continue;
        if (l->n_runs == cap) {
            int nc = cap ? cap * 2 : 16;
            char **np = realloc(l->paths, (size_t)nc * (size_t)g->n_inputs * sizeof *np);
            if (np) l->paths = np;
            int *nl = np ? realloc(l->line, (size_t)nc * sizeof *nl) : NULL;
            if (nl) l->line = nl;
            if (!np || !nl) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
            cap = nc;
        }
        char **row = &l->paths[(size_t)l->n_runs * (size_t)g->n_inputs];
        memset(row, 0, (size_t)g->n_inputs * sizeof *row);
        l->line[l->n_runs++] = line;
        st = parse_line(path, line, dir, g, p, row, d);
    }
    if (st == ME_OK && ferror(f)) st = me_fail(d, ME_ERR_IO, "error reading input list '%s'", path);
    if (st == ME_OK && l->n_runs == 0) st = me_fail(d, ME_ERR_FORMAT, "input list '%s' has no inference lines", path);
    fclose(f);
    free(dir);
    if (st != ME_OK) me_input_list_free(l);
    return st;
}

me_status me_input_list_feed(const me_input_list *l, int r, me_exec *e, me_diag *d) {
    const me_graph *g = e->g;
    for (int k = 0; k < g->n_inputs && k < l->n_inputs; k++) {
        const char *p = l->paths[(size_t)r * (size_t)l->n_inputs + (size_t)k];
        const me_tensor *t = &g->tensors[g->inputs[k]];
        size_t need = me_tensor_nbytes(t);
        void *dst = me_exec_tensor_data(e, g->inputs[k]);
        if (!dst) return me_fail(d, ME_ERR_INTERNAL, "input '%s' has no memory", t->name);
        FILE *f = fopen(p, "rb");
        if (!f) return me_fail(d, ME_ERR_IO, "cannot read '%s': %s", p, strerror(errno));
        size_t got = fread(dst, 1, need, f);
        fclose(f);
        if (got != need) return me_fail(d, ME_ERR_IO, "'%s' is shorter than %zu bytes (changed while reading?)", p, need);
    }
    return ME_OK;
}
