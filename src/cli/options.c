/* options.c - the option and command tables: one entry per flag or command drives parsing,
 * --help, the shell completions (`s3mirror completion`) and the docs test, so none can drift. */
#include "cli.h"
#include "s3m/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { FLAG, STR, NUM, RULE, LIST /* repeatable, kept in order (struct s3m_cli_list) */ };

struct opt {
    const char *name;
    int short_name;
    enum kind kind;
    const char *arg, *help;
    size_t off;
};

#define OFF(f) offsetof(struct s3m_opts, f)

static const struct opt table[] = {
    {"config", 0, STR, "FILE",
     "rclone.conf to read (default: $RCLONE_CONFIG, $S3MIRROR_CONFIG, "
     "~/.config/rclone/rclone.conf)",
     OFF(config)},
    {"dry-run", 'n', FLAG, NULL, "show what would be copied, updated and deleted; change nothing",
     OFF(dry_run)},
    {"json", 0, FLAG, NULL, "machine-readable output (JSON lines)", OFF(json)},
    {"verbose", 'v', FLAG, NULL, "more log output (repeat for debug)", OFF(verbose)},
    {"quiet", 'q', FLAG, NULL, "only errors", OFF(quiet)},
    {"log-level", 0, STR, "LEVEL", "error, warn, notice (default), info or debug", OFF(log_level)},
    {"log-format", 0, STR, "FORMAT", "text (default) or json", OFF(log_format)},
    {"log-file", 0, STR, "FILE",
     "append log lines to FILE instead of stderr (reopened on SIGHUP, for logrotate)",
     OFF(log_file)},
    {"progress", 'P', FLAG, NULL,
     "live progress line on stderr (default when stderr is a terminal)", OFF(progress)},
    {"no-progress", 0, FLAG, NULL, "no live progress line", OFF(no_progress)},
    {"stats", 0, STR, "INTERVAL",
     "log a progress line every INTERVAL (e.g. 30s, 5m; 0 = off, the default)", OFF(stats)},
    {"connections", 0, NUM, "N", "maximum connections per host (default: transfers + 8)",
     OFF(connections)},
    {"transfers", 0, NUM, "N", "objects in flight at once (default 128)", OFF(transfers)},
    {"low-level-retries", 0, NUM, "N", "attempts per request on retryable failures (default 5)",
     OFF(attempts)},
    {"contimeout", 0, NUM, "SECONDS", "connect timeout (default 10)", OFF(contimeout_s)},
    {"timeout", 0, NUM, "SECONDS", "abort a request idle for this long (default 60)",
     OFF(timeout_s)},
    {"ca-file", 0, STR, "FILE", "CA bundle for HTTPS (default: the system bundle)", OFF(ca_file)},
    {"bwlimit", 0, STR, "RATE",
     "bandwidth limit for the whole run, rclone's syntax: 10M (bytes/s; a bare number is KiB/s), "
     "UP:DOWN (writes:reads), or a timetable \"06:00,20M 22:00,off\" (also Mon-08:00,512k)",
     OFF(bwlimit)},
    {"bwlimit-tz", 0, STR, "ZONE",
     "the --bwlimit timetable's times are utc (default) or local (the TZ environment variable)",
     OFF(bwlimit_tz)},
    {"tpslimit", 0, STR, "N", "at most N requests per second to each endpoint (0 = no limit)",
     OFF(tpslimit)},
    {"tpslimit-burst", 0, STR, "B", "with --tpslimit: up to B requests at once (default 1)",
     OFF(tpslimit_burst)},
    {"max-keys", 0, NUM, "N", "keys per listing page (default 1000)", OFF(max_keys)},
    {"compare", 0, STR, "MODE",
     "etag (default: size and ETag), size, size-mtime or checksum (also reads both sides where "
     "ETags cannot be compared); MODE,tags (or tags: etag,tags) also reads both sides' tags of "
     "objects otherwise equal and updates differing tags alone",
     OFF(compare)},
    {"no-tags", 0, FLAG, NULL, "neither copy nor compare object tags", OFF(no_tags)},
    {"include", 0, RULE, "GLOB", "only objects matching GLOB (repeatable; rclone glob rules)", 1},
    {"exclude", 0, RULE, "GLOB", "leave objects matching GLOB alone, on both sides (repeatable)",
     0},
    {"min-size", 0, STR, "SIZE", "only objects of at least SIZE (e.g. 10k, 5M, 1G)", OFF(min_size)},
    {"max-size", 0, STR, "SIZE", "only objects of at most SIZE", OFF(max_size)},
    {"min-age", 0, STR, "AGE", "only objects older than AGE (e.g. 30s, 15m, 2h, 7d, 1w)",
     OFF(min_age)},
    {"max-age", 0, STR, "AGE", "only objects younger than AGE", OFF(max_age)},
    {"max-delete", 0, STR, "N|P%",
     "delete nothing and fail if more than N objects (or P% of the destination) would be deleted",
     OFF(max_delete)},
    {"max-change", 0, STR, "N|P%",
     "refuse every update and deletion (new objects are still copied) and exit 12 if more than "
     "N (or P% of the destination) would be updated or deleted",
     OFF(max_change)},
    {"copy-last", 0, LIST, "GLOB",
     "copy objects matching GLOB only after all others were copied (repeatable: each one a later "
     "tier); delete them first",
     OFF(copy_last)},
    {"layout", 0, STR, "NAME",
     "order copies for a backup repository: restic, kopia, velero, elasticsearch, wal-g, "
     "pgbackrest, or auto (detected per bucket)",
     OFF(layout)},
    {"backup-dir", 0, STR, "REMOTE:PATH",
     "move what would be deleted or overwritten there first (same endpoint and credentials as "
     "DST, not overlapping it)",
     OFF(backup_dir)},
    {"suffix", 0, STR, "SUFFIX",
     "with --backup-dir: add SUFFIX to the backed-up keys (a date: --suffix -2026-01-31)",
     OFF(suffix)},
    {"suffix-keep-extension", 0, FLAG, NULL,
     "put --suffix before the extension (file-SUFFIX.txt, file-SUFFIX.tar.gz)",
     OFF(suffix_keep_extension)},
    {"immutable", 0, FLAG, NULL,
     "never update an existing destination object: a differing one is an error (exit 13), "
     "nothing is deleted",
     OFF(immutable)},
    {"allow-empty-source", 0, FLAG, NULL,
     "let an empty source listing delete everything on the destination", OFF(allow_empty_source)},
    {"plan", 0, STR, "FILE", "write the plan (every copy, update, delete) as JSON lines",
     OFF(plan)},
    {"error-on-no-transfer", 0, FLAG, NULL, "exit 9 when nothing was copied, updated or deleted",
     OFF(error_on_no_transfer)},
    {"multipart-concurrency", 0, NUM, "N", "parts of one object in flight (default 4)",
     OFF(multipart_concurrency)},
    {"multipart-threshold", 0, STR, "SIZE",
     "single-part sources above SIZE go as multipart (default 5G: kept single-part so ETags stay "
     "comparable)",
     OFF(multipart_threshold)},
    {"multipart-chunk-size", 0, STR, "SIZE",
     "part size for those (default 64M; multipart sources keep their own layout)",
     OFF(multipart_chunk_size)},
    {"buffer-size", 0, STR, "SIZE", "stream buffer per transfer (default 1M)",
     OFF(multipart_chunk_buffer)},
    {"max-buffer-memory", 0, STR, "SIZE",
     "stream buffers of all transfers together (default 128M; 0: no limit)",
     OFF(max_buffer_memory)},
    {"retries", 0, NUM, "N", "attempts per object (default 3)", OFF(retries)},
    {"no-resume", 0, FLAG, NULL,
     "never resume a multipart upload an earlier run left: restart it (the leftover is aborted at "
     "the end)",
     OFF(no_resume)},
    {"no-server-side-copy", 0, FLAG, NULL, "stream even between buckets of one endpoint",
     OFF(no_server_side)},
    {"lock-file", 0, STR, "FILE",
     "lock held for the run (default: one per SRC/DST pair in $XDG_RUNTIME_DIR or /tmp); a second "
     "run exits 11",
     OFF(lock_file)},
    {"no-lock", 0, FLAG, NULL, "run without the job lock", OFF(no_lock)},
    {"metrics-file", 0, STR, "FILE",
     "write a Prometheus textfile (node_exporter textfile collector) with the run's outcome",
     OFF(metrics_file)},
    {"metrics-push", 0, STR, "URL",
     "push the run's series (those of --metrics-file) to the Prometheus Pushgateway at URL (its "
     "base, e.g. http://pushgateway:9091), grouped by job; a failed push is a warning",
     OFF(metrics_push)},
    {"notify-url", 0, STR, "URL",
     "healthchecks-style pings: POST URL/start at the start, URL on success (exit 0 or 9), "
     "URL/fail otherwise, the summary as the body; a failed ping is a warning",
     OFF(notify_url)},
    {"max-duration", 0, STR, "DURATION",
     "cut the run off after DURATION from its start (e.g. 45m, 2h; listings included): nothing "
     "deleted, what is left is reported, exit 15",
     OFF(max_duration)},
    {"cutoff-mode", 0, STR, "MODE",
     "at --max-duration: hard (default: stop transfers at once), soft (start no new ones, let "
     "those running finish) or cautious (also start none that would not finish in time)",
     OFF(cutoff_mode)},
    {"list-concurrency", 0, NUM, "N",
     "key ranges listed at once, found from the common prefixes under '/' (default 8; 1 = one "
     "sequential listing)",
     OFF(list_concurrency)},
    {"shard", 0, STR, "INDEX/COUNT",
     "do only shard INDEX of COUNT: key ranges from --shard-boundaries, else a hash of the key",
     OFF(shard)},
    {"shard-boundaries", 0, STR, "FILE",
     "key ranges written by shard-plan (without --shard: list them all at once)",
     OFF(shard_boundaries)},
    {"output", 'o', STR, "FILE", "shard-plan: write the boundaries to FILE (default stdout)",
     OFF(output)},
    {"help", 'h', FLAG, NULL, "this help", OFF(help)},
    {"version", 'V', FLAG, NULL, "print the version", OFF(version)},
};

