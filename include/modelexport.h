/* modelexport — public C API.
 *
 * An SDK-free ahead-of-time model compiler: ONNX in, a graph in QNN's op
 * vocabulary, written to our own DLC container (see docs/dlc-format.md), and
 * executed by an embedded CPU runtime.
 *
 * Typical use:
 *
 *   me_compile_options o; me_compile_options_init(&o);
 *   me_error *err = NULL;
 *   if (me_compile("model.onnx", "model.dlc", &o, &err) != ME_OK) {
 *       fprintf(stderr, "%s\n", me_error_message(err)); me_error_free(err);
 *   }
 *
 *   me_model *m; me_session *s;
 *   me_model_load("model.dlc", NULL, &m, &err);
 *   me_session_create(m, &s, &err);
 *   me_session_set_input(s, 0, data, nbytes, &err);
 *   me_session_run(s, &err);
 *   me_session_get_output(s, 0, &ptr, &nbytes);
 *   me_session_destroy(s); me_model_free(m);
 *
 * Every function that can fail returns me_status; when `err` is non-NULL and the
 * call fails, *err receives a diagnostic that the caller frees with
 * me_error_free. Destroy/free functions accept NULL.
 */
#ifndef MODELEXPORT_H
#define MODELEXPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ME_VERSION_MAJOR 0
#define ME_VERSION_MINOR 1
#define ME_VERSION_PATCH 0

typedef enum me_status {
    ME_OK = 0,
    ME_ERR_INVALID_ARG,  /* API misuse or bad option value */
    ME_ERR_IO,           /* file could not be read/written */
    ME_ERR_FORMAT,       /* malformed input file */
    ME_ERR_UNSUPPORTED,  /* well-formed but not supported (op, dtype, feature) */
    ME_ERR_NOMEM,        /* allocation failed or a size limit was hit */
    ME_ERR_INTERNAL      /* a bug: an invariant did not hold */
} me_status;

const char *me_status_str(me_status st);

/* ---- diagnostics ---- */
typedef struct me_error me_error;
const char *me_error_message(const me_error *err); /* never NULL */
void me_error_free(me_error *err);

/* ---- data types of graph inputs/outputs ---- */
typedef enum me_dtype {
    ME_DT_UNDEFINED = 0,
    ME_DT_F32,
    ME_DT_F16,
    ME_DT_I64,
    ME_DT_I32,
    ME_DT_I16,
    ME_DT_I8,
    ME_DT_U64,
    ME_DT_U32,
    ME_DT_U16,
    ME_DT_U8,
    ME_DT_BOOL,
    ME_DT_F64,
    ME_DT_BF16,
    ME_DT_I4,  /* packed two per byte, low nibble first (quantised weights) */
    ME_DT_U4,
    ME_DT_BLOCKQ, /* block-quantised storage (GGML blocks; see the tensor's encoding) */
    ME_DT_COUNT
} me_dtype;

const char *me_dtype_name(me_dtype dt);
size_t me_dtype_size(me_dtype dt); /* bytes per element; 0 for packed 4-bit */

#define ME_MAX_RANK 8

typedef struct me_tensor_info {
    const char *name;
    me_dtype dtype;
    int rank;
    int64_t dims[ME_MAX_RANK];
    size_t nbytes;
} me_tensor_info;

/* ---- compiling ---- */
typedef enum me_format {
    ME_FORMAT_AUTO = 0,     /* from the output file's extension */
    ME_FORMAT_DLC,
    ME_FORMAT_CPP,
    ME_FORMAT_CONTEXT_BINARY,
    ME_FORMAT_ONNX_QDQ
} me_format;

typedef struct me_input_dim {
    const char *name;
    int rank;
    int64_t dims[ME_MAX_RANK];
} me_input_dim;

/* A graph input whose value is fixed at compile time (it becomes a constant
 * and is no longer an input of the artifact). Static compilation needs this
 * for inputs that feed shapes, axes, pads or counts. */
typedef struct me_frozen_input {
    const char *name;
    const char *path; /* raw file in the input's dtype, little-endian */
} me_frozen_input;

typedef void (*me_notice_fn)(void *user, const char *message);

/* Facts about a compiled artifact, for summaries (see me_compile_options.stats). */
typedef struct me_compile_stats {
    int n_nodes;
    int64_t n_params;       /* elements of all static tensors */
    uint64_t file_bytes;    /* size of the written file */
} me_compile_stats;

