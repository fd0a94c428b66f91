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
int cmd_generate(int argc, char **argv);
extern const char cli_help_generate[];

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

/* compile-qnn's quantisation options (cli_quant.c). Zero = not given. */
typedef struct cli_quant_flags {
    int quantize, per_channel, per_row, float_fallback, any;
    int act_bitwidth, weights_bitwidth, bias_bitwidth, float_bitwidth;
    int param_quantizer, act_quantizer, act_calibration; /* enum value + 1 */
    double percentile;
    const char *calibration_list, *overrides, *export_encodings, *save_calibration, *load_calibration, *report;
} cli_quant_flags;
/* Parses one quantisation option at argv[*i]: 1 consumed, 0 not one of
 * them, or -CLI_EXIT_USAGE (message printed). */
int cli_quant_flag(const char *cmd, int argc, char **argv, int *i, cli_quant_flags *q);
/* Checks combinations and fills o; 0 or CLI_EXIT_USAGE (message printed). */
int cli_quant_apply(const char *cmd, const cli_quant_flags *q, me_compile_options *o);
extern const char cli_help_compile_quant[];

int cmd_verify(int argc, char **argv);
extern const char cli_help_verify[];

/* --threads N (run, generate, verify; cli_threads.c): 1 consumed (*threads
 * set, 1..4096), 0 not this option, or -CLI_EXIT_USAGE (message printed).
 * Leave *threads 0 for the default, the number of online cores. */
int cli_threads_flag(const char *cmd, int argc, char **argv, int *i, int *threads);
/* The help line for it, shared by the commands' help texts. */
#define CLI_HELP_THREADS                                                                      \
    "  --threads N               kernel threads (default: the number of online cores); outputs\n" \
    "                            do not depend on it. ME_ISA=generic|avx2|avx512 in the\n"       \
    "                            environment caps the SIMD kernels (docs/kernels.md)\n"

/* Strict decimal integer parse of the whole string; 0 on success. */
int cli_parse_i64(const char *s, int64_t *out);

void cli_fmt_bytes(char *buf, size_t n, uint64_t bytes);  /* "44.9 MB" */
void cli_fmt_si(char *buf, size_t n, int64_t count);      /* "11.2M" */

/* argv joined into one line (quoted where needed), for recording; malloc'd. */
char *cli_join_command(int argc, char **argv);

#endif
