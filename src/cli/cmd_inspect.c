/* modelexport inspect FILE [--json] */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_help_inspect[] =
    "usage: modelexport inspect FILE [--json]\n"
    "\n"
    "Summarise a .dlc or .onnx file: inputs and outputs (dtype, shape), the op histogram\n"
    "(QNN op type names with counts), the parameter count (elements of all constant\n"
    "tensors) and the scope hierarchy, each scope with the number of IR nodes under it.\n"
    "For a DLC also its format version, producer, source model SHA-256 and the recorded\n"
    "compile command; for a context binary (.bin) also its CPU target, memory plan and\n"
    "the kernel chosen for each node. An .onnx file is shown as it compiles in memory\n"
    "with the default options (after the graph passes).\n"
    "\n"
    "options:\n"
    "  --json       print JSON instead of text\n"
    "  -h, --help   show this help\n";

int cmd_inspect(int argc, char **argv) {
    static const char *cmd = "inspect";
    const char *path = NULL;
    int json = 0, only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (path) return cli_usage(cmd, "unexpected argument '%s'", a);
            path = a;
        } else if (strcmp(a, "--") == 0) {
            only_pos = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else {
            return cli_usage(cmd, "unknown option '%s'", a);
        }
    }
    if (!path) return cli_usage(cmd, "inspect needs a FILE");
    char *text = NULL;
    me_error *err = NULL;
    if (me_inspect(path, json, &text, &err) != ME_OK) return cli_api_error(err);
    fputs(text, stdout);
    me_string_free(text);
    return 0;
}
