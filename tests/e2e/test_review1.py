"""Hostile review of the deletion and safety paths (review1): each test is a reproduction of a
defect found by the review and FAILS on the code it was written against. Checked with boto3."""
import resource
import subprocess

from e2e import BIN, conf_with, for_each_kind, snapshot, unique
from faultproxy import Proxy, keep_buckets
from test_sync import body


@for_each_kind
class Review1Test:
    def setUp(self):
        self.sb = self.bucket(self.src, "r1src")
        self.db = self.bucket(self.dst, "r1dst")

    def test_max_delete_percent_counts_own_shard_keys(self):
        """--shard by hash: each shard "applies the safety rules to its own keys" (man page), but
        the percentage of --max-delete is taken of every destination key the shard listed, the
        other shards' (excluded) keys included. Shard 0 of 4 deletes all of its ~10 keys (100% of
        its own keys, 25% of the bucket) under --max-delete 30%; four shards run in parallel (the
        Kubernetes Indexed Job) delete ~97% of the destination under a 30% cap."""
        keys = ["k%03d" % i for i in range(40)]
        self.put_many(self.src, self.sb, ["k000"], body=body)
        self.put_many(self.dst, self.db, keys, body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--max-delete", "30%",
                     "--shard", "0/4", "--no-lock")
        self.assertEqual(len(snapshot(self.dst, self.db)), 40, p.stdout + p.stderr)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_max_delete_percent_ignores_excluded_keys(self):
        """--include '*.db': the mirror is the 10 .db keys; 9 of them (90%) go under
        --max-delete 50% because the 90 excluded .log keys count in the percentage's base.
        (Same root as the shard case: excluded keys are counted as destination objects.)"""
        self.put_many(self.src, self.sb, ["a.db"], body=body)
        dst_keys = (["a.db"] + ["d%02d.db" % i for i in range(9)] +
                    ["l%02d.log" % i for i in range(90)])
        self.put_many(self.dst, self.db, dst_keys, body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--include", "*.db",
                     "--max-delete", "50%", "--no-lock")
        self.assertEqual(len(snapshot(self.dst, self.db)), 100, p.stdout + p.stderr)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_whole_remote_many_buckets_file_descriptors(self):
        """REMOTE: keeps every job (and its open delete-list temp file) until the run's one
        delete decision: one descriptor per bucket with deletions. 40 buckets under a limit of
        48 descriptors: the later buckets' connections fail ("Couldn't connect to server", exit
        5, a "temporary" error a later run cannot mend) and nothing is ever deleted. Under the
        usual limit of 1024 a remote of ~1000 buckets is in the same place."""
        names = [unique("fd%02d" % i) for i in range(40)]
        for b in names:
            self.src.create_bucket(Bucket=b)
            self.dst.create_bucket(Bucket=b)
            self.src.put_object(Bucket=b, Key="k", Body=b"k")
            self.dst.put_object(Bucket=b, Key="k", Body=b"k")
            self.dst.put_object(Bucket=b, Key="old", Body=b"o")
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path="^/$", edit=keep_buckets(set(names)))
        self.addCleanup(proxy.stop)
        conf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

        p = subprocess.run([BIN, "--config", conf, "sync", "flaky:", "osl1:", "--no-lock",
                            "--list-concurrency", "1", "--transfers", "4"],
                           capture_output=True, text=True, timeout=300, preexec_fn=few_fds)
        self.assertEqual(p.returncode, 0, p.stdout[-1500:] + p.stderr[-1500:])
        self.assertEqual(sum(len(snapshot(self.dst, b)) for b in names), 40)

    def test_sweep_waits_for_the_whole_run(self):
        """The stale-upload sweep is a deletion on the destination (parts of an upload are
        thrown away) and the man page ties it to a clean copy phase; with REMOTE: it still runs
        per bucket at the end of that bucket's copies, before the run's one decision: bucket 1's
        stale upload is aborted although bucket 2's copy failed and the run refused every
        deletion."""
        names = [unique("sw%d" % i) for i in range(2)]
        for b in names:
            self.src.create_bucket(Bucket=b)
            self.dst.create_bucket(Bucket=b)
            self.src.put_object(Bucket=b, Key="k", Body=b"k")
            self.dst.put_object(Bucket=b, Key="k", Body=b"k")
            self.dst.put_object(Bucket=b, Key="old", Body=b"o")
        up = self.dst.create_multipart_upload(Bucket=names[0], Key="big")["UploadId"]
        self.src.put_object(Bucket=names[1], Key="broken", Body=b"x" * 100)
        import time
        time.sleep(1.5)  # the upload is older than the run
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path="^/$", edit=keep_buckets(set(names)))
        proxy.add("status", method="GET", path="/%s/broken$" % names[1], status=403,
                  code="AccessDenied")
        self.addCleanup(proxy.stop)
        conf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))
        p = self.s3m("sync", "flaky:", "osl1:", "--retries", "1", "--no-lock", conf=conf)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("deletions refused", p.stdout)
        self.assertEqual(sum(len(snapshot(self.dst, b)) for b in names), 4)  # holds
        ups = [u["UploadId"] for u in
               self.dst.list_multipart_uploads(Bucket=names[0]).get("Uploads", [])]
        self.assertEqual(ups, [up], p.stdout + p.stderr)

    def proxied_dst(self, rules):
        proxy = Proxy(self.osl1.endpoint)
        for action, kw in rules:
            proxy.add(action, **kw)
        self.addCleanup(proxy.stop)
        return conf_with(self.conf, "[pdst]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.osl1.access_key, self.osl1.secret_key, proxy.endpoint))

    def test_delete_objects_retried_after_connection_closed(self):
        """A server that closes a kept-alive connection without answering (the idle-timeout
        race of every load balancer): curl must send the DeleteObjects body again on a new
        connection, cannot rewind it (no seek callback), fails with CURLE_SEND_FAIL_REWIND (65),
        which is not retried: exit 5 and nothing deleted, the summary saying "deleted 2"."""
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep", "d1", "d2"], body=body)
        conf = self.proxied_dst([("stall", dict(method="POST", query="delete", times=1,
                                                seconds=1))])
        p = self.s3m("sync", "sto2:" + self.sb, "pdst:" + self.db, "--no-lock", conf=conf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(list(snapshot(self.dst, self.db)), ["keep"])

    def test_summary_and_metrics_count_actual_deletions(self):
        """DeleteObjects refused (AccessDenied): nothing is deleted, yet the summary line says
        "deleted 2" and the metrics file s3mirror_last_run_objects{action="delete"} 2 (both print
        the decided count, not the objects the server deleted). Same after SIGTERM during the
        delete phase: "deleted 2500" with 1500 still there."""
        import os
        import re
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep", "d1", "d2"], body=body)
        conf = self.proxied_dst([("status", dict(method="POST", query="delete", status=403,
                                                 code="AccessDenied"))])
        metrics = os.path.join(self.tmp, unique("r1.prom"))
        p = self.s3m("sync", "sto2:" + self.sb, "pdst:" + self.db, "--no-lock",
                     "--metrics-file", metrics, conf=conf)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(len(snapshot(self.dst, self.db)), 3)
        self.assertNotRegex(p.stdout, r", deleted 2 ", p.stdout)
        m = re.search(r'action="delete"\} (\d+)', open(metrics).read())
        self.assertEqual(m.group(1), "0")

    def test_max_delete_nan_is_refused(self):
        """--max-delete is parsed with strtod: 'nan', 'nan%' and '-nan' pass the range checks
        (every comparison with NaN is false) and turn the cap off without a word ((int64_t)NaN
        is undefined behaviour besides); 'inf' and '0x10' are taken too. A cap the operator
        believes set must not vanish: refuse the value (exit 1), delete nothing."""
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep"] + ["d%02d" % i for i in range(9)], body=body)
        for v in ("nan%", "nan", "-nan", "inf", "inf%", "0x10", "1e3", " 5", "+5", "5.5",
                  "9999999999999999999999", "100.5%", "12.%", "%", ""):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--max-delete", v,
                         "--no-lock")
            self.assertEqual(len(snapshot(self.dst, self.db)), 10, v + ": " + p.stdout)
            self.assertEqual(p.returncode, 1, v + ": " + p.stdout + p.stderr)

    def test_max_delete_strict_values_still_work(self):
        """The strict parser keeps the documented forms: N digits and P% with a fraction."""
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep"] + ["d%02d" % i for i in range(3)], body=body)
        for v, rc, left in (("2", 2, 4), ("12.5%", 2, 4), ("3", 0, 1)):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--max-delete", v,
                         "--no-lock")
            self.assertEqual(p.returncode, rc, v + ": " + p.stdout + p.stderr)
            self.assertEqual(len(snapshot(self.dst, self.db)), left, v + ": " + p.stdout)

    def test_signal_between_copies_and_deletes(self):
        """A SIGTERM after the copy phase, before the run's delete decision (no job's handlers
        are installed there): it used to kill the process with the default action (no summary,
        no metrics). Now: nothing deleted, the summary, the metrics, exit 143. The hook raises
        the signal at that point (the manual check: gdb, break s3m_sync_refusal, kill)."""
        import os
        import re
        self.put_many(self.src, self.sb, ["keep", "new"], body=body)
        self.put_many(self.dst, self.db, ["keep", "d1", "d2"], body=body)
        metrics = os.path.join(self.tmp, unique("sig.prom"))
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-lock",
                     "--metrics-file", metrics, env={"S3MIRROR_TEST_RAISE": "decision"})
        self.assertEqual(p.returncode, 143, p.stdout + p.stderr)
        self.assertIn("deletions refused: interrupted", p.stdout)
        self.assertEqual(list(snapshot(self.dst, self.db)), ["d1", "d2", "keep", "new"])
        m = open(metrics).read()
        self.assertRegex(m, r"s3mirror_last_run_exit_code\{[^}]*\} 143")
        self.assertEqual(re.search(r'action="delete"\} (\d+)', m).group(1), "0")

    def test_file_size_limit_is_the_delete_list_error(self):
        """RLIMIT_FSIZE with SIGXFSZ at its default action killed the process at the delete
        list's first write past the limit; it is ignored now: the write fails (EFBIG), the
        documented "delete list" error, nothing deleted, a summary."""
        import signal
        self.put_many(self.src, self.sb, ["keep"], body=body)
        extra = ["extra/%s/%04d" % ("x" * 80, i) for i in range(300)]  # ~30 KB of list
        self.put_many(self.dst, self.db, extra + ["keep"], body=lambda k: b"d")

        def small_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

        p = subprocess.run([BIN, "--config", self.conf, "sync", "sto2:" + self.sb,
                            "osl1:" + self.db, "--no-lock"], capture_output=True, text=True,
                           timeout=300, preexec_fn=small_files)
        self.assertGreater(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("delete list", p.stderr)
        self.assertIn("deletions refused", p.stdout)
        self.assertEqual(len(snapshot(self.dst, self.db)), 301)

    def test_plan_of_a_real_run_has_only_done_deletes(self):
        """--plan in a real run wrote a delete line for every deletion decided, also those
        --max-delete then refused: a plan that says a key was deleted while it is still there."""
        import json
        import os
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep", "d1", "d2"], body=body)
        plan = os.path.join(self.tmp, unique("plan.jsonl"))
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-lock", "--max-delete",
                     "1", "--plan", plan)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        lines = [json.loads(x) for x in open(plan)][1:-1]  # no header, trailer
        self.assertEqual([x for x in lines if x["action"] == "delete"], [], lines)
        self.assertIn("NOT deleted 2", p.stdout)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-lock", "--plan", plan,
                     check=0)
        lines = [json.loads(x) for x in open(plan)][1:-1]  # no header, trailer
        self.assertEqual(sorted(x["key"] for x in lines if x["action"] == "delete"),
                         ["d1", "d2"], lines)
        self.assertIn(", deleted 2 (", p.stdout)
        self.assertEqual(list(snapshot(self.dst, self.db)), ["keep"])

    def test_shards_racing_to_create_the_destination_bucket(self):
        """The shards of one job (the Kubernetes Indexed Job) start together on a destination
        bucket that does not exist yet: each HEADs it (404), then creates it. The first create
        wins; the others get BucketAlreadyOwnedByYou (AWS outside us-east-1, moto) and fail
        the shard. Simulated: the HEAD answers 404 once, as it did before the other shard's
        CreateBucket; the bucket is ours by then."""
        constraint = "eu-west-1" if self.kind == "moto" else "default"
        db = unique("race")
        self.dst.create_bucket(Bucket=db, CreateBucketConfiguration={
            "LocationConstraint": constraint})
        self.put_many(self.src, self.sb, ["a", "b"], body=body)
        proxy = Proxy(self.osl1.endpoint)
        proxy.add("status", method="HEAD", path="^/%s/?$" % db, times=1, status=404,
                  code="NoSuchBucket")
        self.addCleanup(proxy.stop)
        conf = conf_with(self.conf, "[pdst]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\nlocation_constraint = %s\n\n" % (
                             self.osl1.access_key, self.osl1.secret_key, proxy.endpoint,
                             constraint))
        p = self.s3m("sync", "sto2:" + self.sb, "pdst:" + db, "--shard", "0/2", "--no-lock",
                     conf=conf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def _conf_via(self, proxy, name="flaky", site=None):
        site = site or self.sto2
        return conf_with(self.conf, "[%s]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             name, site.access_key, site.secret_key, proxy.endpoint))

    def test_sigterm_ends_the_stale_upload_sweep(self):
        """(final review) A stop during the stale-upload sweep went on aborting every upload of
        the page: SIGTERM at the first abort must leave the others (same rules as deletions)."""
        import signal
        import time
        self.put_many(self.src, self.sb, ["keep"], body=body)
        self.put_many(self.dst, self.db, ["keep"], body=body)
        n = 60
        for i in range(n):
            self.dst.create_multipart_upload(Bucket=self.db, Key="stale%04d" % i)
        time.sleep(2)  # initiated before the run began (whole seconds)
        p = subprocess.Popen([BIN, "--config", self.conf, "-v", "--no-lock", "sync",
                              "sto2:" + self.sb, "osl1:" + self.db],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            if "aborting multipart upload" in line:
                p.send_signal(signal.SIGTERM)
                break
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 143, out + err)
        left = len(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []))
        self.assertGreaterEqual(left, n // 2, err[-2000:])

    def test_sigterm_during_range_discovery_starts_no_copies(self):
        """(final review) A stop while key ranges were being discovered (delimiter listings,
        before the job's own signal watchers) was noted, then every object was copied."""
        import signal
        import time
        from faultproxy import Proxy as P
        self.put_many(self.src, self.sb, ["d%d/k%d" % (i % 4, i) for i in range(20)], body=body)
        proxy = P(self.sto2.endpoint)
        proxy.add("stall", query="delimiter", seconds=3)
        self.addCleanup(proxy.stop)
        p = subprocess.Popen([BIN, "--config", self._conf_via(proxy), "--no-lock", "sync",
                              "flaky:" + self.sb, "osl1:" + self.db],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # signal once discovery is under way (its delimiter request is held by the proxy), not
        # after a fixed sleep: a slow start (ASan, a loaded machine) would be signalled before
        # any watcher exists, and die by the default action instead
        deadline = time.time() + 60
        while proxy.count(query="delimiter") == 0 and time.time() < deadline and p.poll() is None:
            time.sleep(0.05)
        self.assertGreater(proxy.count(query="delimiter"), 0, "no discovery request seen")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=200)
        self.assertEqual(p.returncode, 143, out + err)
        self.assertEqual(snapshot(self.dst, self.db), {}, out + err)