/* The options that change only how a run goes or what it tells (output, logging, tuning),
 * never what it does. Every other option shapes what is done: a plan records it in its header
 * and `apply` refuses it on its own command line (it comes from the plan). So an option added
 * to the table shapes plans unless it is named here. */
static const char runtime_only[] =
    " config dry-run json verbose quiet log-level log-format log-file progress no-progress stats"
    " connections transfers low-level-retries contimeout timeout ca-file max-keys plan"
    " error-on-no-transfer multipart-concurrency buffer-size retries no-server-side-copy"
    " lock-file no-lock metrics-file list-concurrency output help version"
    " metrics-push notify-url max-duration cutoff-mode"
    " bwlimit bwlimit-tz tpslimit tpslimit-burst max-buffer-memory ";

static bool shapes_plan(const struct opt *t)
{
    char word[64];
    snprintf(word, sizeof(word), " %s ", t->name);
    return !strstr(runtime_only, word);
}

/* an option that shapes the plan, kept as "--name" or "--name=value" (one argument, whatever
 * the value starts with) */
static void keep_plan_arg(struct s3m_opts *o, const struct opt *t, const char *arg)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "--%s%s%s", t->name, t->kind == FLAG ? "" : "=", t->kind == FLAG ? "" : arg);
    o->plan_args = s3m_realloc(o->plan_args, (size_t)(o->nplan_args + 1) * sizeof(char *));
    o->plan_args[o->nplan_args++] = s3m_buf_detach(&b);
}

