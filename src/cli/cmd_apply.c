/* cmd_apply.c - `apply PLAN`: read a dry run's plan and check it (core/planfile.c: format,
 * checksum), rebuild the command line that made it with the parser every command uses, and run
 * that sync or copy with the plan as its gate (engine/gate.c): only the plan's actions, on the
 * objects it saw. What changed since is skipped and reported, and the run exits 14. */
#include "cli.h"
#include "s3m/log.h"
#include "s3m/planfile.h"
#include "s3m/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* one line of f (its '\n' kept) into b; false at the end of the file. A line longer than a plan
 * may hold is cut at the cap: the reader refuses it without keeping it whole. */
static bool read_line(FILE *f, struct s3m_buf *b)
{
    int c;
    s3m_buf_reset(b);
    while ((c = getc(f)) != EOF) {
        if (b->len <= S3M_PLANFILE_MAX_LINE)
            s3m_buf_addc(b, (char)c);
        if (c == '\n')
            break;
    }
    return b->len > 0;
}

/* an error on stderr, and in the log when the log goes to a file; returns S3M_EXIT_USAGE */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "s3mirror: error: apply: %s\n", msg);
    if (!s3m_log_to_stderr())
        s3m_log(S3M_LOG_ERROR, "apply", "%s", msg);
    return S3M_EXIT_USAGE;
}

/* the plan read and checked whole before anything is opened; returns an exit code */
static int read_plan(const char *path, struct s3m_planfile *p)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail("cannot read '%s': %s", path, strerror(errno));
    struct s3m_buf line;
    s3m_buf_init(&line);
    bool ok = true;
    while (ok && read_line(f, &line))
        ok = s3m_planfile_feed(p, line.data, line.len);
    bool io_error = ferror(f) != 0;
    fclose(f);
    s3m_buf_cleanup(&line);
    if (io_error)
        return fail("%s: read error: refusing to apply it", path);
    if (!ok || !s3m_planfile_finish(p))
        return fail("%s: %s: refusing to apply it", path, s3m_planfile_error(p));
    if (!p->dry_run)
        return fail("%s: the plan of a real run records what was done; only a dry run's plan "
                    "(--dry-run --plan FILE) can be applied",
                    path);
    if (strcmp(p->args[0], "sync") && strcmp(p->args[0], "copy"))
        return fail("%s: the plan is of '%s', not of a sync or a copy", path, p->args[0]);
    return 0;
}

static bool same_file(const char *a, const char *b)
{
    struct stat x, y;
    return !stat(a, &x) && !stat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The options of apply's own line change how the run goes and what it tells, never what it
 * does: that comes from the plan. Returns an exit code. */
static int check_own_options(const struct s3m_opts *o, char **args, int nargs)
{
    if (nargs != 1) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror apply PLAN [OPTIONS]\n");
        return S3M_EXIT_USAGE;
    }
    if (o->nplan_args)
        return fail("%s changes what is done, which comes from the plan's own options (make a "
                    "new plan with it)",
                    o->plan_args[0]);
    if (o->dry_run)
        return fail("--dry-run: the plan is what a dry run shows; read it, or run the dry run "
                    "again");
    if (o->plan && same_file(o->plan, args[0])) /* the record would overwrite the plan */
        return fail("--plan %s: that is the plan being applied", o->plan);
    return 0;
}

/* The command line of the run: the plan's (COMMAND SRC DST OPTION...), then apply's own options
 * (argv without "apply" and PLAN: args[-1] and args[0] are those very strings of argv), parsed
 * into o2 by the parser of every command. *v2 is that argv, which o2's strings point into. */
static int rebuild(const struct s3m_planfile *p, char **args, int argc, char **argv,
                   struct s3m_opts *o2, char ***v2, char ***args2, int *nargs2)
{
    char **v = *v2 = s3m_calloc((size_t)argc + p->nargs + 1, sizeof(char *));
    int n = 0;
    v[n++] = argv[0];
    for (size_t i = 0; i < p->nargs; i++)
        v[n++] = p->args[i];
    for (int i = 1; i < argc; i++)
        if (argv[i] != args[-1] && argv[i] != args[0])
            v[n++] = argv[i];
    int rc = s3m_cli_parse(n, v, o2, args2, nargs2);
    if (rc >= 0)
        return rc;
    if (*nargs2 != 3 || (size_t)o2->nplan_args + 3 != p->nargs)
        return fail("the plan's command line is not COMMAND SRC DST OPTION...");
    return 0;
}

/* After a run that went to its end: the plan's actions that no decision met (the object gone
 * from both sides) are skipped too */
static void report_unmet(struct s3m_planfile *p)
{
    size_t at = 0;
    const struct s3m_planfile_entry *e;
    while ((e = s3m_planfile_unmet(p, &at))) {
        char why[1400];
        snprintf(why, sizeof(why), "the plan's %s of %s/%s: the object is gone",
                 s3m_plan_act_name(e->act), e->bucket, e->key);
        struct s3m_log_fields lf = {NULL, e->bucket, e->key, NULL};
        s3m_logf(S3M_LOG_WARN, "apply", &lf, "%s: skipped, changed since the plan: %s", e->key,
                 why);
        s3m_planfile_report(stdout, p->report_json, e->key, why);
        p->changed++;
    }
}

/* The run's outcome, from inside the sync command before its metrics are written (so that
 * they record the 14 too): skipped actions make a clean run exit 14 (an error says more). */
int s3m__apply_outcome(struct s3m_planfile *p, int rc)
{
    bool clean = rc == S3M_EXIT_OK || rc == S3M_EXIT_NOTRANSFER;
    if (clean)
        report_unmet(p);
    if (p->changed)
        s3m_log(S3M_LOG_NOTICE, "apply",
                "%" PRIu64 " planned action(s) skipped: the objects changed since the plan",
                p->changed);
    return p->changed && clean ? S3M_EXIT_CHANGED : rc;
}

int s3m_cmd_apply(struct s3m_opts *o, char **args, int nargs, int argc, char **argv)
{
    struct s3m_planfile p;
    struct s3m_opts o2;
    char **v2 = NULL, **args2 = NULL;
    int nargs2 = 0;
    memset(&o2, 0, sizeof(o2));
    s3m_planfile_init(&p);
    int rc = s3m_cli_log_setup(o);
    if (!rc)
        rc = check_own_options(o, args, nargs);
    if (!rc)
        rc = read_plan(args[0], &p);
    if (!rc)
        rc = rebuild(&p, args, argc, argv, &o2, &v2, &args2, &nargs2);
    s3m_log_close();
    if (!rc) {
        o2.gate = &p;
        p.report_json = o2.json;
        rc = s3m_cmd_sync(&o2, args2[0], args2 + 1, 2); /* s3m__apply_outcome inside */
    }
    s3m_cli_opts_cleanup(&o2);
    free(args2);
    free(v2);
    s3m_planfile_cleanup(&p);
    return rc;
}
