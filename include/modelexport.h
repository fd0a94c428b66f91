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
