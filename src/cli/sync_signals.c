/* sync_signals.c - the run's watchers: SIGINT and SIGTERM (on the loop during the run, a plain
 * handler after it) and the --max-duration deadline with --cutoff-mode's admission rule. */
#include "sync_run.h"
#include "s3m/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* no further work: a signal came, or the deadline passed */
bool s3m__run_halted(const struct run *r)
{
    return r->signal || r->cut.reached;
}

/* The deadline: the job running is cut off (a dry run has no transfer to let finish), the
 * run's later steps see r->cut. */
static void run_cutoff(struct run *r)
{
    if (r->cut.reached)
        return;
    s3m__cutoff_notice(&r->cut, NULL);
    if (r->cur)
        s3m_sync_cutoff(r->cur, r->cut.mode == S3M_CUTOFF_HARD || r->o->dry_run);
}

void s3m__run_on_deadline(void *ud)
{
    run_cutoff(ud);
}

/* --cutoff-mode cautious: the bytes the run moved so far (its jobs kept until run_finish) */
bool s3m__run_admit(void *ud, uint64_t size)
{
    struct run *r = ud;
    uint64_t moved = r->total.copy.bytes + r->total.update.bytes; /* the jobs through */
    for (struct pair *p = r->pairs; p; p = p->next)
        moved += s3m_sync_bytes_done(&p->job);
    return s3m__cutoff_admit(&r->cut, moved, size);
}

static void run_on_signal(int signum, void *ud)
{
    struct run *r = ud;
    if (r->signal) {
        fprintf(stderr, "s3mirror: second signal: exiting now\n");
        _exit(128 + signum);
    }
    r->signal = signum;
    s3m__stop_notice(r->cur, r->in_job, signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (r->cur) /* nothing in a phase at rest: the run's refusal sees r->signal */
        s3m_sync_abort(r->cur);
}

void s3m__run_signals_start(struct run *r)
{
    int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) /* they never keep a loop run going */
        r->sig[i] = s3m_signal_new(r->src->loop, sigs[i], run_on_signal, r);
}

/* A signal that came while no loop ran waits in the loop: take it now. */
void s3m__run_signals_poll(struct run *r)
{
    for (int i = 0; i < 2; i++)
        if (r->sig[i])
            s3m_signal_poll(r->sig[i]);
    if (s3m__cutoff_due(&r->cut)) /* the deadline passed while no loop ran */
        run_cutoff(r);
}

void s3m__run_signals_stop(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        s3m_signal_free(r->sig[i]);
        r->sig[i] = NULL;
    }
}

/* After the run, while --metrics-push and the end ping wait (up to 10 s each), no loop runs to
 * take a signal: a plain handler notes the first (a stop during the run counts) and exits on
 * the second, as during the run. */
static volatile sig_atomic_t late_signals;

static void late_signal(int signum)
{
    static const char msg[] = "s3mirror: second signal: exiting now\n";
    if (++late_signals < 2)
        return;
    if (write(2, msg, sizeof(msg) - 1) < 0) { /* nothing more to do */
    }
    _exit(128 + signum);
}

void s3m__run_signals_late(struct run *r)
{
    s3m__run_signals_stop(r);
    late_signals = r->signal ? 1 : 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = late_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Test hooks: a signal or the deadline at a moment no loop runs must be handled as any.
 * Points: decision (just before the run's delete decision: the copies done, no job's handlers
 * installed), sweep (before a job's stale-upload sweep), summary (before a job's summary). */
void s3m__run_test_point(const char *point)
{
    const char *v = getenv("S3MIRROR_TEST_RAISE");
    if (v && !strcmp(v, point))
        raise(SIGTERM);
    size_t n = strlen(point);
    v = getenv("S3MIRROR_TEST_HOLD");
    if (!v || strncmp(v, point, n) || v[n] != ':')
        return;
    char *end;
    double s = strtod(v + n + 1, &end);
    if (*end || !(s > 0 && s <= 60)) /* NaN too */
        return;
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) && errno == EINTR)
        ;
}

/* --list-concurrency: how many key ranges a job is cut into at most */