/* Encoding algorithms (QNN --param_quantizer / --act_quantizer). */
typedef enum me_quantizer {
    ME_QUANTIZER_TF = 0,      /* min/max, zero exactly representable */
    ME_QUANTIZER_ENHANCED,    /* histogram SQNR search (long-tailed distributions) */
    ME_QUANTIZER_ADJUSTED,    /* min/max widened so zero lands on the grid */
    ME_QUANTIZER_SYMMETRIC    /* [-absmax, absmax] */
} me_quantizer;

/* Activation range calibration (QNN --act_quantizer_calibration). */
typedef enum me_calibration {
    ME_CALIB_MIN_MAX = 0,
    ME_CALIB_SQNR,
    ME_CALIB_MSE,
    ME_CALIB_ENTROPY,
    ME_CALIB_PERCENTILE
} me_calibration;

typedef struct me_compile_options {
    me_format format;
    const me_input_dim *input_dims;
    int n_input_dims;
    const me_frozen_input *frozen_inputs;
    int n_frozen_inputs;
    int optimize;           /* 1 (default): run the graph passes; 0: translate only */
    int verify_each_pass;   /* run the IR verifier after every pass (tests) */
    me_notice_fn notice;    /* informational notices (e.g. defaulted dims); may be NULL */
    void *notice_user;
    const char *command_line; /* recorded in the artifact; may be NULL */
    me_compile_stats *stats;  /* filled by a successful me_compile; may be NULL */
    /* ---- quantisation (QNN quantizer flags; see `modelexport help compile-qnn`) ---- */
    int quantize;                 /* 1: produce a quantised graph */
    const char *calibration_list; /* QNN input_list of raw input files (calibration data) */
    int act_bitwidth;             /* 8 (default) or 16 */
    int weights_bitwidth;         /* 8 (default), 4 or 16 */
    int bias_bitwidth;            /* 32 (default) or 8 */
    int float_bitwidth;           /* 32 (default) or 16: precision of ops left in float */
    me_quantizer param_quantizer; /* weights (default ME_QUANTIZER_TF) */
    me_quantizer act_quantizer;   /* activations (default ME_QUANTIZER_TF) */
    me_calibration act_calibration; /* how an activation's range is picked (default MIN_MAX) */
    double percentile_value;      /* for ME_CALIB_PERCENTILE, in [90, 100]; default 99.99 */
    int per_channel;              /* per-output-channel conv weights */
    int per_row;                  /* per-row FullyConnected / MatMul weights */
    const char *quantization_overrides; /* encodings JSON (either QNN schema); may be NULL */
    int float_fallback;           /* quantise only what the overrides give; no calibration */
    const char *export_encodings; /* write the encodings used (legacy QNN schema) here */
    const char *save_calibration; /* write the calibration statistics here */
    const char *load_calibration; /* read statistics instead of running the calibration data */
    const char *report_path;      /* accuracy report JSON; NULL = OUT + ".report.json", "" = none */
    char **report_text;           /* if non-NULL, receives the report table (me_string_free) or NULL */
    /* ---- GGUF language models (compile-qnn model.gguf) ---- */
    int llm_seq_len;              /* tokens per prefill run; 0 = 64 */
    int llm_context_length;       /* KV-cache rows; 0 = min(the model's context length, 4096) */
    int llm_float;                /* 1: dequantise every weight to float32 */
    /* ---- context binary (ME_FORMAT_CONTEXT_BINARY) ---- */
    const char *backend;          /* NULL or "cpu"; "htp", "dsp", "gpu" are refused (they need the QNN SDK) */
    const char *device;           /* CPU target: NULL or "native", "x86-64-v3", "x86-64-v4",
                                   * "armv8.2-a+dotprod", ... (see docs/context-binary-format.md) */
} me_compile_options;

void me_compile_options_init(me_compile_options *o);

/* Compile `in_path` (.onnx) to `out_path`. The output is written to a
 * temporary file and renamed, so a failed compile leaves no file behind. */
me_status me_compile(const char *in_path, const char *out_path,
                     const me_compile_options *opts, me_error **err);

/* ---- loading and running ---- */
typedef struct me_model me_model;
typedef struct me_session me_session;

typedef struct me_load_options {
    /* Used when the path is an .onnx file, which is compiled in memory. */
    const me_compile_options *compile;
} me_load_options;

me_status me_model_load(const char *path, const me_load_options *opts,
                        me_model **out, me_error **err);
void me_model_free(me_model *m);

int me_model_num_inputs(const me_model *m);
int me_model_num_outputs(const me_model *m);
me_status me_model_input_info(const me_model *m, int index, me_tensor_info *out);
me_status me_model_output_info(const me_model *m, int index, me_tensor_info *out);
int me_model_find_input(const me_model *m, const char *name);  /* -1 if absent */
int me_model_find_output(const me_model *m, const char *name); /* -1 if absent */

