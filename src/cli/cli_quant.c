/* compile-qnn's quantisation options (QNN quantizer names; the underscore
 * spellings QNN uses are accepted as aliases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Option name of argv[i] with '_' read as '-' (up to '='), compared with `name`. */
static int name_is(const char *arg, const char *name) {
    size_t i = 0;
    for (; arg[i] && arg[i] != '='; i++) {
        char c = arg[i] == '_' ? '-' : arg[i];
        if (c != name[i]) return 0;
    }
    return name[i] == 0;
}

/* 1 matched (value in *val), 0 not this option, -1 value missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    if (!name_is(a, name)) return 0;
    const char *eq = strchr(a, '=');
    if (eq) { *val = eq + 1; return 1; }
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

static int pick(const char *v, const char *const *names, int n) {
    for (int k = 0; k < n; k++)
        if (strcmp(v, names[k]) == 0) return k;
    return -1;
}

static int parse_bw(const char *cmd, const char *opt, const char *v, const int *ok, int n_ok, int *out) {
    int64_t x;
    if (cli_parse_i64(v, &x) == 0)
        for (int k = 0; k < n_ok; k++)
            if (x == ok[k]) { *out = (int)x; return 0; }
    char allowed[64] = "";
    for (int k = 0; k < n_ok; k++) snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%d", k ? "|" : "", ok[k]);
    return -cli_usage(cmd, "%s: bad value '%s' (choose %s)", opt, v, allowed);
}

static const char *const quantizers[] = {"tf", "enhanced", "adjusted", "symmetric"};
static const char *const calibrations[] = {"min-max", "sqnr", "mse", "entropy", "percentile"};

int cli_quant_flag(const char *cmd, int argc, char **argv, int *i, cli_quant_flags *q) {
    const char *a = argv[*i], *v = NULL;
    static const struct { const char *name; int which; } flags[] = {
        {"--quantize", 0}, {"--use-per-channel-quantization", 1}, {"--use-per-row-quantization", 2},
        {"--float-fallback", 3},
    };
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (name_is(a, flags[k].name) && !strchr(a, '=')) {
            switch (flags[k].which) {
            case 0: q->quantize = 1; break;
            case 1: q->per_channel = 1; break;
            case 2: q->per_row = 1; break;
            default: q->float_fallback = 1; break;
            }
            q->any = q->any || flags[k].which != 0;
            return 1;
        }
    static const struct { const char *name; int which; } valued[] = {
        {"--calibration-data", 0}, {"--input-list", 0}, {"--act-bitwidth", 1}, {"--act-bw", 1},
        {"--weights-bitwidth", 2}, {"--weight-bw", 2}, {"--bias-bitwidth", 3}, {"--bias-bw", 3},
        {"--float-bitwidth", 4}, {"--float-bw", 4}, {"--param-quantizer", 5}, {"--act-quantizer", 6},
        {"--act-quantizer-calibration", 7}, {"--percentile-calibration-value", 8}, {"--quantization-overrides", 9},
        {"--export-encodings", 10}, {"--save-calibration", 11}, {"--load-calibration", 12}, {"--report", 13},
    };
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        int m = opt_value(argc, argv, i, valued[k].name, &v);
        if (m == 0) continue;
        if (m < 0 || !*v) return -cli_usage(cmd, "%s needs a value", valued[k].name);
        static const int act_bw[] = {8, 16}, w_bw[] = {4, 8, 16}, b_bw[] = {8, 32}, f_bw[] = {32, 16};
        int w = valued[k].which;
        if (w != 4) q->any = 1;
        switch (w) {
        case 0: q->calibration_list = v; return 1;
        case 1: { int r = parse_bw(cmd, valued[k].name, v, act_bw, 2, &q->act_bitwidth); return r ? r : 1; }
        case 2: { int r = parse_bw(cmd, valued[k].name, v, w_bw, 3, &q->weights_bitwidth); return r ? r : 1; }
        case 3: { int r = parse_bw(cmd, valued[k].name, v, b_bw, 2, &q->bias_bitwidth); return r ? r : 1; }
        case 4: { int r = parse_bw(cmd, valued[k].name, v, f_bw, 2, &q->float_bitwidth); return r ? r : 1; }
        case 5: case 6: {
            int p = pick(v, quantizers, 4);
            if (p < 0) return -cli_usage(cmd, "%s: unknown quantizer '%s' (choose tf, enhanced, adjusted or symmetric)", valued[k].name, v);
            if (w == 5) q->param_quantizer = p + 1;
            else q->act_quantizer = p + 1;
            return 1;
        }
        case 7: {
            int p = pick(v, calibrations, 5);
            if (p < 0)
                return -cli_usage(cmd, "%s: unknown calibration '%s' (choose min-max, sqnr, mse, entropy or percentile)",
                                  valued[k].name, v);
            q->act_calibration = p + 1;
            return 1;
        }
        case 8: {
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x >= 90 && x <= 100))
                return -cli_usage(cmd, "%s: '%s' is not a number in [90, 100]", valued[k].name, v);
            q->percentile = x;
            return 1;
        }
        case 9: q->overrides = v; return 1;
        case 10: q->export_encodings = v; return 1;
        case 11: q->save_calibration = v; return 1;
        case 12: q->load_calibration = v; return 1;
        default: q->report = v; return 1;
        }
    }
    return 0;
}

int cli_quant_apply(const char *cmd, const cli_quant_flags *q, me_compile_options *o) {
    int implied = q->calibration_list || q->load_calibration || q->overrides || q->float_fallback;
    int quantize = q->quantize || implied;
    if (q->any && !quantize)
        return cli_usage(cmd, "quantisation options need --quantize with --calibration-data, --load-calibration or "
                              "--quantization-overrides");
    if (quantize && !implied)
        return cli_usage(cmd, "--quantize needs --calibration-data LIST, --load-calibration FILE or --quantization-overrides FILE");
    if (q->float_fallback && (q->calibration_list || q->load_calibration))
        return cli_usage(cmd, "--float-fallback uses only override encodings; it cannot be combined with calibration data");
    if (q->float_fallback && !q->overrides) return cli_usage(cmd, "--float-fallback needs --quantization-overrides");
    if (q->calibration_list && q->load_calibration)
        return cli_usage(cmd, "give --calibration-data or --load-calibration, not both");
    if (q->save_calibration && !q->calibration_list) return cli_usage(cmd, "--save-calibration needs --calibration-data");
    if (q->percentile && q->act_calibration != 1 + 4)
        return cli_usage(cmd, "--percentile-calibration-value applies only with --act-quantizer-calibration percentile");
    if (q->report && !q->calibration_list) return cli_usage(cmd, "--report needs --calibration-data");
    o->quantize = quantize;
    o->calibration_list = q->calibration_list;
    if (q->act_bitwidth) o->act_bitwidth = q->act_bitwidth;
    if (q->weights_bitwidth) o->weights_bitwidth = q->weights_bitwidth;
    if (q->bias_bitwidth) o->bias_bitwidth = q->bias_bitwidth;
    if (q->float_bitwidth) o->float_bitwidth = q->float_bitwidth;
    if (q->param_quantizer) o->param_quantizer = (me_quantizer)(q->param_quantizer - 1);
    if (q->act_quantizer) o->act_quantizer = (me_quantizer)(q->act_quantizer - 1);
    if (q->act_calibration) o->act_calibration = (me_calibration)(q->act_calibration - 1);
    if (q->percentile) o->percentile_value = q->percentile;
    o->per_channel = q->per_channel;
    o->per_row = q->per_row;
    o->quantization_overrides = q->overrides;
    o->float_fallback = q->float_fallback;
    o->export_encodings = q->export_encodings;
    o->save_calibration = q->save_calibration;
    o->load_calibration = q->load_calibration;
    o->report_path = q->report;
    return 0;
}