void s3m_cli_opts_cleanup(struct s3m_opts *o)
{
    for (int i = 0; i < o->nplan_args; i++)
        free(o->plan_args[i]);
    free(o->plan_args);
    o->plan_args = NULL;
    o->nplan_args = 0;
}

static const struct cmd {
    const char *name, *args, *help;
} commands[] = {
    {"lsd", "REMOTE:", "list the buckets of a remote"},
    {"lsd", "REMOTE:BUCKET[/PATH]", "list the folders directly inside a bucket or folder"},
    {"sync", "SRC DST", "make DST identical to SRC (copies, updates, deletes)"},
    {"copy", "SRC DST", "like sync, without deletes"},
    {"check", "SRC DST", "compare and report differences; change nothing"},
    {"apply", "PLAN", "run a dry run's --plan: only its actions, on the objects it saw"},
    {"ls", "REMOTE:BUCKET[/PATH]", "list keys with size, modification time and ETag"},
    {"shard-plan", "SRC COUNT", "boundaries splitting SRC into COUNT shards of equal key count"},
    {"completion", "bash|zsh", "print the shell completion script"},
    {"version", "", "print the version"},
};

void s3m_cli_usage(FILE *out)
{
    fputs("Usage: s3mirror COMMAND [OPTIONS] ARGS...\n\nCommands:\n", out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(commands); i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
        fprintf(out, "  %-25s%s\n", left, commands[i].help);
    }
    fputs("\nSRC and DST are REMOTE:BUCKET[/PATH], or REMOTE: for every bucket. A PATH is a\n"
          "folder, as in rclone: BUCKET/backup is the keys under backup/ only.\n"
          "REMOTE is a [section] of rclone.conf (type = s3) or defined by\n"
          "RCLONE_CONFIG_<REMOTE>_<KEY> environment variables.\n\n"
          "Options:\n",
          out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        const struct opt *t = &table[i];
        char left[64];
        if (t->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", t->short_name, t->name, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", t->name, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        fprintf(out, "  %-28s %s\n", left, t->help);
    }
    fputs("\nExit codes: 0 ok, 1 usage or config error, 2 other error, 3 bucket not found,\n"
          "5 temporary error, 6 some objects failed, 7 fatal (access denied, TLS),\n"
          "9 nothing transferred (--error-on-no-transfer), 10 check found differences,\n"
          "11 locked by another run, 12 --max-change exceeded, 13 --immutable refused an\n"
          "update, 14 apply: planned actions skipped (changed since the plan), 128+N\n"
          "interrupted by signal N.\n",
          out);
}

static bool repeatable(const struct opt *t)
{
    return t->kind == RULE || t->kind == LIST || !strcmp(t->name, "verbose") ||
           !strcmp(t->name, "quiet");
}

/* bash: commands first, then options anywhere; the value of an option from its table entry. */
static void completion_bash(FILE *out)
{
    fputs("# bash completion for s3mirror (generated by `s3mirror completion bash`)\n"
          "_s3mirror() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev= i w cmd=\n"
          "    [ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local with_value=\"",
          out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++)
        if (table[i].kind != FLAG) {
            fprintf(out, " --%s", table[i].name);
            if (table[i].short_name)
                fprintf(out, " -%c", table[i].short_name);
        }
    fputs(" \"\n    case $prev in\n", out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        const struct opt *t = &table[i];
        if (t->kind == FLAG)
            continue;
        if (t->short_name)
            fprintf(out, "    -%c|--%s)", t->short_name, t->name);
        else
            fprintf(out, "    --%s)", t->name);
        if (s3m_cli_opt_values(t->name))
            fprintf(out, " COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n",
                    s3m_cli_opt_values(t->name));
        else if (!strcmp(t->arg, "FILE"))
            fputs(" COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", out);
        else
            fputs(" COMPREPLY=(); return ;;\n", out);
    }
    fputs("    esac\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        w=${COMP_WORDS[i]}\n"
          "        case $w in\n"
          "        -*) [[ $w != *=* && $with_value == *\" $w \"* ]] && i=$((i + 1)) ;;\n"
          "        *) cmd=$w; break ;;\n"
          "        esac\n"
          "    done\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W '",
          out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++)
        fprintf(out, "%s--%s", i ? " " : "", table[i].name);
    fputs("' -- \"$cur\"))\n"
          "    elif [ -z \"$cmd\" ]; then\n"
          "        COMPREPLY=($(compgen -W '",
          out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(commands); i++)
        if (!i || strcmp(commands[i].name, commands[i - 1].name))
            fprintf(out, "%s%s", i ? " " : "", commands[i].name);
    fputs("' -- \"$cur\"))\n"
          "    elif [ \"$cmd\" = completion ]; then\n"
          "        COMPREPLY=($(compgen -W 'bash zsh' -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -F _s3mirror s3mirror\n",
          out);
}

/* A help text inside a zsh _arguments spec: '...[text]...' */
static void zsh_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else
            fputc(*s, out);
    }
}

