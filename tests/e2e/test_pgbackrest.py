"""Proof with a real tool (issue 15), pgBackRest's twin of test_restic.py: pgBackRest (Debian's
2.45, S3 repository through a TLS front) backs up a PostgreSQL cluster of its own into the
source, state A (full, incr, full) then B (diff, full, expire keeping two fulls: the first full,
its incr and the WAL before the second full deleted, then an incr), WAL archived by
archive_command throughout. A sync from A to B is stopped at many points: SIGKILL when the Nth
request reaches the destination, and a destination that refuses every write from the Nth on.
After each stop `pgbackrest info` must list a consistent set of backups (the old set or the new
one, pgbackrest_repo.judge), `pgbackrest verify` must find every file they need intact, and at
some stops the latest backup listed is restored and PostgreSQL started on it must recover (its
WAL fetched from the destination by archive-get) to the rows it was taken with. Then a full
sync must reach B exactly (boto3). With `--layout pgbackrest` every stop point must pass;
without it the broken ones are only counted, and both counts are printed:
`pgbackrest stop points: ordered 0/N broken (...), unordered K/N broken (...) (moto, ...)`.

The stop points are request numbers counted by the fault proxy in front of the destination (no
timed sleeps), spread over an unstopped run of the same arm, as in test_restic.py. pgBackRest
reads the destination through its own TLS front, never through the proxy. A larger sample by
hand: S3M_PGBR_POINTS=KILLS,REFUSALS[,RESTORES] (`make check-pgbackrest` runs one)."""
import os
import signal
import subprocess
import sys
import threading
import time

import pgbackrest_repo as pr
import tlsfront
from e2e import BIN, for_each_kind, proxied_conf, snapshot
from faultproxy import Proxy
from test_restic import spread

# stop points per arm: (SIGKILL at request N, writes refused from write N on, restores: how many
# of the stops also restore the latest backup and start PostgreSQL on it; every stop runs info
# and verify)
POINTS = {"moto": (6, 3, 2), "ceph": (4, 2, 1)}
if os.environ.get("S3M_PGBR_POINTS"):
    _p = tuple(map(int, os.environ["S3M_PGBR_POINTS"].split(",")))
    POINTS = dict.fromkeys(POINTS, (_p + (_p[0] + _p[1],))[:3])
WRITES = ("PUT", "POST", "DELETE")
# without --layout: the preset's tiers by hand (what an rclone-style user could write)
COPY_LAST = ["--copy-last", "backup/*/*/backup.manifest.copy", "--copy-last",
             "backup/*/*/backup.manifest", "--copy-last", "backup/*/backup.info*"]


def ordered_flags():
    """The flags of the ordered arm this binary supports, or None (said in the summary)."""
    text = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    if "--layout" in text:
        return ["--layout", "pgbackrest"]
    if "--copy-last" in text:
        return COPY_LAST
    return None


