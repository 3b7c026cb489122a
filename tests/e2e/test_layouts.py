"""Syncs stopped half way, for the backup layouts no tool here can read (issue 15): per layout, a
synthetic repository (tests/layouts/, written from each tool's own description of its format) is
on the destination in state A and on the source in state B (a new backup, an old one deleted the
way the tool deletes). `s3mirror sync` toward B is stopped at deterministic points: SIGKILL when
the Nth write (PUT/POST/DELETE) reaches the destination through the fault proxy, or a destination
that refuses every write from the Nth on. After each stop the layout's checker follows the
documented pointers on the destination (boto3): with `--layout NAME` no pointer may dangle at any
stop; without it the broken stops are only counted (one summary line per layout and server).
After every stop an unstopped sync reaches B exactly.

Dangling pointers of kind "retired" (a Velero backup still listed whose kopia snapshot the source
already deleted, which the source itself goes through while Velero deletes a backup) are counted
apart and not asserted: no copy or delete order can avoid them.

The presets' tiers (from the --plan of a dry run with --layout, on states A and B) are checked
against the checkers' pointers (tests/layouts/tiercheck.py): a pointer must be reachable only
after what it names is copied. KNOWN_MISMATCHES lists the gaps found so far (reported); a
dangling pointer of those kinds, or of kind "deleted" (kopia, below), at a stop of the ordered
arm is counted, not failed.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from e2e import BIN, ROOT, for_each_kind, proxied_conf, snapshot
from faultproxy import Proxy
from s3servers import list_all

sys.path.insert(0, os.path.join(ROOT, "tests", "layouts"))
from common import View, write  # noqa: E402
from registry import LAYOUTS  # noqa: E402
from selftest import CheckerSelfTest  # noqa: E402,F401  (the server-free self-test runs here too)
from tiercheck import generalize, mismatches  # noqa: E402

# stop points per layout and arm: (SIGKILL points, refusing points); fewer on Ceph (slower)
STOPS = {"moto": (6, 3), "ceph": (3, 2)}
WRITES = ("PUT", "POST", "DELETE")
# Pointers the presets put in the same tier as what they name (reported to the lead, issue 15):
# (layout, referrer, target) with generated names as *. The test fails on any other mismatch.
KNOWN_MISMATCHES = set()  # (the wal-g delta and pgBackRest archive.info ones are fixed)
# Also known, and not a glob's matter: kopia's index blobs (xn*) are one tier, but their order
# counts: the index blob of a garbage collection (contents marked deleted) can land before the
# earlier one that holds the snapshot's deletion; the stop then lists a snapshot whose contents
# the index says are deleted (Dangling kind "deleted"). Counted as a known gap in the ordered arm.


def layout_flag():
    """Whether this s3mirror has --layout (branch `ordering`); the ordered arm needs it."""
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    return "--layout" in p.stdout


def points(total, count, offset):
    """count write numbers spread over 1..total, shifted by offset/count of a step."""
    step = max(total, 1) / count
    return sorted({min(total, 1 + int(step * (i + offset))) for i in range(count)})


class Stopper:
    """A fault proxy in front of the destination and a config naming it (remote dstp:); one per
    worker, so that two stop points run at once."""

    def __init__(self, test):
        self.proxy = Proxy(test.osl1.endpoint)
        self.conf = proxied_conf(test.conf, "dstp", test.osl1, self.proxy.endpoint)

    def sync(self, src, dst, extra, stop=None):
        """stop: None, ("kill", N) or ("refuse", N). Returns (exit code, stderr)."""
        self.proxy.clear()
        started, holder = threading.Event(), {}
        if stop and stop[0] == "kill":
            def kill(*_):
                started.wait(60)  # the pid is known once Popen has returned
                if not holder.get("killed"):
                    holder["killed"] = True
                    os.kill(holder["p"].pid, signal.SIGKILL)
            self.proxy.add("call", method=WRITES, after=stop[1] - 1, call=kill)
        elif stop:
            self.proxy.add("status", method=WRITES, after=stop[1] - 1, status=403,
                           code="AccessDenied")
        cmd = [BIN, "--config", self.conf, "sync", "sto2:" + src, "dstp:" + dst,
               "--timeout", "20"] + extra
        holder["p"] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
        started.set()
        _out, err = holder["p"].communicate(timeout=180)
        self.proxy.wait_idle()  # requests forwarded before the stop finish upstream
        return holder["p"].returncode, err

    def writes(self):
        return sum(self.proxy.count(m) for m in WRITES)


@for_each_kind
class LayoutStopTest:
    def setUp(self):
        self.stoppers = queue.Queue()
        for _ in range(2):
            self.stoppers.put(Stopper(self))

    def tearDown(self):
        while not self.stoppers.empty():
            self.stoppers.get().proxy.stop()

    # ---- buckets ----
    def clone(self, golden, keys):
        b = self.bucket(self.dst, "lay-dst")
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: self.dst.copy_object(
                Bucket=b, Key=k, CopySource={"Bucket": golden, "Key": k}), keys))
        return b

    def reset(self, bucket, golden, gold):
        """Bring bucket back to state A (gold: {key: etag} of the golden copy): remove what a
        sync added, copy back what it changed or deleted, abort what it left open."""
        cur = {k: e for k, _s, e in list_all(self.dst, bucket)}
        extra = [{"Key": k} for k in cur if k not in gold]
        if extra:
            self.dst.delete_objects(Bucket=bucket, Delete={"Objects": extra, "Quiet": True})
        for up in self.dst.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=bucket, Key=up["Key"],
                                            UploadId=up["UploadId"])
        back = [k for k in gold if cur.get(k) != gold[k]]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: self.dst.copy_object(
                Bucket=bucket, Key=k, CopySource={"Bucket": golden, "Key": k}), back))

    def drop(self, bucket):
        keys = [k for k, _s, _e in list_all(self.dst, bucket)]
        for i in range(0, len(keys), 500):
            self.dst.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 500]], "Quiet": True})
        for up in self.dst.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=bucket, Key=up["Key"],
                                            UploadId=up["UploadId"])
        self.dst.delete_bucket(Bucket=bucket)

    # ---- the test ----
    def run_layout(self, name):
        mod, t0 = LAYOUTS[name], time.time()
        g = mod.generate()
        src = self.bucket(self.src, "lay-src")
        write(self.src, src, g.ops_a + g.ops_b)
        golden = self.bucket(self.dst, "lay-a")
        write(self.dst, golden, g.ops_a)
        keys = sorted(g.state_a)
        want = snapshot(self.src, src)
        self.assertEqual(sorted(want), sorted(g.state_b))
        self.assertEqual(mod.check(View.of_bucket(self.dst, golden)).dangling, [])
        arms = [("unordered", [])]
        if layout_flag():
            arms.insert(0, ("ordered", ["--layout", name]))
        gold = {k: e for k, _s, e in list_all(self.dst, golden)}
        stoppers = [self.stoppers.get() for _ in range(self.stoppers.qsize())]
        for st in stoppers:  # each worker's own destination, reset to A after each stop
            st.dst = self.clone(golden, keys)
            self.stoppers.put(st)
        st = stoppers[0]
        rc, err = st.sync(src, st.dst, arms[0][1])  # an unstopped run: how many writes it makes
        self.assertEqual(rc, 0, err[-2000:])
        total = st.writes()
        self.assertEqual(snapshot(self.dst, st.dst), want)
        self.reset(st.dst, golden, gold)
        ctx = (mod, name, src, golden, gold, want)
        if len(arms) == 2:
            self.cross_check(mod, name, [(self.sto2, src, g.state_b), (self.osl1, golden,
                                                                       g.state_a)])
        try:
            summary = [self.run_arm(ctx, arm, extra, total) for arm, extra in arms]
        finally:
            for st in stoppers:
                self.drop(st.dst)
        if len(arms) == 1:
            summary.insert(0, "ordered skipped (this s3mirror has no --layout)")
        print("\n%s stop points: %s (%s, %.0fs)" % (name, ", ".join(summary), self.kind,
                                                     time.time() - t0), file=sys.stderr)

    def plan_tiers(self, site, bucket, name):
        """{key: tier} of a dry run with --layout NAME into an empty bucket (its --plan)."""
        empty = self.bucket(self.dst, "lay-empty")
        plan = os.path.join(self.tmp, "plan-%s.jsonl" % empty)
        self.s3m("sync", "%s:%s" % (site.name, bucket), "osl1:" + empty, "--dry-run",
                 "--layout", name, "--plan", plan, check=0)
        self.dst.delete_bucket(Bucket=empty)
        with open(plan) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return {x["key"]: x.get("tier", 0) for x in lines if x.get("key")}

    def cross_check(self, mod, name, states):
        """The preset's tiers against the checker's pointers (tests/layouts/tiercheck.py), on
        both states (A has objects B deleted: a delta backup, an incremental)."""
        found = set()
        for site, bucket, state in states:
            tiers = self.plan_tiers(site, bucket, name)
            self.assertEqual(sorted(tiers), sorted(state))
            w = mod.check(View.of_dict(state))
            found |= {(name, generalize(p), generalize(x))
                      for p, x, _r, _t in mismatches(w, lambda k: tiers.get(k, 0))}
        for m in sorted(found):
            print("\n%s preset: %s -> %s: pointer not in a later tier than what it names%s" % (
                m[0], m[1], m[2], " (known)" if m in KNOWN_MISMATCHES else ""), file=sys.stderr)
        self.assertEqual(found - KNOWN_MISMATCHES, set())

    def run_arm(self, ctx, arm, extra, total):
        kills, refusals = STOPS[self.kind]
        stops = [("kill", n) for n in points(total, kills, 0.5)] + \
                [("refuse", n) for n in points(total, refusals, 0.25)]
        with ThreadPoolExecutor(2) as ex:
            results = list(ex.map(lambda stop: self.one_stop(ctx, extra, stop), stops))
        broken = retired = known = 0
        example = ""
        for stop, rc, dangling, resumed in results:
            missing = [d for d in dangling if d.kind != "retired"]
            if missing and not example:
                example = "; e.g. %s at write %d: %s -> %s" % (
                    stop[0], stop[1], generalize(missing[0].referrer),
                    generalize(missing[0].target))
            gaps = [d for d in missing if d.kind == "deleted" or (
                ctx[1], generalize(d.referrer), generalize(d.target)) in KNOWN_MISMATCHES]
            if arm == "ordered":
                self.assertEqual([d for d in missing if d not in gaps], [],
                                 "%s --layout %s, %s at write %d of %d (exit %d)"
                                 % (self.kind, ctx[1], stop[0], stop[1], total, rc))
            broken += bool(missing)
            known += bool(missing) and len(gaps) == len(missing)
            retired += bool(dangling) and not missing
            self.assertEqual(resumed, (0, True), "resume after %s at %d" % stop)
        note = " (%d of them by a known preset gap only)" % known if known else ""
        note += " (+%d with a retired snapshot only)" % retired if retired else ""
        return "%s %d/%d broken%s%s" % (arm, broken, len(stops), note, example)

    def one_stop(self, ctx, extra, stop):
        """State A, a sync stopped at `stop`, the checker, then an unstopped sync (boto3 compares
        it with B). Runs in a worker: returns what the test asserts on."""
        mod, _name, src, golden, gold, want = ctx
        st = self.stoppers.get()
        try:
            rc, _err = st.sync(src, st.dst, extra, stop)
            dangling = mod.check(View.of_bucket(self.dst, st.dst)).dangling
            p = self.s3m("sync", "sto2:" + src, "osl1:" + st.dst, *extra)
            resumed = (p.returncode, snapshot(self.dst, st.dst) == want)
            self.reset(st.dst, golden, gold)
        finally:
            self.stoppers.put(st)
        return stop, rc, dangling, resumed

    def test_elasticsearch(self):
        self.run_layout("elasticsearch")

    def test_kopia(self):
        self.run_layout("kopia")

    def test_velero(self):
        self.run_layout("velero")

    def test_walg(self):
        self.run_layout("wal-g")

    def test_pgbackrest(self):
        self.run_layout("pgbackrest")
