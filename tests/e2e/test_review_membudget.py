"""Review of --max-buffer-memory (merge 97c6eff): ways a budget of few streams could hang, starve
the parts of multipart copies, leak its share on retries, or take a bad value, on both servers."""
import re
import time

from e2e import for_each_kind, proxied_conf, put_multipart, snapshot
from faultproxy import Proxy
from test_sync import MiB, body

STREAM_5M = MiB + 256 * 1024 + 512 * 1024  # a 5 MiB part at --buffer-size 1M: ring + curl's two
STATS = r"buffer memory: peak (\d+) of (\d+) B; streams waited (\d+) times \((\d+) ran alone"


@for_each_kind
class ReviewMemBudgetTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "rmbsrc")

    def multis(self, n, size=15 * MiB, part=5 * MiB, bucket=None):
        for i in range(n):
            put_multipart(self.src, bucket or self.sb, "m-%d" % i, body("m-%d" % i, size), part)

    def stats(self, err, limit):
        m = re.search(STATS, err)
        self.assertTrue(m, err[-3000:])
        peak, lim, waits, alone = (int(g) for g in m.groups())
        self.assertEqual(lim, limit)
        self.assertLessEqual(peak, limit)
        return waits, alone

    def test_one_stream_budget_many_multipart_uploads(self):
        """room for exactly one 5 MiB part: 8 uploads of 4 parts each may not starve each other
        (each holds parts only while they stream), the copy completes, none ran above it"""
        self.multis(8, size=20 * MiB)
        src = snapshot(self.src, self.sb, content=True)
        db = self.bucket(self.dst, "rmbone")
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--no-progress", "-v",
                     "--buffer-size", "1M", "--max-buffer-memory", str(STREAM_5M),
                     "--transfers", "8", "--multipart-concurrency", "4", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertEqual(snapshot(self.dst, db, content=True), src)
        waits, alone = self.stats(p.stderr, STREAM_5M)
        self.assertGreater(waits, 0)
        self.assertEqual(alone, 0)

    def test_retries_give_back_and_take_again(self):
        """500s on UploadPart and GETs reset mid-body under a budget of two streams: every
        retried round gives its share back and waits again; the copy completes"""
        self.multis(3)
        src = snapshot(self.src, self.sb, content=True)
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("reset", method="GET", path=r"^/%s/m-" % self.sb, times=3, keep=300000)
        self.addCleanup(proxy.stop)
        dproxy = Proxy(self.osl1.endpoint)
        dproxy.add("status", method="PUT", query=r"partNumber=", status=500, times=4)
        self.addCleanup(dproxy.stop)
        conf = proxied_conf(self.conf, "rsrc", self.sto2, proxy.endpoint)
        conf = proxied_conf(conf, "rdst", self.osl1, dproxy.endpoint)
        db = self.bucket(self.dst, "rmbretry")
        p = self.s3m("sync", "rsrc:" + self.sb, "rdst:" + db, "--no-progress", "-v",
                     "--buffer-size", "1M", "--max-buffer-memory", str(2 * STREAM_5M),
                     "--transfers", "4", "--multipart-concurrency", "4", "--low-level-retries",
                     "10", conf=conf, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertEqual(snapshot(self.dst, db, content=True), src)
        # the 4 refused parts and the 3 reset GETs are each tried again: as the stream's next
        # round ("try N failed"), or, a GET reset before its bytes reached the part, by the
        # request itself (a transport retry in the source's stats)
        tries = len(re.findall(r"try \d+ failed", p.stderr))
        transport = re.findall(r"source requests: .*?; retries \d+ \(transport (\d+)", p.stderr)
        self.assertTrue(transport, p.stderr[-3000:])
        self.assertGreaterEqual(tries + int(transport[-1]), 7, p.stderr[-3000:])
        self.stats(p.stderr, 2 * STREAM_5M)
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])

    def test_bwlimit_with_small_budget(self):
        self.multis(2, size=10 * MiB)
        self.put_many(self.src, self.sb, ["s-%d" % i for i in range(6)],
                      lambda k: body(k, 700 << 10))
        src = snapshot(self.src, self.sb, content=True)
        db = self.bucket(self.dst, "rmbbw")
        t0 = time.monotonic()
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--no-progress", "-v",
                     "--buffer-size", "1M", "--max-buffer-memory", "2M", "--bwlimit", "8M",
                     "--transfers", "8", timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertEqual(snapshot(self.dst, db, content=True), src)
        self.assertLess(time.monotonic() - t0, 60)

    def test_soft_cutoff_ends_waiting_streams(self):
        """man: "A stop (a signal, --max-duration) ends the waiting streams at once". With
        --cutoff-mode soft/cautious the streams still waiting for memory at the deadline start
        after it, one after the other: the run overruns by the whole queue, not by the
        transfers in flight"""
        keys = ["w-%d" % i for i in range(5)]
        self.put_many(self.src, self.sb, keys, lambda k: body(k, 1536 << 10))
        src = snapshot(self.src, self.sb, content=True)
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("slow_body", method="GET", path=r"^/%s/." % self.sb, rate=1 << 20)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)
        one = MiB + 256 * 1024 + 512 * 1024  # one 1.5 MiB stream at --buffer-size 1M
        for mode in ("soft", "cautious"):
            db = self.bucket(self.dst, "rmb" + mode)
            t0 = time.monotonic()
            p = self.s3m("sync", "slow:" + self.sb, "osl1:" + db, "--no-progress", "-v",
                         "--log-level", "debug", "--buffer-size", "1M", "--max-buffer-memory",
                         str(one), "--max-duration", "2s", "--cutoff-mode", mode, conf=conf,
                         timeout=120)
            took = time.monotonic() - t0
            self.assertIn("waits for buffer memory", p.stderr)
            got = snapshot(self.dst, db, content=True)
            for k, v in got.items():
                self.assertEqual(v, src.get(k), "%s is not a whole copy" % k)
            self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
            print("\n[review membudget %s %s] exit %d after %.1f s, %d of %d copied"
                  % (self.kind, mode, p.returncode, took, len(got), len(keys)))
            self.assertEqual(p.returncode, 15, "%s: %s" % (mode, p.stderr[-2000:]))
            self.assertLess(len(got), len(keys), "%s: the waiting streams ran after the "
                            "deadline (%.1f s)" % (mode, took))

    def test_whole_remote_several_buckets(self):
        from faultproxy import keep_buckets
        names = sorted([self.sb, self.bucket(self.src, "rmbsrc2"), self.bucket(self.src, "rmbsrc3")])
        for b in names:
            self.multis(2, size=10 * MiB, bucket=b)
            self.put_many(self.src, b, ["s-%d" % i for i in range(3)], lambda k: body(k, 2 * MiB))
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path=r"^/$", edit=keep_buckets(names))
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "few", self.sto2, proxy.endpoint)
        p = self.s3m("sync", "few:", "osl1:", "--no-progress", "-v", "--buffer-size", "1M",
                     "--max-buffer-memory", "2M", "--transfers", "4", conf=conf, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        for b in names:
            self.assertEqual(snapshot(self.dst, b, content=True),
                             snapshot(self.src, b, content=True))

    def test_bad_budget_values(self):
        self.put_many(self.src, self.sb, ["a"], lambda k: b"x")
        db = self.bucket(self.dst, "rmbbad")
        # "nan": strtod takes it, s3m_parse_size's range checks are false for NaN and the cast
        # gives 0 on x86-64: the budget is silently off (exit 0)
        for bad in ("abc", "-1", "12Q", "", "inf", "1e30", "nan"):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--no-progress",
                         "--max-buffer-memory", bad)
            self.assertEqual(p.returncode, 1, "%r: exit %d %s" % (bad, p.returncode, p.stderr))
            self.assertIn("--max-buffer-memory", p.stderr, bad)
        self.assertEqual(snapshot(self.dst, db), {})
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--no-progress", "-v",
                     "--max-buffer-memory", "0", check=0)
        self.assertNotRegex(p.stderr, STATS)  # off: no budget, no line

    def test_buffer_size_that_fits_one_stream_is_told(self):
        """--buffer-size whose stream (ring and curl's buffers) fits twice in no budget: the
        large copies run one after another, which the run says once at its start; a size that
        fits twice, no budget at all, and a check (which copies nothing) say nothing"""
        self.put_many(self.src, self.sb, ["a"])
        db = self.bucket(self.dst, "rmbwarn")
        warn = "holds one such stream at a time"
        for extra, told in ((["--buffer-size", "70M"], True), (["--buffer-size", "60M"], False),
                            (["--buffer-size", "70M", "--max-buffer-memory", "0"], False),
                            (["--max-buffer-memory", "3M"], True)):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--no-progress", *extra)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr.count(warn), 1 if told else 0, (extra, p.stderr))
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + db, "--buffer-size", "70M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(warn, p.stderr)
        self.assertIn("72.5 MiB", self.s3m("sync", "sto2:" + self.sb, "osl1:" + db,
                                           "--buffer-size", "70M").stderr)
        # larger than the budget: each runs alone (the man page's words)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--buffer-size", "200M",
                     "--max-buffer-memory", "100M", check=0)
        self.assertIn("100M is less than that: each runs alone", p.stderr)
        # one remote on both sides copies inside the server: no stream, no warning
        same = self.bucket(self.src, "rmbwarnss")
        p = self.s3m("sync", "sto2:" + self.sb, "sto2:" + same, "--buffer-size", "70M", check=0)
        self.assertNotIn(warn, p.stderr)