static void completion_zsh(FILE *out)
{
    fputs("#compdef s3mirror\n"
          "# zsh completion for s3mirror (generated by `s3mirror completion zsh`)\n"
          "_s3mirror() {\n"
          "    local curcontext=$curcontext state line\n"
          "    local -a commands\n"
          "    commands=(\n",
          out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(commands); i++) {
        if (i && !strcmp(commands[i].name, commands[i - 1].name))
            continue; /* one entry per command (lsd has two forms) */
        fprintf(out, "        '%s:", commands[i].name);
        zsh_text(out, commands[i].help);
        fputs("'\n", out);
    }
    fputs("    )\n    _arguments -s -S \\\n", out);
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        const struct opt *t = &table[i];
        const char *eq = t->kind == FLAG ? "" : "=";
        fputs("        ", out);
        if (repeatable(t))
            fputs("'*'", out);
        else if (t->short_name)
            fprintf(out, "'(-%c --%s)'", t->short_name, t->name);
        if (t->short_name)
            fprintf(out, "{-%c,--%s%s}'[", t->short_name, t->name, eq);
        else
            fprintf(out, "'--%s%s[", t->name, eq);
        zsh_text(out, t->help);
        fputc(']', out);
        if (t->kind != FLAG) {
            fputc(':', out);
            zsh_text(out, t->arg);
            if (s3m_cli_opt_values(t->name))
                fprintf(out, ":(%s)", s3m_cli_opt_values(t->name));
            else if (!strcmp(t->arg, "FILE"))
                fputs(":_files", out);
            else
                fputs(": ", out);
        }
        fputs("' \\\n", out);
    }
    fputs("        '1:command:->command' \\\n"
          "        '*:argument: '\n"
          "    case $state in\n"
          "    command) _describe -t commands 'command' commands ;;\n"
          "    esac\n"
          "}\n"
          "_s3mirror \"$@\"\n",
          out);
}

