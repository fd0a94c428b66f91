/* me_error: a heap-allocated diagnostic handed to API callers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

me_status me_api_fail(me_error **err, me_status st, const me_diag *d) {
    if (!err) return st;
    *err = NULL;
    me_error *e = calloc(1, sizeof *e);
    if (!e) return st;
    const char *text = me_diag_text(d);
    if (!*text) text = me_status_str(st);
    e->status = st;
    e->message = strdup(text);
    if (!e->message) {
        free(e);
        return st;
    }
    *err = e;
    return st;
}

const char *me_error_message(const me_error *err) {
    if (!err) return "no error";
    return err->message ? err->message : me_status_str(err->status);
}

void me_error_free(me_error *err) {
    if (!err) return;
    free(err->message);
    free(err);
}

void me_string_free(char *s) { free(s); }

int me_api_has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char a = path[n - m + i], b = ext[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

int me_api_peek(const char *path, unsigned char *buf, int n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return (int)got;
}
