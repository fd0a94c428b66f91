/* modelexport verify FLOAT.dlc QUANT.dlc --input-list LIST [--json FILE] */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_help_verify[] =
    "usage: modelexport verify FLOAT.dlc QUANT.dlc --input-list LIST [--json FILE] [--threads N]\n"
    "\n"
    "Run a float artifact and its quantised version on every line of a QNN input list\n"
    "and compare every tensor present in both (by name; quantised tensors are\n"
    "dequantised): SQNR in dB, cosine similarity and max abs error, worst first,\n"
    "grouped by hierarchy scope, then one line \"output SQNR: X dB\" per graph output.\n"
    "\n"
    "options:\n"
    "  --input-list LIST   raw input files, as for `run` (required)\n"
    "  --json FILE         also write the report as JSON\n"
    "  --threads N         kernel threads (default: the number of online cores; the\n"
    "                      figures do not depend on it)\n"
    "  -h, --help          show this help\n";

int cmd_verify(int argc, char **argv) {
    static const char *cmd = "verify";
    const char *pos[2] = {NULL, NULL}, *list = NULL, *json = NULL, *v;
    int n_pos = 0, threads = 0, mt;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (n_pos >= 2) return cli_usage(cmd, "unexpected argument '%s'", a);
            pos[n_pos++] = a;
            continue;
        }
        int m = cli_opt_value(argc, argv, &i, "--input-list", &v);
        if (m == 0) m = cli_opt_value(argc, argv, &i, "--input_list", &v);
        if (m < 0) return cli_usage(cmd, "--input-list needs a value");
        if (m > 0) { list = v; continue; }
        if ((mt = cli_threads_flag(cmd, argc, argv, &i, &threads)) != 0) {
            if (mt < 0) return -mt;
            continue;
        }
        m = cli_opt_value(argc, argv, &i, "--json", &v);
        if (m < 0) return cli_usage(cmd, "--json needs a value");
        if (m > 0) { json = v; continue; }
        return cli_usage(cmd, "unknown option '%s'", a);
    }
    if (n_pos < 2) return cli_usage(cmd, "verify needs FLOAT.dlc and QUANT.dlc");
    if (!list) return cli_usage(cmd, "verify needs --input-list LIST");
    char *table = NULL;
    me_error *err = NULL;
    if (me_verify_threads(pos[0], pos[1], list, json, threads, &table, &err) != ME_OK) return cli_api_error(err);
    fputs(table, stdout);
    me_string_free(table);
    return 0;
}