int s3m_cli_completion(FILE *out, const char *shell)
{
    if (shell && !strcmp(shell, "bash"))
        completion_bash(out);
    else if (shell && !strcmp(shell, "zsh"))
        completion_zsh(out);
    else {
        fprintf(stderr, "s3mirror: error: usage: s3mirror completion bash|zsh\n");
        return S3M_EXIT_USAGE;
    }
    return S3M_EXIT_OK;
}

bool s3m_parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) /* NaN too */
        return false;
    double mult = 1;
    switch (*end) {
    case 0: break;
    case 'b':
    case 'B': mult = 1, end++; break;
    case 'k':
    case 'K': mult = 1024.0, end++; break;
    case 'm':
    case 'M': mult = 1024.0 * 1024, end++; break;
    case 'g':
    case 'G': mult = 1024.0 * 1024 * 1024, end++; break;
    case 't':
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024, end++; break;
    default: return false;
    }
    if ((*end == 'i' || *end == 'I') && mult > 1)
        end++;
    if ((*end == 'b' || *end == 'B') && mult > 1)
        end++;
    if (*end || v * mult > 1.8e19)
        return false;
    *out = (uint64_t)(v * mult);
    return true;
}

bool s3m_parse_duration(const char *s, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) /* NaN too */
        return false;
    double mult = 1;
    if (!strcmp(end, "ms"))
        mult = 0.001;
    else if (!*end || !strcmp(end, "s"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60;
    else if (!strcmp(end, "h"))
        mult = 3600;
    else if (!strcmp(end, "d"))
        mult = 86400;
    else if (!strcmp(end, "w"))
        mult = 7 * 86400;
    else
        return false;
    if (v * mult > 1e12)
        return false;
    *out = (int64_t)(v * mult);
    return true;
}

/* getopt_long's tables from ours: long option i answers 256 + i; then '+' and the short
 * letters, each with ':' when it takes a value ('+': getopt stops at a positional argument,
 * which s3m_cli_parse keeps before it goes on) */
static void getopt_tables(struct option *lopts, char *shorts)
{
    size_t ns = 0;
    shorts[ns++] = '+';
    for (size_t i = 0; i < S3M_ARRAY_LEN(table); i++) {
        memset(&lopts[i], 0, sizeof(lopts[i]));
        lopts[i].name = table[i].name;
        lopts[i].has_arg = table[i].kind == FLAG ? no_argument : required_argument;
        lopts[i].val = 256 + (int)i;
        if (table[i].short_name) {
            shorts[ns++] = (char)table[i].short_name;
            if (table[i].kind != FLAG)
                shorts[ns++] = ':';
        }
    }
    memset(&lopts[S3M_ARRAY_LEN(table)], 0, sizeof(lopts[0]));
    shorts[ns] = 0;
}

/* the entry getopt_long's answer c names; NULL for an unknown option or a missing value */
static const struct opt *opt_of(int c)
{
    if (c >= 256)
        return &table[c - 256];
    for (size_t i = 0; c != '?' && c != ':' && i < S3M_ARRAY_LEN(table); i++)
        if (table[i].short_name == c)
            return &table[i];
    return NULL;
}

/* a NUM option: 0 to 1000000, --max-keys at least 1; false (said on stderr) when not */
static bool set_number(const struct opt *t, char *field, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || end == arg || v < 0 || v > 1000000) {
        fprintf(stderr, "s3mirror: error: --%s: '%s' is not a number from 0 to 1000000\n", t->name,
                arg);
        return false;
    }
    bool max_keys = !strcmp(t->name, "max-keys");
    if (max_keys && v == 0) {
        fprintf(stderr, "s3mirror: error: --max-keys must be at least 1\n");
        return false;
    }
    if (max_keys)
        *(int *)field = (int)v;
    else
        *(long *)field = v;
    return true;
}

