"""Hostile review of --max-duration / --cutoff-mode (issue 17). Each test is a problem found
(it failed before its fix) or a scenario that must hold; results checked with boto3."""
import json
import os
import signal
import subprocess
import threading
import time

from e2e import BIN, empty_bucket, for_each_kind, proxied_conf, snapshot, unique
from faultproxy import Proxy, keep_buckets
from test_push import receiver
from test_sync import body

RATE = 64 * 1024  # bytes per second of each slowed GET body
EXTRA = "0-extra"  # only on the destination


@for_each_kind
class ReviewCutoffTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "rcsrc")
        self.db = self.bucket(self.dst, "rcdst")
        self.dst.put_object(Bucket=self.db, Key=EXTRA, Body=b"keep me unless synced")

    def slow(self, rate=RATE, path=None, query=None):
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("slow_body", method="GET", path=path or r"^/%s/." % self.sb, query=query,
                  rate=rate)
        self.addCleanup(proxy.stop)
        return proxy, proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)

    def two_buckets(self, extra=True):
        """Two source buckets with a key each, the destination's of the same names (with EXTRA
        when extra), and a remote "only" (conf) whose bucket listing shows just those two."""
        names = sorted([self.bucket(self.src, "two"), self.bucket(self.src, "two")])
        for b in names:
            self.src.put_object(Bucket=b, Key="k", Body=b"k")
            self.dst.create_bucket(Bucket=b)
            self.addCleanup(empty_bucket, self.dst, b)
            if extra:
                self.dst.put_object(Bucket=b, Key=EXTRA, Body=b"x")
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path=r"^/$", edit=keep_buckets(names))
        self.addCleanup(proxy.stop)
        return names, proxied_conf(self.conf, "only", self.sto2, proxy.endpoint)

    def assert_untouched(self, src):
        dst = snapshot(self.dst, self.db)
        self.assertIn(EXTRA, dst, "a cut-off run deleted")
        for k, v in dst.items():
            if k != EXTRA:
                self.assertEqual(v, src.get(k), "%s is not the source's" % k)
        ups = self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", [])
        self.assertEqual(ups, [], "multipart uploads left behind")

    def test_review_subsecond_duration_is_a_limit(self):
        """--max-duration 500ms / 1ms / 0.5s were truncated to 0 s, i.e. no limit at all: the
        run copied everything, deleted, and exited 0"""
        self.put_many(self.src, self.sb, ["s-%d" % i for i in range(3)],
                      lambda k: body(k, 64 << 10))  # 1 s each
        src = snapshot(self.src, self.sb)
        _, conf = self.slow()
        for d in ("500ms", "1ms", "0.5s"):
            t0 = time.monotonic()
            self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--transfers", "1", "--list-concurrency", "1", "--max-duration", d,
                     conf=conf, check=15, timeout=60)
            self.assertLess(time.monotonic() - t0, 2.5, d)
            self.assert_untouched(src)

    def test_review_bad_duration_is_a_usage_error(self):
        """--max-duration nan was taken (as no limit)"""
        self.src.put_object(Bucket=self.sb, Key="n", Body=b"n")
        for d in ("nan", "NaN", "5x", "-1s", "", "1e400"):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--max-duration", d,
                         check=1)
            self.assertIn("--max-duration", p.stderr, d)
        self.assertIn(EXTRA, snapshot(self.dst, self.db))

    def test_review_deadline_during_key_range_discovery(self):
        """the deadline counts key-range discovery (man): a slow discovery listing must not
        keep the run going long past it"""
        self.put_many(self.src, self.sb, ["%s/k" % c for c in "abcdefgh"])
        src = snapshot(self.src, self.sb)
        # every listing of the source bucket (discovery's delimiter listings included) slowly
        _, conf = self.slow(rate=40, path=r"^/%s/?$" % self.sb)
        t0 = time.monotonic()
        self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                 "--max-duration", "1s", conf=conf, check=15, timeout=120)
        self.assertLess(time.monotonic() - t0, 5, "the run overran its deadline")
        self.assert_untouched(src)

    def test_review_cautious_cut_data_holds_later_tiers(self):
        """ORDERED COPIES: a later tier starts only once every transfer of the tiers before it
        succeeded. A tier-0 object that --cutoff-mode cautious did not start left the data
        incomplete, yet tier 1 (what points to it) was copied"""
        small = ["a-%d" % i for i in range(6)]
        self.put_many(self.src, self.sb, small, lambda k: body(k, 32 << 10))  # 0.5 s each
        self.src.put_object(Bucket=self.sb, Key="z-big", Body=body("z-big", 512 << 10))  # 8 s
        self.src.put_object(Bucket=self.sb, Key="idx/1", Body=b"points to z-big")
        src = snapshot(self.src, self.sb)
        _, conf = self.slow()
        p = self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--max-duration", "4s", "--cutoff-mode", "cautious", "--transfers", "1",
                     "--list-concurrency", "1", "--copy-last", "/idx/**", conf=conf, check=15,
                     timeout=60)
        dst = snapshot(self.dst, self.db)
        self.assertNotIn("z-big", dst)  # too big for the time left: not started
        self.assertNotIn("idx/1", dst, "tier 1 copied while tier 0 was cut:\n" + p.stderr)
        self.assert_untouched(src)

    def test_review_hard_cut_with_stalled_destination(self):
        """hard: the deadline stops a multipart upload whose UploadPart the destination never
        answers at once, aborts the upload, and exits 15 (no hang past the deadline)"""
        from e2e import put_multipart
        put_multipart(self.src, self.sb, "mp", body("mp", 12 << 20), 5 << 20)
        src = snapshot(self.src, self.sb)
        proxy = Proxy(self.osl1.endpoint)
        proxy.add("stall", method="PUT", query=r"partNumber=", seconds=60)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "stalld", self.osl1, proxy.endpoint)
        t0 = time.monotonic()
        self.s3m("sync", "sto2:" + self.sb, "stalld:" + self.db, "--no-progress",
                 "--max-duration", "2s", conf=conf, check=15, timeout=120)
        self.assertLess(time.monotonic() - t0, 6, "the run overran its deadline")
        self.assert_untouched(src)
        self.assertNotIn("mp", snapshot(self.dst, self.db))

    def test_review_deadline_during_deletes_sends_no_further_batch(self):
        """the deadline in the delete phase: the batch in flight ends (man), no further
        DeleteObjects is sent after the deadline"""
        self.src.put_object(Bucket=self.sb, Key="k", Body=b"k")
        extra = ["x/%04d" % i for i in range(2100)]  # 3 batches of at most 1000
        self.put_many(self.dst, self.db, extra)
        proxy = Proxy(self.osl1.endpoint)
        proxy.add("delay", method="POST", query=r"^delete", seconds=1.5)  # each batch
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "slowd", self.osl1, proxy.endpoint)
        t0 = time.monotonic()
        p = self.s3m("sync", "sto2:" + self.sb, "slowd:" + self.db, "--no-progress",
                     "--max-duration", "2s", conf=conf, check=15, timeout=120)
        deadline = t0 + 2.0
        proxy.wait_idle()
        posts = [ev[-1] for ev in list(proxy.events)
                 if ev[0] == "start" and ev[1] == "POST" and ev[3].startswith("delete")]
        late = [t - deadline for t in posts if t > deadline + 0.2]
        self.assertEqual(late, [], "DeleteObjects sent after the deadline:\n" + p.stdout)
        left = [k for k in snapshot(self.dst, self.db) if k != "k"]  # x/... and EXTRA
        self.assertTrue(left, "the deadline was not in the delete phase")
        self.assertEqual(len(left), 2101 - 1000 * len(posts))  # the batches sent: whole

    def test_review_hard_cut_during_resume_verification(self):
        """a leftover upload (a killed run's) being verified (its parts' source ranges read
        slowly) at the deadline: the run stops at once, completes nothing; the next run
        resumes or restarts it and yields the source's object, no upload left"""
        from e2e import put_multipart
        data = body("mp", 15 << 20)
        put_multipart(self.src, self.sb, "mp", data, 5 << 20)
        src = snapshot(self.src, self.sb)
        up = self.dst.create_multipart_upload(Bucket=self.db, Key="mp")["UploadId"]
        for n in (1, 2):
            self.dst.upload_part(Bucket=self.db, Key="mp", UploadId=up, PartNumber=n,
                                 Body=data[(n - 1) * (5 << 20):n * (5 << 20)])
        time.sleep(1.1)
        _, conf = self.slow(rate=256 << 10)
        t0 = time.monotonic()
        self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                 "--max-duration", "1500ms", conf=conf, check=15, timeout=120)
        self.assertLess(time.monotonic() - t0, 5, "the run overran its deadline")
        dst = snapshot(self.dst, self.db)
        self.assertNotIn("mp", dst)
        self.assertIn(EXTRA, dst)
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress", check=0)
        self.assertEqual(snapshot(self.dst, self.db), src)
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])

    def test_review_hard_cut_during_server_side_multipart_copy(self):
        """server-side (UploadPartCopy) multipart copy whose part copies never answer: the
        deadline stops it, its upload is aborted, exit 15 at once"""
        from e2e import put_multipart
        db = self.bucket(self.src, "rcss")
        put_multipart(self.src, self.sb, "mp", body("mp", 12 << 20), 5 << 20)
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("stall", method="PUT", query=r"partNumber=", seconds=60)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "ss", self.sto2, proxy.endpoint)
        t0 = time.monotonic()
        p = self.s3m("sync", "ss:" + self.sb, "ss:" + db, "--no-progress", "-v",
                     "--max-duration", "2s", conf=conf, check=15, timeout=120)
        self.assertLess(time.monotonic() - t0, 6, "the run overran its deadline")
        self.assertIn("UploadPartCopy", p.stderr + p.stdout)  # it was server-side
        self.assertEqual(snapshot(self.src, db), {})
        self.assertEqual(self.src.list_multipart_uploads(Bucket=db).get("Uploads", []), [])

    def test_review_deadline_during_backup_dir_moves(self):
        """--backup-dir: the deadline while the move's copy into the backup never answers: the
        move fails, the original is not deleted, exit 15 at once (both modes)"""
        self.src.put_object(Bucket=self.sb, Key="k", Body=b"k")
        qb = self.bucket(self.dst, "rcq")
        proxy = Proxy(self.osl1.endpoint)
        proxy.add("stall", method="PUT", path=r"^/%s/" % qb, seconds=60)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "bd", self.osl1, proxy.endpoint)
        for mode in ("hard", "soft"):
            t0 = time.monotonic()
            self.s3m("sync", "sto2:" + self.sb, "bd:" + self.db, "--no-progress",
                     "--backup-dir", "bd:%s/n" % qb, "--max-duration", "2s", "--cutoff-mode",
                     mode, conf=conf, check=15, timeout=120)
            self.assertLess(time.monotonic() - t0, 6, mode)
            self.assertIn(EXTRA, snapshot(self.dst, self.db), mode)
            self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []),
                             [])

    def test_review_hard_cut_stops_checksum_reads(self):
        """hard: --compare checksum reading a pair whose ETags cannot be compared (a slow
        source read) must not keep the run going past the deadline"""
        from e2e import put_multipart
        data = body("v", 10 << 20)
        put_multipart(self.src, self.sb, "v", data, 5 << 20)
        self.dst.put_object(Bucket=self.db, Key="v", Body=data)
        _, conf = self.slow(rate=1 << 20)  # 10 s to read the source
        t0 = time.monotonic()
        p = self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--compare", "checksum", "--max-duration", "1s", conf=conf, check=15,
                     timeout=120)
        self.assertLess(time.monotonic() - t0, 5, "the run overran its deadline:\n" + p.stdout)
        self.assertIn(EXTRA, snapshot(self.dst, self.db))

    def test_review_cut_does_not_hide_immutable_refusal(self):
        """--immutable refused to change an object (exit 13, an alarm) in a run that was also
        cut off: the run exited 15, and docs/running-nightly.md's alert rule does not page
        for a cut-off run: the refusal went unseen"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"rewritten on the source")
        self.dst.put_object(Bucket=self.db, Key="a", Body=b"the original")
        self.src.put_object(Bucket=self.sb, Key="z-big", Body=body("z-big", 512 << 10))  # 8 s
        _, conf = self.slow()
        metrics = os.path.join(self.tmp, "imm-%s.prom" % self.db)
        p = self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--immutable", "--max-duration", "1s", "--metrics-file", metrics,
                     conf=conf, timeout=60)
        self.assertEqual(p.returncode, 13, p.stdout + p.stderr)
        with open(metrics) as f:
            self.assertNotRegex(f.read(), r'outcome="cut_off"} 1')
        dst = snapshot(self.dst, self.db)
        self.assertEqual(dst["a"][0], len(b"the original"))
        self.assertIn(EXTRA, dst)

    def test_review_soft_and_cautious_cut_during_listing(self):
        """soft / cautious: the deadline in a slow listing ends the listing as hard does (no
        transfer is in flight to let finish)"""
        self.put_many(self.src, self.sb, ["l-%d" % i for i in range(3)])
        src = snapshot(self.src, self.sb)
        _, conf = self.slow(rate=50, path=r"^/%s/?$" % self.sb)
        for mode in ("soft", "cautious"):
            t0 = time.monotonic()
            p = self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress",
                         "--max-duration", "1s", "--cutoff-mode", mode, "--list-concurrency",
                         "1", conf=conf, check=15, timeout=120)
            self.assertLess(time.monotonic() - t0, 5, mode)
            self.assertIn("the listing not complete", p.stdout)
            self.assert_untouched(src)

    def test_review_deadline_during_layout_detection(self):
        """--layout auto lists the source's top level before the job (blocking, up to several
        pages): a slow listing there must not keep the run going long past the deadline"""
        self.put_many(self.src, self.sb, ["%s/k" % c for c in "abcdefgh"])
        src = snapshot(self.src, self.sb)
        _, conf = self.slow(rate=40, path=r"^/%s/?$" % self.sb)
        t0 = time.monotonic()
        self.s3m("sync", "slow:" + self.sb, "osl1:" + self.db, "--no-progress", "--layout",
                 "auto", "--list-concurrency", "1", "--max-duration", "1s", conf=conf,
                 check=15, timeout=120)
        self.assertLess(time.monotonic() - t0, 5, "the run overran its deadline")
        self.assert_untouched(src)

    def test_review_deadline_passed_while_no_loop_ran(self):
        """The deadline passing while no loop runs (here: the start ping waits 1 s) is a cut-off
        like any: exit 15, a fail ping, nothing copied or deleted. (The bug CI once saw with
        --max-duration 1ms, the deadline marked reached but not cut so exit 0, needs the clock
        to pass it in the millisecond before the timer fires: test_cutoff.c's test_due.)"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        src = snapshot(self.src, self.sb)
        srv, url = receiver(self, "cut-uuid", hold_start=True)
        threading.Timer(1.0, srv.release.set).start()
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--max-duration", "300ms", "--notify-url", url, check=15, timeout=60)
        self.assertIn("cut off by --max-duration", p.stdout)
        self.assert_untouched(src)
        self.assertNotIn("a", snapshot(self.dst, self.db))
        self.assertEqual(srv.got[-1][1], "/ping/cut-uuid/fail", "the end ping said success")

    # The second review (of the fix above): the deadline passing where no loop runs, held
    # there by S3MIRROR_TEST_HOLD=point:seconds (a slow stdout or a paused process would do)

    def test_review_deadline_after_the_last_step_is_no_cutoff(self):
        """Every copy and deletion done, the deadline passed while the summary was printed:
        sync_run's last poll fired the timer and cut the finished run off: exit 15, a fail
        ping; a dry run's complete plan got no trailer, so apply refused it"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        hold = {"S3MIRROR_TEST_HOLD": "summary:1.5"}
        plan = os.path.join(self.tmp, unique("late.plan"))
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress", "--dry-run",
                     "--plan", plan, "--max-duration", "1s", env=hold, check=0)
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.s3m("apply", plan, check=0)  # the plan is complete: apply takes it
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["a"])
        self.dst.put_object(Bucket=self.db, Key=EXTRA, Body=b"x")
        srv, url = receiver(self, "late-uuid")
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--max-duration", "1s", "--notify-url", url, env=hold, check=0)
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["a"])
        self.assertEqual(srv.got[-1][1], "/ping/late-uuid", "the end ping said failure")

    def test_review_check_cut_summary_says_cut_off(self):
        """A cut-off check exits 15, but its summary line ("0 only on source, 0 differ, 0 only
        on destination") read as a clean check: nothing said it was cut off, nor that its
        listing was not complete"""
        names = sorted([self.sb, self.bucket(self.src, "rcsrc2")])
        for b in names:
            self.put_many(self.src, b, ["w-%d" % i for i in range(2)])
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path=r"^/$", edit=keep_buckets(names))
        proxy.add("slow_body", method="GET", path=r"^/(%s)/?$" % "|".join(names), rate=40)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "slow", self.sto2, proxy.endpoint)
        p = self.s3m("check", "slow:", "osl1:", "--no-progress", "--max-duration", "1s",
                     conf=conf, check=15, timeout=60)
        self.assertIn("cut off by --max-duration: 1 bucket(s) of slow: not started", p.stdout)
        self.assertIn("cut off by --max-duration 1s (hard): the listing not complete", p.stdout)

    def test_review_signal_and_deadline_while_start_ping_waits(self):
        """SIGTERM and the deadline both while the start ping waits: 143, a fail ping, nothing
        copied or deleted"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        src = snapshot(self.src, self.sb)
        srv, url = receiver(self, "sig-uuid", hold_start=True)
        proc = subprocess.Popen([BIN, "--config", self.conf, "sync", "sto2:" + self.sb,
                                 "osl1:" + self.db, "--no-progress", "--max-duration", "300ms",
                                 "--notify-url", url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.assertTrue(srv.started.wait(30), "no start ping")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        srv.release.set()
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 143, out + err)
        self.assert_untouched(src)
        self.assertNotIn("a", snapshot(self.dst, self.db))
        self.assertEqual(srv.got[-1][1], "/ping/sig-uuid/fail")

    # The third review: copy, check and apply have no step after their copies (no deletions,
    # no sweep), yet the deadline stayed armed through run_finish's decision, the poll before
    # the sweep and the summaries

    def test_review_finished_copy_is_not_cut_off(self):
        """A copy with every object copied, the deadline passing at the delete decision (which a
        copy does not have): exit 15, "left 0 object(s) not copied", a fail ping; a dry-run
        copy's complete plan gets no trailer and apply refuses it"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        hold = {"S3MIRROR_TEST_HOLD": "decision:1.5"}
        plan = os.path.join(self.tmp, unique("copy.plan"))
        p = self.s3m("copy", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress", "--dry-run",
                     "--plan", plan, "--max-duration", "1s", env=hold)
        a = self.s3m("apply", plan)
        self.assertEqual((p.returncode, a.returncode), (0, 0), p.stdout + p.stderr + a.stderr)
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), [EXTRA, "a"])
        self.src.put_object(Bucket=self.sb, Key="b", Body=b"b")
        srv, url = receiver(self, "copy-uuid")
        p = self.s3m("copy", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--max-duration", "1s", "--notify-url", url, env=hold)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), [EXTRA, "a", "b"])
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(srv.got[-1][1], "/ping/copy-uuid", "the end ping said failure")

    def test_review_finished_check_is_not_cut_off(self):
        """A check whose listings and comparison are complete, the deadline passing at the
        (sync-only) delete decision: exit 15 instead of 10, its full report called cut off"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                     "--max-duration", "1s", env={"S3MIRROR_TEST_HOLD": "decision:1.5"})
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 10, p.stdout + p.stderr)

    def test_review_whole_remote_copy_second_summary_is_no_cutoff(self):
        """copy sto2: osl1:, both buckets copied; the deadline passing while the first bucket's
        summary prints: the second (complete) bucket is called cut off, exit 15"""
        names, conf = self.two_buckets(extra=False)
        p = self.s3m("copy", "only:", "osl1:", "--no-progress", "--json", "--max-duration", "1s",
                     conf=conf, env={"S3MIRROR_TEST_HOLD": "summary:1.5"}, timeout=60)
        for b in names:
            self.assertEqual(sorted(snapshot(self.dst, b)), ["k"])
        summary = [o for o in map(json.loads, p.stdout.splitlines()) if o["type"] == "summary"]
        self.assertEqual([o["cut_off"] for o in summary], [False, False], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_review_whole_remote_sync_later_bucket_refused(self):
        """(must hold) sync sto2: osl1:, the deadline passing while the first bucket's summary
        prints: the second bucket's deletions are refused and it says cut off; exit 15"""
        names, conf = self.two_buckets()
        p = self.s3m("sync", "only:", "osl1:", "--no-progress", "--json", "--max-duration", "1s",
                     conf=conf, env={"S3MIRROR_TEST_HOLD": "summary:1.5"}, check=15, timeout=60)
        summary = [o for o in map(json.loads, p.stdout.splitlines()) if o["type"] == "summary"]
        self.assertEqual([o["cut_off"] for o in summary], [False, True], p.stdout)
        self.assertEqual(summary[1]["deletions_refused"], "cut off by --max-duration", p.stdout)
        self.assertEqual(sorted(snapshot(self.dst, names[0])), ["k"])
        self.assertEqual(sorted(snapshot(self.dst, names[1])), [EXTRA, "k"])

    def test_review_finished_apply_is_not_cut_off(self):
        """apply of a sync plan has no sweep (s3m_sync_sweep: not under a gate), yet the
        deadline passing at the poll before it cuts the finished apply off: exit 15"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        plan = os.path.join(self.tmp, unique("sync.plan"))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress", "--dry-run",
                 "--plan", plan, check=0)
        p = self.s3m("apply", plan, "--max-duration", "1s",
                     env={"S3MIRROR_TEST_HOLD": "sweep:1.5"})
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["a"])  # all done
        self.assertNotIn("cut off", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_review_exit_15_has_a_cut_off_summary_sync(self):
        """The deadline passing after a sync's deletes, found at the poll before its sweep: the
        sweep skipped and exit 15, but the summary line (marked before the deletes) and its
        JSON said nothing of a cut-off"""
        hold = {"S3MIRROR_TEST_HOLD": "sweep:1.5"}
        for extra in ([], ["--json"]):
            self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
            self.dst.put_object(Bucket=self.db, Key=EXTRA, Body=b"x")
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                         "--max-duration", "1s", *extra, env=hold, check=15)
            self.assertNotIn(EXTRA, snapshot(self.dst, self.db))
            if extra:
                summary = [o for o in map(json.loads, p.stdout.splitlines())
                           if o["type"] == "summary"]
                self.assertEqual([o["cut_off"] for o in summary], [True], p.stdout)
            else:
                self.assertIn("cut off by --max-duration 1s (hard)", p.stdout)

    def test_review_hold_garbage(self):
        """S3MIRROR_TEST_HOLD (a test hook) with a bad number or point holds nothing; -1 held
        71 minutes (a negative double converted to useconds_t: undefined behaviour)"""
        self.src.put_object(Bucket=self.sb, Key="a", Body=b"a")
        for v in ("summary:", "summary:x", "summary:nan", "summar:5", "summaryx:5", "summary:-1"):
            t0 = time.monotonic()
            try:
                self.s3m("copy", "sto2:" + self.sb, "osl1:" + self.db, "--no-progress",
                         env={"S3MIRROR_TEST_HOLD": v}, check=0, timeout=6)
            except subprocess.TimeoutExpired:
                self.fail("%s: still holding after 6 s" % v)
            self.assertLess(time.monotonic() - t0, 3, v)

    # The fourth review (of the disarm): a refusal decided leaves nothing to cut

    def test_review_max_delete_refusal_not_hidden_by_late_deadline(self):
        """sync sto2: osl1: over two buckets, --max-delete refuses every deletion (exit 2, an
        alarm). The refusal is decided, nothing is left that a deadline could cut, yet the
        deadline stays armed (run_disarm_when_done asks s3m_sync_steps_left, which still sees
        the later bucket's deletions as due: delete_refused is set only when its turn comes):
        passing while the first summary prints, it marks the refused second bucket cut off
        and the run exits 15 ("nothing to do: the next run goes on")"""
        names, conf = self.two_buckets()
        base = ("sync", "only:", "osl1:", "--no-progress", "--json", "--max-delete", "1")
        ref = self.s3m(*base, conf=conf, timeout=60)  # no deadline: the refusal's own code
        self.assertEqual(ref.returncode, 2, ref.stdout + ref.stderr)
        p = self.s3m(*base, "--max-duration", "1s", conf=conf,
                     env={"S3MIRROR_TEST_HOLD": "summary:1.5"}, timeout=60)
        for b in names:
            self.assertEqual(sorted(snapshot(self.dst, b)), [EXTRA, "k"])
        summary = [o for o in map(json.loads, p.stdout.splitlines()) if o["type"] == "summary"]
        self.assertEqual((p.returncode, [o["cut_off"] for o in summary]), (2, [False, False]),
                         p.stdout + p.stderr)

    def test_review_dry_run_cap_refusal_not_cut_by_late_deadline(self):
        """The same in a dry run: --max-delete would refuse (a dry run says so and exits 0,
        its plan complete); the deadline passing while the first bucket's summary prints
        marks the second bucket cut off: exit 15 and the plan loses its trailer"""
        names, conf = self.two_buckets()
        base = ("sync", "only:", "osl1:", "--no-progress", "--dry-run", "--max-delete", "1")
        ref = self.s3m(*base, conf=conf, timeout=60)
        self.assertEqual(ref.returncode, 0, ref.stdout + ref.stderr)
        p = self.s3m(*base, "--max-duration", "1s", conf=conf,
                     env={"S3MIRROR_TEST_HOLD": "summary:1.5"}, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