me_status me_session_create(const me_model *m, me_session **out, me_error **err);
void me_session_destroy(me_session *s);
/* Copies `nbytes` (which must equal the input's nbytes) into the session. */
me_status me_session_set_input(me_session *s, int index, const void *data,
                               size_t nbytes, me_error **err);
me_status me_session_run(me_session *s, me_error **err);
/* The pointer stays valid until the next run or destroy. */
me_status me_session_get_output(const me_session *s, int index,
                                const void **data, size_t *nbytes);
/* Threads the session's kernels split their work over: n_threads >= 1, or 0
 * for the number of online cores (what a new session uses). Outputs do not
 * depend on the thread count. */
me_status me_session_set_threads(me_session *s, int n_threads, me_error **err);
/* Called during me_session_run after each node, once per tensor the node
 * produced (graph outputs included), with the tensor's info and its bytes in
 * their own dtype (quantised tensors as their integer codes), valid only during
 * the call. fn NULL removes it. For dumping every layer (`run --debug`, as
 * qnn-net-run --debug); run times then include the callbacks. */
typedef void (*me_tensor_observer)(void *user, const me_tensor_info *info, const void *data);
me_status me_session_set_observer(me_session *s, me_tensor_observer fn, void *user);

/* ---- verifying a quantised artifact ---- */
/* Run FLOAT_DLC and QUANT_DLC over every entry of a QNN input list and
 * compare every tensor present in both (by name; quantised tensors are
 * dequantised): SQNR, cosine similarity, max abs error. Writes JSON to
 * json_path when non-NULL; *table (may be NULL) receives a readable table
 * (me_string_free). */
me_status me_verify(const char *float_dlc, const char *quant_dlc, const char *input_list,
                    const char *json_path, char **table, me_error **err);
/* The same with the kernels split over n_threads (0 = every core, as
 * me_verify does; the figures do not depend on it). */
me_status me_verify_threads(const char *float_dlc, const char *quant_dlc, const char *input_list,
                            const char *json_path, int n_threads, char **table, me_error **err);

/* ---- language models compiled from GGUF (docs/llm.md) ---- */
/* A session owns the KV cache and the position; the model must outlive it. */
typedef struct me_llm_session me_llm_session;

/* ME_ERR_INVALID_ARG if the model is not a compiled language model. */
me_status me_llm_session_create(const me_model *m, me_llm_session **out, me_error **err);
void me_llm_session_destroy(me_llm_session *s);
/* Feed n token ids at the next positions (prefill chunks of the compiled
 * sequence length, or one-token decode steps). logits_out may be NULL; with
 * all_rows it receives [n][vocab] floats, otherwise the last row [vocab].
 * Fails with ME_ERR_INVALID_ARG when the context would overflow. */
me_status me_llm_session_eval(me_llm_session *s, const int32_t *tokens, int n, float *logits_out, int all_rows,
                              me_error **err);
void me_llm_session_reset(me_llm_session *s);  /* forget the cache: position 0 */
/* Threads for the session's kernels (as me_session_set_threads; 0 = all cores). */
me_status me_llm_session_set_threads(me_llm_session *s, int n_threads, me_error **err);
int me_llm_session_position(const me_llm_session *s);

int me_llm_vocab_size(const me_model *m);      /* 0 if not a language model */
int me_llm_context_length(const me_model *m);  /* KV-cache rows */
int me_llm_token_bos(const me_model *m);       /* -1 if none */
int me_llm_token_eos(const me_model *m);       /* -1 if none */
/* Text -> ids with the model's own tokenizer (add_special: BOS/EOS as the
 * vocabulary asks). *out (free with free()) receives *n_out ids. */
me_status me_llm_tokenize(const me_model *m, const char *text, int add_special, int32_t **out, int *n_out,
                          me_error **err);
/* The bytes id stands for (byte-fallback and byte-level tokens decoded;
 * control tokens give ""). Returns the length written (without the NUL,
 * truncated to cap - 1), or -1 for a bad id. */
int me_llm_token_to_piece(const me_model *m, int32_t id, char *buf, size_t cap);

/* ---- inspecting ---- */
/* Writes a human-readable (json == 0) or JSON (json == 1) summary of an .onnx
 * or .dlc file: inputs/outputs, op histogram, parameter count, hierarchy tree.
 * The returned string is freed with me_string_free. */
me_status me_inspect(const char *path, int json, char **out_text, me_error **err);
void me_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
