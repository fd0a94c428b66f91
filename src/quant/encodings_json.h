/* QNN/AIMET encodings JSON (qnn.md §4.7): the legacy schema (dicts of
 * lists, "is_symmetric": "True") and version 1.0.0 (lists of entries with
 * enc_type/bw/is_sym/scale[]/offset[], and LPBQ's block fields). Both are
 * read; the legacy schema is written (every QNN converter accepts it), or
 * 1.0.0 when an LPBQ encoding is among them (the legacy schema has no form
 * for it). PER_BLOCK (float block scales) is refused. */
#ifndef ME_QUANT_ENCODINGS_JSON_H
#define ME_QUANT_ENCODINGS_JSON_H

#include "../ir/ir.h"
#include "quantize_pass.h"

/* Read `path` into t (entries for g's tensors, by name). Errors name the
 * file, the line (syntax) or the tensor and field. */
me_status me_encodings_read(const char *path, const me_graph *g, me_enc_table *t, me_diag *d);
/* Same, from text (tests); `what` names the source in errors. */
me_status me_encodings_parse(const char *text, const char *what, const me_graph *g, me_enc_table *t, me_diag *d);

/* Write every INT/FLOAT entry of t (tensor names from g, ids < t->n). */
me_status me_encodings_write(const char *path, const me_graph *g, const me_enc_table *t, me_diag *d);
/* The same JSON as a malloc'd string (NULL on out of memory). */
char *me_encodings_print(const me_graph *g, const me_enc_table *t);

#endif
