/* `inspect` of a GGUF file (inspect_gguf.c); me_inspect dispatches here on the GGUF magic. */
#ifndef ME_INSPECT_GGUF_H
#define ME_INSPECT_GGUF_H

#include "../core/diag.h"

/* *out_text: malloc'd text or JSON summary. */
me_status me_inspect_gguf(const char *path, int json, char **out_text, me_diag *d);

#endif