@for_each_kind
class PgbackrestTest:
    def setUp(self):
        why = pr.missing() or (None if os.access(tlsfront.NGINX, os.X_OK) else
                               "nginx is not installed (Debian package nginx-light)")
        if why:
            self.skipTest("%s: `make deps` installs it; the ordered-copy proof with pgBackRest "
                          "did NOT run" % why)
        self.cluster = pr.Cluster()
        self.fronts = []
        self.sb = self.bucket(self.src, "pgsrc")
        self.db = self.bucket(self.dst, "pgdst")
        self.pb = self.bucket(self.dst, "pgpristine")  # state A, to restore db between trials
        self.pg_src = pr.Pgbr(self.cluster, "src", self.sto2, self.front(self.sto2), self.sb)
        self.pg_dst = pr.Pgbr(self.cluster, "dst", self.osl1, self.front(self.osl1), self.db)
        self.rows = {}  # backup label -> rows of its table

    def front(self, site):
        f = tlsfront.Front(tlsfront.port_of(site.endpoint), self.cluster.path("tls"))
        self.fronts.append(f)
        f.start()
        return f

    def tearDown(self):
        for f in getattr(self, "fronts", []):
            f.stop()
        if getattr(self, "cluster", None):
            self.cluster.cleanup()

    # ---- the two states ----
    def build_states(self):
        pr.build_state_a(self.cluster, self.pg_src, self.rows)
        self.old = set(self.pg_src.labels())
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.pb, check=0)
        self.state_a = snapshot(self.dst, self.pb)
        self.assertEqual(self.state_a, snapshot(self.src, self.sb))
        pr.build_state_b(self.cluster, self.pg_src, self.rows)
        self.new = set(self.pg_src.labels())
        self.state_b = snapshot(self.src, self.sb)
        self.assertTrue(self.old & self.new and self.old - self.new and self.new - self.old)
        for part in ("backup/", "archive/"):  # B adds and deletes in both
            a = {k for k in self.state_a if k.startswith(pr.REPO_PATH[1:] + "/" + part)}
            b = {k for k in self.state_b if k.startswith(pr.REPO_PATH[1:] + "/" + part)}
            self.assertTrue(a - b and b - a, part)

    def restore(self):
        """The destination back to state A (from the pristine bucket), checked with boto3."""
        self.s3m("sync", "osl1:" + self.pb, "osl1:" + self.db, "--list-concurrency", "1", check=0)
        self.assertEqual(snapshot(self.dst, self.db), self.state_a)

    def judge(self, full):
        return pr.judge(self.cluster, self.pg_dst, self.dst, self.old, self.new, self.rows,
                        full=full)

    # ---- one run through the fault proxy ----
    def proxied_sync(self, flags, rule=None, kill_at=None, extra=()):
        """sync sto2 -> osl1 through a proxy; rule (action, kw) on it, or kill_at: SIGKILL at the
        Nth request (that one and every later one refused). Returns (exit code, proxy, rule)."""
        proxy = Proxy(self.osl1.endpoint)
        conf = proxied_conf(self.conf, "osl1p", self.osl1, proxy.endpoint)
        started, box = threading.Event(), {}

        def kill(*_):
            started.wait(30)
            try:
                os.kill(box["proc"].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if kill_at is not None:
            rule = ("call", dict(after=kill_at - 1, call=kill, status=503))
        r = proxy.add(rule[0], **rule[1]) if rule else None
        log = open(os.path.join(self.cluster.dir, "sync.log"), "w+")
        try:
            box["proc"] = subprocess.Popen(
                [BIN, "--config", conf, "sync", "sto2:" + self.sb, "osl1p:" + self.db,
                 "--no-progress", "--no-lock"] + list(flags) + list(extra),
                stdout=log, stderr=subprocess.STDOUT)
            started.set()
            rc = box["proc"].wait(timeout=240)
            proxy.wait_idle()  # what reached the destination before the stop has landed
        finally:
            proxy.stop()
            log.seek(0)
            self.last_log = log.read()[-3000:]
            log.close()
        return rc, proxy, r

    def finish(self, flags):
        """After a stop: a full sync reaches B exactly (boto3)."""
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--list-concurrency", "1", *flags,
                 check=0)
        self.assertEqual(snapshot(self.dst, self.db), self.state_b)

    # ---- one arm ----
    def calibrate(self, flags, full):
        """An unstopped run: its request count, the number of its first write, its write count;
        B reached and accepted by pgBackRest (with full, verified and restored too: B is the
        same for both arms)."""
        self.restore()
        rc, proxy, _ = self.proxied_sync(flags)
        self.assertEqual(rc, 0, self.last_log)
        self.assertEqual(snapshot(self.dst, self.db), self.state_b)
        self.assertIsNone(self.judge(full=full))
        first_write = next(i for i, (m, _, _) in enumerate(proxy.log, 1) if m in WRITES)
        return proxy.count(), first_write, sum(proxy.count(m) for m in WRITES)

    def run_arm(self, flags, first):
        """Every stop point of one arm: [(label, reason or None)]."""
        kills, refusals, restores = POINTS[self.kind]
        total, first_write, writes = self.calibrate(flags, full=first)
        points = [1] + [first_write - 1 + n for n in spread(total - first_write + 1, kills - 1)]
        # the stops that also restore: spread over all of them (kills, then refusals)
        full = set(spread(kills + refusals, restores)) if restores > 1 else \
            {(kills + refusals + 1) // 2} if restores else set()
        out = []
        for i, n in enumerate(points, 1):
            self.restore()
            rc, _, _ = self.proxied_sync(flags, kill_at=n)
            label = "SIGKILL at request %d/%d%s" % (n, total, "" if rc == -9 else " (ran out)")
            out.append((label, self.judge(full=i in full)))
            self.finish(flags)
        for i, w in enumerate(spread(writes, refusals)):
            self.restore()
            status = (403, 500)[i % 2]  # 403: fatal at once; 500: retried, then given up
            rc, _, r = self.proxied_sync(flags, rule=("status", dict(
                method=WRITES, after=w - 1, status=status,
                code={403: "AccessDenied", 500: "InternalError"}[status])),
                extra=("--low-level-retries", "2", "--retries", "1"))
            if r.hits:  # a refused write is an error of the run, never a success
                self.assertGreater(rc, 0, self.last_log)
            why = self.judge(full=kills + i + 1 in full)
            out.append(("writes refused (%d) from write %d/%d, exit %d" % (status, w, writes, rc),
                        why))
            self.finish(flags)
        return out

    def test_stop_points_keep_a_restorable_replica(self):
        t0 = time.time()
        self.build_states()
        t_built = time.time() - t0
        ordered = ordered_flags()
        arms = [("unordered", [])] + ([("ordered", ordered)] if ordered else [])
        results = {arm: self.run_arm(flags, i == 0) for i, (arm, flags) in enumerate(arms)}
        counts = []
        for arm in ("ordered", "unordered"):
            if arm not in results:
                counts.append("ordered not run (s3mirror has neither --layout nor --copy-last)")
                continue
            broken = [(label, why) for label, why in results[arm] if why]
            kills = [p for p in results[arm] if p[0].startswith("SIGKILL")]
            counts.append("%s %d/%d broken (SIGKILL %d/%d, refused writes %d/%d)" % (
                arm, len(broken), len(results[arm]), sum(1 for p in kills if p[1]), len(kills),
                len(broken) - sum(1 for p in kills if p[1]), len(results[arm]) - len(kills)))
            for label, why in broken:
                print("  %s %s: %s: %s" % (self.kind, arm, label, why), file=sys.stderr)
        print("pgbackrest stop points: %s (%s, %s, %d restores per arm; states built in %.0fs, "
              "%.0fs in all)" % (", ".join(counts), self.kind, " ".join(ordered or ["-"]),
                                 POINTS[self.kind][2], t_built, time.time() - t0),
              file=sys.stderr)
        if "ordered" in results:
            self.assertEqual([p for p in results["ordered"] if p[1]], [])
