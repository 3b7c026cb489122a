"""Proof with a real tool (issue 15): a restic repository (Debian's restic, S3 backend) is synced
from state A to state B (more snapshots, then `forget --prune`: new packs, a rewritten index,
deleted packs, index files and snapshots), and the sync is stopped at many points: SIGKILL when
the Nth request reaches the destination, and a destination that refuses every write from the
Nth on (the run ends by itself). After each stop `restic check` and `restic snapshots` must
pass on the destination with a consistent set of snapshots (restic_repo.judge), and a full
sync must then reach B exactly (boto3). With `--layout restic` every stop point must pass;
without it the test only counts the broken ones (the unordered arm) and prints both counts.

The stop points are request numbers, counted by the fault proxy in front of the destination
(no timed sleeps), spread over the requests of an unstopped run of the same arm (SIGKILL: request
1, then from the first write to the end; refusals: from write 1 to the last). Between trials the
destination goes back to A from a pristine bucket, checked with boto3. The summary line reads
`restic stop points: ordered 0/18 broken (...), unordered K/18 broken (...) (moto, ...)`.

pgBackRest's twin is test_pgbackrest.py (through a TLS front: Debian's 2.45 speaks only HTTPS to
S3; its own full reader, `pgbackrest verify`, runs at a sample of the stops there)"""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import restic_repo
from e2e import BIN, for_each_kind, proxied_conf, snapshot
from faultproxy import Proxy
from restic_repo import Restic

# stop points per arm: (SIGKILL at request N, writes refused from write N on); for a larger
# sample by hand: S3M_RESTIC_POINTS=KILLS,REFUSALS
POINTS = {"moto": (12, 6), "ceph": (6, 3)}
if os.environ.get("S3M_RESTIC_POINTS"):
    POINTS = dict.fromkeys(POINTS, tuple(map(int, os.environ["S3M_RESTIC_POINTS"].split(","))))
WRITES = ("PUT", "POST", "DELETE")
# without --layout: the same tiers by hand (restic's layout: data, then index, then snapshots)
COPY_LAST = ["--copy-last", "index/**", "--copy-last", "snapshots/**", "--exclude", "locks/**"]


def ordered_flags():
    """The flags of the ordered arm this binary supports, or None (said in the summary)."""
    text = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    if "--layout" in text:
        return ["--layout", "restic"]
    if "--copy-last" in text:
        return COPY_LAST
    return None


def spread(total, count):
    """count request numbers spread evenly over 1..total (all of them when there are fewer)."""
    if total <= count:
        return list(range(1, total + 1))
    return sorted({1 + round(i * (total - 1) / (count - 1)) for i in range(count)})


@for_each_kind
class ResticTest:
    def setUp(self):
        if not shutil.which("restic"):
            self.skipTest("restic is not installed (Debian package restic: `make deps` installs "
                          "it); the ordered-copy proof with a real tool did NOT run")
        self.sb = self.bucket(self.src, "rsrc")
        self.db = self.bucket(self.dst, "rdst")
        self.pb = self.bucket(self.dst, "rpristine")  # state A, to restore db between trials
        self.rtmp = os.path.join(self.tmp, "restic-%s" % self.kind)
        os.makedirs(os.path.join(self.rtmp, "work"))
        self.restic_src = Restic(self.sto2, self.sb, self.rtmp)
        self.restic_dst = Restic(self.osl1, self.db, self.rtmp)

    def tearDown(self):
        shutil.rmtree(getattr(self, "rtmp", "/nonexistent"), ignore_errors=True)

    # ---- the two states ----
    def build_states(self):
        work = os.path.join(self.rtmp, "work")
        restic_repo.build_state_a(self.restic_src, work)
        self.old = self.restic_src.snapshot_ids()
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.pb, check=0)
        self.state_a = snapshot(self.dst, self.pb)
        self.assertEqual(self.state_a, snapshot(self.src, self.sb))
        restic_repo.build_state_b(self.restic_src, work)
        self.new = self.restic_src.snapshot_ids()
        self.state_b = snapshot(self.src, self.sb)
        self.assertTrue(self.old & self.new and self.old - self.new and self.new - self.old)
        for tier in ("data/", "index/", "snapshots/"):  # B adds and deletes in every tier
            a = {k for k in self.state_a if k.startswith(tier)}
            b = {k for k in self.state_b if k.startswith(tier)}
            self.assertTrue(a - b and b - a, tier)

    def restore(self):
        """The destination back to state A (from the pristine bucket), checked with boto3."""
        self.s3m("sync", "osl1:" + self.pb, "osl1:" + self.db, "--list-concurrency", "1", check=0)
        self.assertEqual(snapshot(self.dst, self.db), self.state_a)

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
        log = open(os.path.join(self.rtmp, "sync.log"), "w+")
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
    def calibrate(self, flags):
        """An unstopped run: its request count, the number of its first write, its write count;
        B reached and accepted by restic."""
        self.restore()
        rc, proxy, _ = self.proxied_sync(flags)
        self.assertEqual(rc, 0, self.last_log)
        self.assertEqual(snapshot(self.dst, self.db), self.state_b)
        self.assertIsNone(restic_repo.judge(self.restic_dst, self.old, self.new))
        first_write = next(i for i, (m, _, _) in enumerate(proxy.log, 1) if m in WRITES)
        return proxy.count(), first_write, sum(proxy.count(m) for m in WRITES)

    def run_arm(self, flags):
        """Every stop point of one arm: [(label, reason or None)]."""
        kills, refusals = POINTS[self.kind]
        total, first_write, writes = self.calibrate(flags)
        # request 1 (nothing written yet), then N spread from the first write to the end: a
        # stop among the reads before it leaves the destination as a stop at request 1 does
        out = []
        points = [1] + [first_write - 1 + n for n in spread(total - first_write + 1, kills - 1)]
        for i, n in enumerate(points):
            self.restore()
            rc, _, _ = self.proxied_sync(flags, kill_at=n)
            label = "SIGKILL at request %d/%d%s" % (n, total, "" if rc == -9 else " (ran out)")
            why = restic_repo.judge(self.restic_dst, self.old, self.new,
                                    read_data=(i == len(points) // 2))
            out.append((label, why))
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
            why = restic_repo.judge(self.restic_dst, self.old, self.new)
            out.append(("writes refused (%d) from write %d/%d, exit %d" % (status, w, writes, rc),
                        why))
            self.finish(flags)
        return out

    def test_stop_points_keep_a_restorable_replica(self):
        t0 = time.time()
        self.build_states()
        ordered = ordered_flags()
        arms = [("unordered", [])] + ([("ordered", ordered)] if ordered else [])
        results = {arm: self.run_arm(flags) for arm, flags in arms}
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
        print("restic stop points: %s (%s, %s, %.0fs)" % (
            ", ".join(counts), self.kind, " ".join(ordered or ["-"]), time.time() - t0),
            file=sys.stderr)
        if "ordered" in results:
            self.assertEqual([p for p in results["ordered"] if p[1]], [])
