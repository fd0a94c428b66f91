/* The --threads option shared by the commands that run models. */
#include "cli.h"

int cli_threads_flag(const char *cmd, int argc, char **argv, int *i, int *threads) {
    const char *v;
    int mt = cli_opt_value(argc, argv, i, "--threads", &v);
    if (mt == 0) return 0;
    if (mt < 0) return -cli_usage(cmd, "--threads needs a number");
    int64_t t;
    if (cli_parse_i64(v, &t) || t < 1 || t > 4096)
        return -cli_usage(cmd, "--threads: bad number '%s' (expected 1..4096)", v);
    *threads = (int)t;
    return 1;
}
