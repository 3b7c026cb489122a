/* options.c - the option table: one entry per flag drives parsing, --help and the docs test. */
#include "cli.h"
#include "s3m/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { FLAG, STR, NUM };

struct opt {
    const char *name;
    int short_name;
    enum kind kind;
    const char *arg, *help;
    size_t off;
};

#define OFF(f) offsetof(struct s3m_opts, f)

static const struct opt table[] = {
    {"config", 0, STR, "FILE", "rclone.conf to read (default: $RCLONE_CONFIG, $S3MIRROR_CONFIG, ~/.config/rclone/rclone.conf)", OFF(config)},
    {"dry-run", 'n', FLAG, NULL, "show what would be copied, updated and deleted; change nothing", OFF(dry_run)},
    {"json", 0, FLAG, NULL, "machine-readable output (JSON lines)", OFF(json)},
    {"verbose", 'v', FLAG, NULL, "more log output (repeat for debug)", OFF(verbose)},
    {"quiet", 'q', FLAG, NULL, "only errors", OFF(quiet)},
    {"log-level", 0, STR, "LEVEL", "error, warn, notice (default), info or debug", OFF(log_level)},
    {"log-format", 0, STR, "FORMAT", "text (default) or json", OFF(log_format)},
    {"connections", 0, NUM, "N", "maximum connections per host (default: transfers + 8)", OFF(connections)},
    {"transfers", 0, NUM, "N", "objects in flight at once (default 32)", OFF(transfers)},
    {"low-level-retries", 0, NUM, "N", "attempts per request on retryable failures (default 5)", OFF(attempts)},
    {"contimeout", 0, NUM, "SECONDS", "connect timeout (default 10)", OFF(contimeout_s)},
    {"timeout", 0, NUM, "SECONDS", "abort a request idle for this long (default 60)", OFF(timeout_s)},
    {"ca-file", 0, STR, "FILE", "CA bundle for HTTPS (default: the system bundle)", OFF(ca_file)},
    {"max-keys", 0, NUM, "N", "keys per listing page (default 1000)", OFF(max_keys)},
    {"help", 'h', FLAG, NULL, "this help", OFF(help)},
    {"version", 'V', FLAG, NULL, "print the version", OFF(version)},
};

void s3m_cli_usage(FILE *out)
{
    fputs("Usage: s3mirror COMMAND [OPTIONS] ARGS...\n\n"
          "Commands:\n"
          "  lsd REMOTE:              list the buckets of a remote\n"
          "  ls REMOTE:BUCKET[/PFX]   list keys with size, modification time and ETag\n"
          "  version                  print the version\n\n"
          "REMOTE is a [section] of rclone.conf (type = s3) or defined by\n"
          "RCLONE_CONFIG_<REMOTE>_<KEY> environment variables.\n\n"
          "Options:\n", out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        const struct opt *t = &table[i];
        char left[64];
        if (t->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", t->short_name, t->name,
                     t->arg ? " " : "", t->arg ? t->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", t->name, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        fprintf(out, "  %-28s %s\n", left, t->help);
    }
    fputs("\nExit codes: 0 ok, 1 usage or config error, 2 other error, 3 bucket not found,\n"
          "5 temporary error, 6 some objects failed, 7 fatal (access denied, TLS),\n"
          "9 nothing transferred (--error-on-no-transfer), 10 check found differences,\n"
          "11 locked by another run.\n", out);
}

int s3m_cli_parse(int argc, char **argv, struct s3m_opts *o, char ***args, int *nargs)
{
    struct option lopts[S3M_ARRAY_LEN(table) + 1];
    char shorts[64] = "+";
    size_t ns = 1;
    memset(lopts, 0, sizeof(lopts));
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        lopts[i].name = table[i].name;
        lopts[i].has_arg = table[i].kind == FLAG ? no_argument : required_argument;
        lopts[i].val = 256 + (int)i;
        if (table[i].short_name) {
            shorts[ns++] = (char)table[i].short_name;
            if (table[i].kind != FLAG)
                shorts[ns++] = ':';
        }
    }
    shorts[ns] = 0;
    *args = s3m_calloc((size_t)argc + 1, sizeof(char *));
    *nargs = 0;
    optind = 1;
    opterr = 0;
    while (optind < argc) {
        int idx = -1;
        int c = getopt_long(argc, argv, shorts, lopts, &idx);
        if (c == -1) { /* a positional argument: keep it, go on parsing after it */
            (*args)[(*nargs)++] = argv[optind++];
            continue;
        }
        const struct opt *t = NULL;
        if (c >= 256)
            t = &table[c - 256];
        for (size_t i = 0; !t && c != '?' && c != ':' && i < S3M_ARRAY_LEN(table); i++)
            if (table[i].short_name == c)
                t = &table[i];
        if (!t) {
            fprintf(stderr, "s3mirror: error: unknown option or missing value: %s\n"
                    "Try 's3mirror --help'.\n", argv[optind - 1]);
            return S3M_EXIT_USAGE;
        }
        char *base = (char *)o + t->off;
        if (t->kind == FLAG) {
            if (!strcmp(t->name, "verbose") || !strcmp(t->name, "quiet"))
                (*(int *)base)++;
            else
                *(bool *)base = true;
        } else if (t->kind == STR) {
            *(const char **)base = optarg;
        } else {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 1000000) {
                fprintf(stderr, "s3mirror: error: --%s: '%s' is not a number from 0 to 1000000\n",
                        t->name, optarg);
                return S3M_EXIT_USAGE;
            }
            if (!strcmp(t->name, "max-keys"))
                *(int *)base = (int)v;
            else
                *(long *)base = v;
        }
    }
    return -1;
}