/* store one option's value in o; false (said on stderr) for a usage error */
static bool set_option(struct s3m_opts *o, const struct opt *t, char *arg)
{
    char *field = (char *)o + t->off;
    switch (t->kind) {
    case RULE: /* off says which: 1 --include, 0 --exclude */
        if (o->nrules >= (int)S3M_ARRAY_LEN(o->rules)) {
            fprintf(stderr, "s3mirror: error: too many --include/--exclude rules\n");
            return false;
        }
        o->rules[o->nrules].include = t->off == 1;
        o->rules[o->nrules++].glob = arg;
        return true;
    case FLAG: /* -v and -q count */
        if (!strcmp(t->name, "verbose") || !strcmp(t->name, "quiet"))
            (*(int *)field)++;
        else
            *(bool *)field = true;
        return true;
    case STR: *(const char **)field = arg; return true;
    case LIST: {
        struct s3m_cli_list *l = (struct s3m_cli_list *)field;
        if (l->n >= (int)S3M_ARRAY_LEN(l->v)) {
            fprintf(stderr, "s3mirror: error: too many --%s options\n", t->name);
            return false;
        }
        l->v[l->n++] = arg;
        return true;
    }
    case NUM: return set_number(t, field, arg);
    }
    return false;
}

int s3m_cli_parse(int argc, char **argv, struct s3m_opts *o, char ***args, int *nargs)
{
    struct option lopts[S3M_ARRAY_LEN(table) + 1];
    char shorts[2 * S3M_ARRAY_LEN(table) + 2]; /* '+', each letter with its ':', NUL */
    getopt_tables(lopts, shorts);
    *args = s3m_calloc((size_t)argc + 1, sizeof(char *));
    *nargs = 0;
    optind = 1;
    opterr = 0;
    while (optind < argc) {
        int c = getopt_long(argc, argv, shorts, lopts, NULL);
        if (c == -1) { /* a positional argument: keep it, go on parsing after it */
            (*args)[(*nargs)++] = argv[optind++];
            continue;
        }
        const struct opt *t = opt_of(c);
        if (!t) {
            fprintf(stderr,
                    "s3mirror: error: unknown option or missing value: %s\n"
                    "Try 's3mirror --help'.\n",
                    argv[optind - 1]);
            return S3M_EXIT_USAGE;
        }
        if (!set_option(o, t, optarg))
            return S3M_EXIT_USAGE;
        if (shapes_plan(t))
            keep_plan_arg(o, t, optarg);
    }
    return -1;
}
