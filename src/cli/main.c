/* modelexport <command> ...: dispatch, top-level help and version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char top_help[] =
    "usage: modelexport <command> [options]\n"
    "\n"
    "An ahead-of-time model compiler that needs no Qualcomm SDK: ONNX or GGUF in, a\n"
    "graph in QNN's op vocabulary out, written to our own DLC container (not\n"
    "Qualcomm's), a CPU context binary or QDQ ONNX, and runnable on the embedded\n"
    "CPU runtime.\n"
    "\n"
    "commands:\n"
    "  compile-qnn IN OUT   compile an .onnx or .gguf model (optionally quantised)\n"
    "  run ARTIFACT         run a .dlc or .onnx model on raw input files (qnn-net-run style)\n"
    "  inspect FILE         summarise a .dlc, .bin, .onnx or .gguf file\n"
    "  generate ARTIFACT    generate text with a language model compiled from GGUF\n"
    "  verify FLOAT QUANT   per-layer accuracy of a quantised DLC vs its float DLC\n"
    "  help COMMAND         show a command's help\n"
    "\n"
    "options:\n"
    "  -h, --help           show this help\n"
    "  --version            print the version\n"
    "\n"
    "exit status: 0 success, 1 bad input (unreadable, malformed or unsupported\n"
    "model or data, failed run), 2 bad usage.\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"compile-qnn", cmd_compile_qnn, cli_help_compile_qnn},
    {"run", cmd_run, cli_help_run},
    {"inspect", cmd_inspect, cli_help_inspect},
    {"generate", cmd_generate, cli_help_generate},
    {"verify", cmd_verify, cli_help_verify},
};

static const command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return cli_usage(NULL, "no command given (compile-qnn, run or inspect)");
    const char *a = argv[1];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        fputs(top_help, stdout);
        return 0;
    }
    if (strcmp(a, "--version") == 0) {
        printf("modelexport %d.%d.%d\n", ME_VERSION_MAJOR, ME_VERSION_MINOR, ME_VERSION_PATCH);
        return 0;
    }
    if (strcmp(a, "help") == 0) {
        if (argc == 2) {
            fputs(top_help, stdout);
            return 0;
        }
        const command *c = find_command(argv[2]);
        if (!c) return cli_usage(NULL, "unknown command '%s'", argv[2]);
        if (argc > 3) return cli_usage(NULL, "help takes one command name");
        fputs(c->help, stdout);
        return 0;
    }
    const command *c = find_command(a);
    if (!c) {
        if (a[0] == '-') return cli_usage(NULL, "unknown option '%s'", a);
        return cli_usage(NULL, "unknown command '%s'", a);
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(c->help, stdout);
            return 0;
        }
    }
    return c->fn(argc - 2, argv + 2);
}
