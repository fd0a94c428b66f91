/* Status codes and diagnostics.
 *
 * The library never aborts or exits on bad input: every function that can fail
 * returns me_status and, when given a me_diag, appends a readable reason.
 * A diag accumulates lines so one failure can report many problems at once
 * (e.g. every unsupported op with its node name). */
#ifndef ME_DIAG_H
#define ME_DIAG_H

#include <stdarg.h>
#include <stddef.h>

#include "modelexport.h" /* me_status */

typedef struct me_diag {
    char *text;   /* NUL-terminated, lines separated by '\n'; NULL when empty */
    size_t len;
    size_t cap;
    int count;    /* number of messages appended */
} me_diag;

void me_diag_init(me_diag *d);
void me_diag_free(me_diag *d);
void me_diag_clear(me_diag *d);

/* Append one message (a line). Safe with d == NULL (message dropped). */
void me_diag_add(me_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void me_diag_vadd(me_diag *d, const char *fmt, va_list ap);

/* Append a message and return `st`, for `return me_fail(d, ME_ERR_FORMAT, ...)`. */
me_status me_fail(me_diag *d, me_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *me_diag_text(const me_diag *d); /* "" when empty */

#endif
