/* The modelexport command-line tool. It uses only the public API
 * (include/modelexport.h). Exit status: 0 success, 1 bad input (files,
 * unsupported or malformed models, failed runs), 2 bad usage. */
#ifndef ME_CLI_H
#define ME_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "modelexport.h"

#define CLI_EXIT_INPUT 1
#define CLI_EXIT_USAGE 2

int cmd_compile_qnn(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

extern const char cli_help_compile_qnn[];
extern const char cli_help_run[];
extern const char cli_help_inspect[];

/* "modelexport: error: ..." on stderr; returns CLI_EXIT_INPUT. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same plus "see 'modelexport CMD --help'"; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints an API error (every line of it) and frees it; returns CLI_EXIT_INPUT. */
int cli_api_error(me_error *err);
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Matches argv[*i] against `name`, taking the value from "name=VALUE" or the
 * next argument. Returns 1 matched (value in *val, *i advanced past it),
 * 0 not this option, -1 matched but the value is missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val);

/* Options shared by compile-qnn and run (for .onnx). */
typedef struct cli_compile_flags {
    me_input_dim *dims;
    int n_dims;
    me_frozen_input *frozen;
    int n_frozen;
} cli_compile_flags;

/* Parses --input-dim / --freeze-input at argv[*i]. Returns 1 consumed,
 * 0 not one of them, or CLI_EXIT_USAGE (message printed) as a negative -2. */
int cli_compile_flag(const char *cmd, int argc, char **argv, int *i, cli_compile_flags *f);
void cli_compile_flags_free(cli_compile_flags *f);

/* Strict decimal integer parse of the whole string; 0 on success. */
int cli_parse_i64(const char *s, int64_t *out);

void cli_fmt_bytes(char *buf, size_t n, uint64_t bytes);  /* "44.9 MB" */
void cli_fmt_si(char *buf, size_t n, int64_t count);      /* "11.2M" */

/* argv joined into one line (quoted where needed), for recording; malloc'd. */
char *cli_join_command(int argc, char **argv);

#endif
