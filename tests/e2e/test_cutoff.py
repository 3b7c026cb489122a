"""--max-duration and --cutoff-mode (issue 17): a run cut off at its deadline. The source is
reached through a fault proxy that sends object bodies slowly (slow_body), so a few seconds cut
a run of several objects; the proxy's events (with their times) show which GETs started when.
Every result is checked with boto3: a cut-off run deletes nothing, leaves no multipart upload
behind, never leaves an object half-written, exits 15 and says what it left; a second run
without a limit finishes the sync."""
import json
import os
import re
import time

from e2e import for_each_kind, proxied_conf, put_multipart, snapshot
from faultproxy import Proxy
from test_sync import body

RATE = 64 * 1024  # bytes per second of each slowed GET body
EXTRA = "0-extra"  # only on the destination


@for_each_kind
class CutoffTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "csrc")
        self.db = self.bucket(self.dst, "cdst")
        # sorts first: its deletion is decided before any cut-off
        self.dst.put_object(Bucket=self.db, Key=EXTRA, Body=b"keep me unless synced")

    def slow_source(self, path=None, rate=RATE):
        """(proxy, config): remote `slow` is the source site behind a proxy slowing GET bodies
        of the source bucket's objects (or of path)."""
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("slow_body", method="GET", path=path or r"^/%s/." % self.sb, rate=rate)
        self.addCleanup(proxy.stop)
        return proxy, proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)

    def run_cut(self, conf, *args, expect=15):
        t0 = time.monotonic()
        p = self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress", *args,
                     conf=conf, check=expect, timeout=60)
        return p, t0, time.monotonic() - t0

    def gets(self, proxy):
        """{key: (start time, end time or None)} of the object GETs at the proxy"""
        out = {}
        for ev in list(proxy.events):
            m = re.match(r"^/%s/(.+)$" % re.escape(self.sb), ev[2])
            if ev[1] == "GET" and m:
                t = out.setdefault(m.group(1), [ev[-1], None])
                if ev[0] == "end":
                    t[1] = ev[-1]
        return out

    def assert_whole(self, src, allowed_extra=(EXTRA,)):
        """every destination object is a whole copy of its source (or the extra key), and the
        destination holds no multipart upload"""
        dst = snapshot(self.dst, self.db)
        for k, v in dst.items():
            if k not in allowed_extra:
                self.assertEqual(v, src.get(k), "%s on the destination is not the source's" % k)
        ups = self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", [])
        self.assertEqual(ups, [], "multipart uploads left behind")
        return dst

    def finish(self, src):
        """a second run without a limit completes the sync and deletes what it should"""
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress", check=0)
        self.assertEqual(snapshot(self.dst, self.db), src)

    def test_hard_stops_in_flight(self):
        put_multipart(self.src, self.sb, "0-mp", body("0-mp", 10 << 20), 5 << 20)
        self.put_many(self.src, self.sb, ["a-%d" % i for i in range(5)],
                      lambda k: body(k, 256 << 10))
        src = snapshot(self.src, self.sb)
        proxy, conf = self.slow_source()
        metrics = os.path.join(self.tmp, "cut-%s.prom" % self.db)
        p, _, wall = self.run_cut(conf, "--max-duration", "2s", "--transfers", "2",
                                  "--list-concurrency", "1", "--metrics-file", metrics)
        self.assertLess(wall, 10, "a hard cut-off stops at once")
        self.assertIn("cut off by --max-duration 2s (hard): left ", p.stdout)
        self.assertRegex(p.stdout, r"deletions refused: cut off by --max-duration")
        self.assertIn("NOT deleted 1", p.stdout)
        left = int(re.search(r"left (\d+) object", p.stdout).group(1))
        self.assertEqual(left, 2)  # the two in flight; the rest was never decided:
        self.assertIn("the listing not complete: more may be left", p.stdout)
        dst = self.assert_whole(src)
        self.assertIn(EXTRA, dst)  # nothing deleted
        self.assertNotIn("0-mp", dst)  # in flight: stopped, its upload aborted
        proxy.wait_idle()
        self.assertLessEqual(len(self.gets(proxy)), 2 + 1)  # --transfers 2 (+ a part's GET)
        with open(metrics) as f:
            m = f.read()
        self.assertRegex(m, r'outcome="cut_off"} 1')
        self.assertRegex(m, r'outcome="failed"} 0')
        self.assertRegex(m, r"s3mirror_last_run_exit_code\{[^}]*\} 15")
        lo = re.search(r"s3mirror_last_run_left_objects\{[^}]*\} (\d+)", m)
        self.assertEqual(int(lo.group(1)), left)
        self.finish(src)

    def test_soft_lets_running_finish(self):
        keys = ["s-%d" % i for i in range(5)]
        self.put_many(self.src, self.sb, keys, lambda k: body(k, 128 << 10))  # 2 s each
        src = snapshot(self.src, self.sb)
        proxy, conf = self.slow_source()
        p, t0, wall = self.run_cut(conf, "--max-duration", "1s", "--cutoff-mode", "soft",
                                   "--transfers", "2", "--list-concurrency", "1")
        proxy.wait_idle()
        gets = self.gets(proxy)
        self.assertEqual(len(gets), 2, gets)  # the two started before the deadline
        for k, (start, end) in gets.items():
            self.assertLess(start, t0 + 1.0, "%s started after the deadline" % k)
            self.assertIsNotNone(end)
        dst = self.assert_whole(src)
        self.assertEqual(sorted(k for k in dst if k in src), sorted(gets))  # finished, whole
        self.assertIn(EXTRA, dst)
        # the two running finished: nothing decided was left, the rest was never listed
        self.assertIn("cut off by --max-duration 1s (soft): left 0 object(s) (0 B) not copied, "
                      "the listing not complete", p.stdout)
        self.assertGreater(wall, 1.5)  # it waited for the two running ones
        self.finish(src)

    def test_cautious_skips_what_cannot_finish(self):
        small = ["a-%d" % i for i in range(6)]
        self.put_many(self.src, self.sb, small, lambda k: body(k, 32 << 10))  # 0.5 s each
        self.src.put_object(Bucket=self.sb, Key="z-big", Body=body("z-big", 512 << 10))  # 8 s
        src = snapshot(self.src, self.sb)
        proxy, conf = self.slow_source()
        p, _, wall = self.run_cut(conf, "--max-duration", "4s", "--cutoff-mode", "cautious",
                                  "--transfers", "1", "--list-concurrency", "1", "-v",
                                  "--json")
        proxy.wait_idle()
        gets = self.gets(proxy)
        self.assertEqual(sorted(gets), small, "the big one must not start, the small ones must")
        dst = self.assert_whole(src)
        self.assertEqual(sorted(k for k in dst if k in src), small)
        self.assertIn(EXTRA, dst)
        out = [json.loads(line) for line in p.stdout.splitlines()]  # --json: objects
        self.assertEqual([o["type"] for o in out], ["summary", "stats"])
        summary, stats = out
        self.assertEqual(stats["source"]["requests"]["GetObject"], len(small))
        self.assertTrue(summary["cut_off"])
        self.assertEqual(summary["left"], {"objects": 1, "bytes": 512 << 10})
        self.assertEqual(summary["copy"], {"objects": 6, "bytes": 6 * (32 << 10)})
        self.assertEqual(summary["deletions_refused"], "cut off by --max-duration")
        self.assertTrue(summary["listing_complete"])
        self.assertIn("would not finish in the", p.stderr)
        self.assertLess(wall, 6)
        self.finish(src)

    def test_deadline_during_listing(self):
        self.put_many(self.src, self.sb, ["l-%d" % i for i in range(3)])
        src = snapshot(self.src, self.sb)
        listing = r"^/%s/?$" % self.sb  # the listing's body, 50 bytes a second
        proxy, conf = self.slow_source(path=listing, rate=50)
        for dry in ([], ["--dry-run"]):
            p, _, wall = self.run_cut(conf, "--max-duration", "1s", "--list-concurrency", "1",
                                      *dry)
            self.assertLess(wall, 5)
            self.assertIn("the listing not complete", p.stdout)
            self.assertIn(EXTRA, snapshot(self.dst, self.db))
        self.assertEqual(snapshot(self.dst, self.db)[EXTRA][0], 21)
        self.assert_whole(src)
        self.finish(src)

    def test_whole_remote_later_buckets_not_started(self):
        from faultproxy import keep_buckets
        names = sorted([self.sb, self.bucket(self.src, "csrc2")])
        for b in names:
            self.put_many(self.src, b, ["w-%d" % i for i in range(2)], lambda k: body(k, 128 << 10))
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path=r"^/$", edit=keep_buckets(names))
        proxy.add("slow_body", method="GET", path=r"^/%s/." % names[0], rate=RATE)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)
        # the destination side: a remote of its own whose bucket list is the run's (created)
        p = self.s3m("sync", "slow:", "osl1:", "--no-progress", "--max-duration", "1s",
                     "--transfers", "1", conf=conf, check=15, timeout=60)
        self.assertIn("cut off by --max-duration: 1 bucket(s) of slow: not started", p.stdout)
        self.assertIn("slow:%s -> osl1:%s" % (names[0], names[0]), p.stdout)
        self.assertNotIn("slow:%s -> osl1:%s" % (names[1], names[1]), p.stdout)
        ups = self.dst.list_multipart_uploads(Bucket=names[0]).get("Uploads", [])
        self.assertEqual(ups, [])
        self.assertEqual(snapshot(self.dst, names[0]), {})  # the one in flight: stopped

    def test_signal_after_soft_cutoff_stops_the_drain(self):
        import signal
        import subprocess
        from e2e import BIN
        self.put_many(self.src, self.sb, ["g-%d" % i for i in range(3)],
                      lambda k: body(k, 1 << 20))  # 16 s each at the proxy's rate
        src = snapshot(self.src, self.sb)
        _, conf = self.slow_source()
        proc = subprocess.Popen([BIN, "--config", conf, "sync", "slow:" + self.sb,
                                 "osl1:" + self.db, "--no-progress", "--max-duration", "1s",
                                 "--cutoff-mode", "soft", "--transfers", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)  # past the deadline: the two in flight are let run
        self.assertIsNone(proc.poll())
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, err[-2000:])
        self.assertLess(time.monotonic() - t, 5, "SIGTERM stops the transfers a soft cut lets run")
        dst = self.assert_whole(src)
        self.assertIn(EXTRA, dst)
        self.assertFalse([k for k in dst if k in src])

    def test_apply_takes_max_duration(self):
        self.put_many(self.src, self.sb, ["p-%d" % i for i in range(4)],
                      lambda k: body(k, 256 << 10))  # 4 s each
        src = snapshot(self.src, self.sb)
        _, conf = self.slow_source()
        plan = os.path.join(self.tmp, "plan-%s.jsonl" % self.db)
        self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--dry-run", "--plan", plan,
                 conf=conf, check=0)
        p = self.s3m("apply", plan, "--max-duration", "1s", "--no-progress", conf=conf,
                     check=15, timeout=60)
        self.assertIn("cut off by --max-duration 1s (hard)", p.stdout)
        dst = self.assert_whole(src)
        self.assertIn(EXTRA, dst)  # the plan's deletion was not carried out
        self.assertFalse([k for k in dst if k in src])
