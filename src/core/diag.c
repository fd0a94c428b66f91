#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void me_diag_init(me_diag *d) { memset(d, 0, sizeof *d); }

void me_diag_free(me_diag *d) {
    if (!d) return;
    free(d->text);
    memset(d, 0, sizeof *d);
}

void me_diag_clear(me_diag *d) {
    if (!d) return;
    d->len = 0;
    d->count = 0;
    if (d->text) d->text[0] = 0;
}

void me_diag_vadd(me_diag *d, const char *fmt, va_list ap) {
    if (!d) return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    /* Cap the total so a flood of messages cannot exhaust memory. */
    if (d->len > (1u << 20)) return;
    size_t need = d->len + (size_t)n + 2;
    if (need > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        while (cap < need) cap *= 2;
        char *t = realloc(d->text, cap);
        if (!t) return;
        d->text = t;
        d->cap = cap;
    }
    if (d->len > 0) d->text[d->len++] = '\n';
    vsnprintf(d->text + d->len, (size_t)n + 1, fmt, ap);
    d->len += (size_t)n;
    d->count++;
}

void me_diag_add(me_diag *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    me_diag_vadd(d, fmt, ap);
    va_end(ap);
}

me_status me_fail(me_diag *d, me_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    me_diag_vadd(d, fmt, ap);
    va_end(ap);
    return st;
}

const char *me_diag_text(const me_diag *d) { return d && d->text ? d->text : ""; }
