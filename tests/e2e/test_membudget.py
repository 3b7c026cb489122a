"""--max-buffer-memory on both servers: one budget for the stream buffers of every transfer. A
copy of several large objects (single-part sources sent whole, multipart sources part by part,
single-part sources above --multipart-threshold in chunks) under a budget of a few streams
succeeds with the bytes checked by boto3, its streams waited for their share (the DEBUG lines and
the -v stats line say so), and the s3mirror process's peak RSS (GNU time) stays under a bound that
the same copy without a budget exceeds. A hard --max-duration cut-off and a SIGTERM that come
while streams wait for memory end the run at once (exit 15 / 143), leaving no multipart upload;
and a multipart copy whose part fails for good drops its parts still waiting."""
import os
import re
import signal
import subprocess
import time

from e2e import BIN, for_each_kind, proxied_conf, put_multipart, snapshot
from faultproxy import Proxy
from test_sync import MiB, body

BUF = 4 * MiB  # --buffer-size: a large stream holds 4 + 1 + 2 MiB (ring, curl's two buffers)
BOUND_MIB = 56  # peak RSS under a budget of two streams; the copy without one holds more
with open(BIN, "rb") as _f:  # a sanitizer's shadow memory and quarantine make RSS meaningless
    SANITIZED = b"__asan_init" in _f.read()


@for_each_kind
class MemBudgetTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "mbsrc")

    def source(self, n_single, n_multi, size=12 * MiB, part=5 * MiB):
        for i in range(n_single):
            self.src.put_object(Bucket=self.sb, Key="s-%d" % i, Body=body("s-%d" % i, size))
        for i in range(n_multi):
            put_multipart(self.src, self.sb, "m-%d" % i, body("m-%d" % i, size), part)
        return snapshot(self.src, self.sb, content=True)

    def timed_sync(self, db, *args):
        """(CompletedProcess, peak RSS in MiB of the s3mirror process)"""
        rss = os.path.join(self.tmp, "rss-%s" % db)
        cmd = ["/usr/bin/time", "-o", rss, "-f", "%M", BIN, "--config", self.conf, "sync",
               "sto2:" + self.sb, "osl1:" + db, "--no-progress", "-v", "--log-level", "debug",
               "--buffer-size", str(BUF), "--transfers", "16", "--multipart-concurrency", "4"]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        with open(rss) as f:
            return p, int(f.read().split()[-1]) / 1024

    def test_budget_bounds_peak_rss(self):
        src = self.source(6, 6)  # 6 whole + 18 parts: 24 streams of 7 MiB without a budget
        db = self.bucket(self.dst, "mbdst")
        p, rss = self.timed_sync(db, "--max-buffer-memory", "16M")
        self.assertEqual(snapshot(self.dst, db, content=True), src)
        waits = re.findall(r"waits for buffer memory", p.stderr)
        self.assertTrue(waits, "no stream waited under a budget of two")
        m = re.search(r"buffer memory: peak (\d+) of (\d+) B; streams waited (\d+) times",
                      p.stderr)
        self.assertTrue(m, p.stderr[-2000:])
        self.assertEqual(int(m.group(2)), 16 * MiB)
        self.assertLessEqual(int(m.group(1)), 16 * MiB)
        self.assertEqual(int(m.group(3)), len(waits))
        db0 = self.bucket(self.dst, "mbdst0")
        p0, rss0 = self.timed_sync(db0, "--max-buffer-memory", "0")
        self.assertEqual(snapshot(self.dst, db0, content=True), src)
        self.assertNotIn("waits for buffer memory", p0.stderr)
        print("\n[membudget %s] peak RSS %.0f MiB under 16M, %.0f MiB without a budget"
              % (self.kind, rss, rss0))
        if SANITIZED:
            self.skipTest("peak RSS not compared under ASan (the rest was checked)")
        self.assertLess(rss, BOUND_MIB)
        self.assertGreater(rss0, BOUND_MIB, "the bound would not catch a copy without budget")

    def test_oversized_stream_runs_alone(self):
        """a budget below one stream's share: each stream runs alone, the copy completes"""
        src = self.source(2, 1)
        db = self.bucket(self.dst, "mbone")
        p, _ = self.timed_sync(db, "--max-buffer-memory", "1M")
        self.assertEqual(snapshot(self.dst, db, content=True), src)
        m = re.search(r"streams waited (\d+) times \((\d+) ran alone above the limit\)", p.stderr)
        self.assertTrue(m, p.stderr[-2000:])
        self.assertEqual(int(m.group(2)), 2 + 3)  # every stream: 2 whole, 3 parts

    def slow_conf(self):
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("slow_body", method="GET", path=r"^/%s/." % self.sb, rate=64 * 1024)
        self.addCleanup(proxy.stop)
        return proxy, proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)

    def start_waiting(self, conf, db, *extra):
        """a run whose first stream crawls and whose others wait for memory"""
        return subprocess.Popen(
            [BIN, "--config", conf, "sync", "slow:" + self.sb, "osl1:" + db, "--no-progress",
             "--log-level", "debug", "--buffer-size", "1M", "--max-buffer-memory", "2M",
             "--multipart-threshold", "5M", "--multipart-chunk-size", "5M"] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def assert_nothing_left(self, db, src, err):
        self.assertIn("waits for buffer memory", err)
        for k, v in snapshot(self.dst, db, content=True).items():
            self.assertEqual(v, src.get(k), "%s is not a whole copy" % k)
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])

    def test_hard_cutoff_while_waiting(self):
        src = self.source(2, 2)
        db = self.bucket(self.dst, "mbcut")
        _, conf = self.slow_conf()
        t0 = time.monotonic()
        p = self.start_waiting(conf, db, "--max-duration", "3s")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 15, err[-2000:])
        self.assertLess(time.monotonic() - t0, 10, "a hard cut-off stops waiting streams at once")
        self.assert_nothing_left(db, src, err)

    def test_sigterm_while_waiting(self):
        src = self.source(2, 2)
        db = self.bucket(self.dst, "mbterm")
        _, conf = self.slow_conf()
        p = self.start_waiting(conf, db)
        time.sleep(3)
        self.assertIsNone(p.poll())
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err[-2000:])
        self.assertLess(time.monotonic() - t0, 5, "SIGTERM stops waiting streams at once")
        self.assert_nothing_left(db, src, err)

    def test_failed_part_drops_waiting_parts(self):
        """a part that fails for good fails its upload: its parts still waiting for memory end
        without a request, the upload is aborted, the other object is copied"""
        src = self.source(0, 2, size=15 * MiB)
        db = self.bucket(self.dst, "mbfail")
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("status", method="GET", path=r"^/%s/m-0$" % self.sb, status=403,
                  code="AccessDenied")  # not worth a retry: the part fails at once
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "bad", self.sto2, proxy.endpoint)
        p = self.s3m("sync", "bad:" + self.sb, "osl1:" + db, "--no-progress", "--log-level",
                     "debug", "--buffer-size", "1M", "--max-buffer-memory", "2M", "--retries",
                     "1", "--transfers", "2", conf=conf, timeout=120)
        self.assertNotEqual(p.returncode, 0, p.stderr[-4000:])
        self.assertEqual(snapshot(self.dst, db, content=True), {"m-1": src["m-1"]})
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
        self.assertIn("waits for buffer memory", p.stderr)
        gets = [ev for ev in list(proxy.events)
                if ev[0] == "start" and ev[1] == "GET" and ev[2] == "/%s/m-0" % self.sb]
        self.assertEqual(len(gets), 1, "the parts waiting behind the failed one were sent")
