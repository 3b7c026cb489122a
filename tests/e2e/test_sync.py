"""sync / copy / check end to end between the two sites, checked with boto3 (and rclone)."""
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess

from e2e import conf_with, for_each_kind, put_multipart, s3servers, snapshot, unique
from faultproxy import Proxy, swap_first_keys
from test_client import TRICKY

MiB = 1024 * 1024


def body(key, n=None):
    """Deterministic content for a key."""
    seed = hashlib.sha256(key.encode()).digest()
    n = len(key) * 7 + 3 if n is None else n
    return (seed * (n // len(seed) + 1))[:n]


@for_each_kind
class SyncTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "src")
        self.db = self.bucket(self.dst, "dst")

    def sync(self, *extra, check=0, cmd="sync", src=None, dst=None, conf=None):
        return self.s3m(cmd, src or "sto2:" + self.sb, dst or "osl1:" + self.db, *extra,
                        check=check, conf=conf)

    def assert_mirrored(self, content=True, sp="", dp=""):
        a = snapshot(self.src, self.sb, sp, content)
        b = snapshot(self.dst, self.db, dp, content)
        self.assertEqual({k[len(sp):]: v for k, v in a.items()},
                         {k[len(dp):]: v for k, v in b.items()})

    def test_first_sync_resync_update_delete(self):
        keys = ["k%03d" % i for i in range(50)] + ["dir/a", "dir/b/c", "empty"]
        self.put_many(self.src, self.sb, keys, body=lambda k: b"" if k == "empty" else body(k))
        p = self.sync()
        self.assertRegex(p.stdout, r"copied 53 \(.*\), updated 0 .*deleted 0 .*errors 0")
        self.assert_mirrored()
        self.assertEqual(self.dst.head_object(Bucket=self.db, Key="empty")["ContentLength"], 0)
        p = self.sync()  # nothing to do the second time
        self.assertRegex(p.stdout, r"copied 0 .*updated 0 .*deleted 0 .*skipped 53")
        self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        # same size, other bytes: updated; extra object on the destination: deleted
        self.src.put_object(Bucket=self.sb, Key="k001", Body=body("k001")[::-1])
        self.dst.put_object(Bucket=self.db, Key="only-on-dst", Body=b"x")
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, check=10)
        self.assertIn("differs", p.stdout)
        self.assertIn("only on destination", p.stdout)
        p = self.sync()
        self.assertRegex(p.stdout, r"copied 0 .*updated 1 .*deleted 1 ")
        self.assert_mirrored()
        self.sync("--error-on-no-transfer", check=9)

    def test_dry_run_changes_nothing(self):
        self.put_many(self.src, self.sb, ["a", "b", "c"], body=body)
        self.put_many(self.dst, self.db, ["b", "z1", "z2"], body=lambda k: b"old" + body(k))
        before = snapshot(self.dst, self.db, content=True)
        plan = os.path.join(self.tmp, unique("plan.jsonl"))
        p = self.sync("--dry-run", "--plan", plan)
        self.assertEqual(snapshot(self.dst, self.db, content=True), before)
        lines = p.stdout.splitlines()
        self.assertIn("copy", [l.split()[0] for l in lines if l.endswith("(not on destination)")])
        self.assertEqual(sorted(l.split()[2] for l in lines if l.startswith("delete")), ["z1", "z2"])
        self.assertTrue(any(l.startswith("update") and " b " in l for l in lines))
        self.assertRegex(p.stdout, r"dry run: sync .* would copy 2 .* would update 1 .* would be deleted 2 ")
        acts = [json.loads(l) for l in open(plan)][1:-1]  # no header, trailer
        self.assertEqual(sorted((a["action"], a["key"]) for a in acts),
                         [("copy", "a"), ("copy", "c"), ("delete", "z1"), ("delete", "z2"), ("update", "b")])

    def test_prefix_sync_leaves_the_rest(self):
        self.put_many(self.src, self.sb, ["p/1", "p/2", "p/sub/3", "q/1", "p-not"], body=body)
        self.put_many(self.dst, self.db, ["p/old", "other/keep", "pp/keep"], body=body)
        self.sync(src="sto2:%s/p/" % self.sb, dst="osl1:%s/p/" % self.db)
        got = snapshot(self.dst, self.db)
        self.assertEqual(sorted(got), ["other/keep", "p/1", "p/2", "p/sub/3", "pp/keep"])
        self.assert_mirrored(sp="p/", dp="p/")

    def test_sizes_and_multipart_layout(self):
        for n in (5 * MiB - 1, 5 * MiB, 5 * MiB + 1):
            self.src.put_object(Bucket=self.sb, Key="s%d" % n, Body=body("s%d" % n, n))
        data = body("mp", 40 * MiB)
        mp = self.src.create_multipart_upload(Bucket=self.sb, Key="big/mp40", ContentType="application/x-big")
        parts = []
        for i in range(8):
            r = self.src.upload_part(Bucket=self.sb, Key="big/mp40", UploadId=mp["UploadId"],
                                     PartNumber=i + 1, Body=data[i * 5 * MiB:(i + 1) * 5 * MiB])
            parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
        self.src.complete_multipart_upload(Bucket=self.sb, Key="big/mp40", UploadId=mp["UploadId"],
                                           MultipartUpload={"Parts": parts})
        want = hashlib.md5(b"".join(hashlib.md5(data[i * 5 * MiB:(i + 1) * 5 * MiB]).digest()
                                    for i in range(8))).hexdigest() + "-8"
        self.sync()
        h = self.dst.head_object(Bucket=self.db, Key="big/mp40")
        self.assertEqual(h["ETag"].strip('"'), want)
        self.assertEqual(h["ContentType"], "application/x-big")
        self.assert_mirrored(content=True)
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])
        self.sync("--error-on-no-transfer", check=9)  # ETags compare exactly now

    def test_metadata_preserved(self):
        meta = dict(ContentType="text/csv; charset=utf-8", CacheControl="no-cache, max-age=0",
                    ContentDisposition='attachment; filename="r.csv"', ContentEncoding="gzip",
                    ContentLanguage="nb-NO", Metadata={"owner": "ops", "x-y": "1 2"},
                    Expires=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
        self.src.put_object(Bucket=self.sb, Key="meta.csv", Body=b"a,b\n", **meta)
        self.sync()
        h = self.dst.head_object(Bucket=self.db, Key="meta.csv")
        for k, v in meta.items():
            self.assertEqual(h[k], v, k)

    def upload_parts(self, client, bucket, key, data, part):
        put_multipart(client, bucket, key, data, part)

    def test_threshold_unverifiable_etags_and_checksum(self):
        data = body("plain", 12 * MiB)
        self.src.put_object(Bucket=self.sb, Key="plain12", Body=data)
        self.sync("--multipart-threshold", "5M", "--multipart-chunk-size", "5M")
        h = self.dst.head_object(Bucket=self.db, Key="plain12")
        self.assertTrue(h["ETag"].strip('"').endswith("-3"), h["ETag"])
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="plain12")["Body"].read(), data)
        # a plain and a multipart ETag prove nothing: said in the plan, decided by size and time
        p = self.sync("--dry-run")
        self.assertRegex(p.stdout, r"skip +12582912 plain12 +\(ETags not comparable")
        self.assertIn("would copy 0", p.stdout)
        # checksum mode reads both sides: same bytes, nothing to do
        p = self.sync("--compare", "checksum", "--dry-run")
        self.assertIn("would update 0", p.stdout)
        # same size, other bytes, written as multipart by "another tool": only checksum sees it
        self.upload_parts(self.dst, self.db, "plain12", data[::-1], 6 * MiB)
        self.assertIn("would update 0", self.sync("--dry-run").stdout)
        p = self.sync("--compare", "checksum")
        self.assertRegex(p.stdout, r"updated 1 ")
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="plain12")["Body"].read(), data)
        self.assertEqual(self.dst.head_object(Bucket=self.db, Key="plain12")["ETag"],
                         self.src.head_object(Bucket=self.sb, Key="plain12")["ETag"])

    def test_tricky_keys_and_paging(self):
        keys = TRICKY + ["n%04d" % i for i in range(2500)]
        self.put_many(self.src, self.sb, keys, body=lambda k: body(k, 16))
        self.put_many(self.dst, self.db, ["n0000x", "a/../c", "zz//"], body=body)
        self.sync("--transfers", "64")
        self.assert_mirrored(content=False)
        for k in TRICKY:  # byte for byte
            self.assertEqual(self.dst.get_object(Bucket=self.db, Key=k)["Body"].read(), body(k, 16))

    def test_server_side_copy_same_endpoint(self):
        other = self.bucket(self.src, "same")
        self.put_many(self.src, self.sb, ["x", "y/z"], body=lambda k: body(k, 1000))
        p = self.s3m("sync", "sto2:" + self.sb, "sto2:" + other, "-vv", check=0)
        self.assertIn("CopyObject", p.stderr)
        self.assertNotIn("GetObject", p.stderr)
        self.assertEqual(snapshot(self.src, self.sb, content=True), snapshot(self.src, other, content=True))

    def test_refusals(self):
        self.s3m("sync", "sto2:" + self.sb, "sto2:" + self.sb, check=1)
        p = self.s3m("sync", "sto2:%s" % self.sb, "sto2:%s/inside/" % self.sb, check=1)
        self.assertIn("refusing", p.stderr)
        self.s3m("sync", "sto2:" + self.sb, "osl1:", check=1)

    def test_empty_source_and_max_delete(self):
        self.put_many(self.dst, self.db, ["d%d" % i for i in range(10)], body=body)
        before = snapshot(self.dst, self.db)
        p = self.sync(check=2)
        self.assertIn("source listing is empty", p.stdout)
        self.assertEqual(snapshot(self.dst, self.db), before)
        self.put_many(self.src, self.sb, ["d0", "d1"], body=body)
        p = self.sync("--max-delete", "3", check=2)
        self.assertIn("exceed --max-delete 3", p.stdout)
        self.assertEqual(set(snapshot(self.dst, self.db)), set(before))
        p = self.sync("--max-delete", "50%", check=2)
        self.assertIn("80.0% of the destination", p.stdout)
        self.sync("--max-delete", "80%")
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["d0", "d1"])
        self.s3m("sync", "sto2:" + self.bucket(self.src, "empty"), "osl1:" + self.db,
                 "--allow-empty-source", check=0)
        self.assertEqual(snapshot(self.dst, self.db), {})

    def test_filters(self):
        self.put_many(self.src, self.sb, ["a.log", "b.txt", "sub/c.log", "big.bin"],
                      body=lambda k: body(k, 5000 if k == "big.bin" else 10))
        self.put_many(self.dst, self.db, ["x.log", "keep.tmp"], body=body)
        self.sync("--exclude", "*.tmp", "--max-size", "1k")
        self.assertEqual(sorted(snapshot(self.dst, self.db)),
                         ["a.log", "b.txt", "keep.tmp", "sub/c.log"])  # excluded: never deleted

    def fault_conf(self, proxy):
        return conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))

    def test_source_fails_mid_listing_deletes_nothing(self):
        self.put_many(self.src, self.sb, ["k%04d" % i for i in range(300)], body=lambda k: b"v")
        self.put_many(self.dst, self.db, ["zzz-only-on-dst"], body=body)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("drop", method="GET", query="list-type=2", after=2)  # the server "dies"
            p = self.sync("--max-keys", "50", "--low-level-retries", "2", check=5,
                          src="flaky:" + self.sb, conf=self.fault_conf(proxy))
        finally:
            proxy.stop()
        self.assertIn("listing failed, nothing deleted", p.stderr)
        self.assertIn("zzz-only-on-dst", snapshot(self.dst, self.db))

    def test_unsorted_listing_deletes_nothing(self):
        self.put_many(self.src, self.sb, ["a", "b", "c"], body=body)
        self.put_many(self.dst, self.db, ["old"], body=body)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("listing", method="GET", query="list-type=2", edit=swap_first_keys)
            p = self.sync(check=2, src="flaky:" + self.sb, conf=self.fault_conf(proxy))
        finally:
            proxy.stop()
        self.assertIn("not in strictly increasing key order", p.stderr)
        self.assertIn("old", snapshot(self.dst, self.db))

    def test_failed_copy_deletes_nothing(self):
        self.put_many(self.src, self.sb, ["good", "bad"], body=body)
        self.put_many(self.dst, self.db, ["old"], body=body)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("status", method="GET", path="/bad$", status=500)
            p = self.sync("--low-level-retries", "2", "--retries", "2", check=6,
                          src="flaky:" + self.sb, conf=self.fault_conf(proxy))
        finally:
            proxy.stop()
        self.assertIn("1 object(s) failed to copy", p.stdout)
        got = snapshot(self.dst, self.db)
        self.assertIn("old", got)
        self.assertIn("good", got)
        self.assertNotIn("bad", got)

    def interrupt_mid_upload(self, sig, settle):
        """Start a sync whose big multipart copy hangs after its first part (the fault proxy
        stalls the source), send sig once the upload exists (plus settle seconds); returns
        (returncode, stdout, stderr)."""
        import time
        data = body("big", 20 * MiB)
        self.upload_parts(self.src, self.sb, "big", data, 5 * MiB)
        self.put_many(self.src, self.sb, ["s%02d" % i for i in range(10)], body=body)
        self.put_many(self.dst, self.db, ["only-on-dst"], body=body)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("stall", method="GET", path="/big$", after=1, seconds=20)
            from e2e import BIN
            p = subprocess.Popen([BIN, "--config", self.fault_conf(proxy), "sync", "flaky:" + self.sb,
                                  "osl1:" + self.db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 encoding="utf-8", errors="replace")
            deadline = time.time() + 30
            while not self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads") and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(settle)
            p.send_signal(sig)
            out, err = p.communicate(timeout=60)
        finally:
            proxy.stop()
        return p.returncode, out, err

    def test_sigterm_aborts_uploads_and_deletes_nothing(self):
        import signal
        rc, out, err = self.interrupt_mid_upload(signal.SIGTERM, 0.3)
        self.assertEqual(rc, 128 + signal.SIGTERM, err)
        self.assertNotIn("\ufffd", err)  # no garbage bytes in the messages
        self.assertIn("SIGTERM received", err)
        self.assertIn("refused: interrupted", out)
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])
        got = snapshot(self.dst, self.db)
        self.assertIn("only-on-dst", got)
        self.assertNotIn("big", got)
        self.sync()  # a later run finishes the job
        self.assert_mirrored()

    def test_kill_9_then_rerun_leaves_nothing_over(self):
        import signal
        # 1.2 s: the next run must see the upload as older than itself; SIGKILL: no clean-up
        rc, out, err = self.interrupt_mid_upload(signal.SIGKILL, 1.2)
        self.assertEqual(rc, -signal.SIGKILL)
        left = self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", [])
        self.assertEqual([u["Key"] for u in left], ["big"])
        self.assertIn("only-on-dst", snapshot(self.dst, self.db))  # deletes come last
        # a dry run names the leftover and changes nothing
        p = self.sync("--dry-run")
        self.assertRegex(p.stdout, r"abort +- big  \(multipart upload left by an earlier run")
        self.assertIn("would abort 1 multipart upload(s)", p.stdout)
        self.assertEqual(len(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", [])), 1)
        p = self.sync()
        # the rerun copies "big": it resumes the leftover where it holds parts of the source,
        # else aborts it (issue 17); either way nothing is left over
        self.assertRegex(p.stdout, r"(resumed|aborted) 1 multipart upload\(s\) left by an earlier run")
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])
        self.assert_mirrored()

    def run_with_faults(self, rules, *extra):
        """Sync through a fault proxy in front of the source; returns (process, proxy log)."""
        self.put_many(self.src, self.sb, ["f%02d" % i for i in range(8)], body=lambda k: body(k, 200000))
        proxy = Proxy(self.sto2.endpoint)
        try:
            for action, kw in rules:
                proxy.add(action, **kw)
            p = self.sync("-vv", *extra, src="flaky:" + self.sb, conf=self.fault_conf(proxy))
            return p, proxy
        finally:
            proxy.stop()

    def test_retry_after_slowdown(self):
        import time
        t0 = time.time()
        p, proxy = self.run_with_faults([("status", dict(method="GET", path="/f0[0-3]$", times=4,
                                                          status=503, retry_after=1))])
        self.assertGreaterEqual(time.time() - t0, 1.0)  # Retry-After: 1 was waited for
        self.assertRegex(p.stderr, r"retry in (9\d\d|1\d\d\d) ms")
        self.assertIn("HTTP 503 SlowDown", p.stderr)
        self.assert_mirrored()

    def test_truncated_and_dropped_bodies_are_retried(self):
        p, proxy = self.run_with_faults([
            ("truncate", dict(method="GET", path="/f04$", times=1)),
            ("wrong_length", dict(method="GET", path="/f05$", times=1)),
            ("drop", dict(method="GET", path="/f06$", times=2))])
        self.assertRegex(p.stdout, r"copied 8 .*errors 0")
        self.assert_mirrored()

    def test_lock_and_metrics_file(self):
        import fcntl
        self.put_many(self.src, self.sb, ["m1", "m2"], body=body)
        lock = os.path.join(self.tmp, unique("job.lock"))
        metrics = os.path.join(self.tmp, unique("s3mirror.prom"))
        with open(lock, "w") as held:  # another run holds the job's lock
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            p = self.sync("--lock-file", lock, "--metrics-file", metrics, check=11)
            self.assertIn("another run of this job holds", p.stderr)
        self.assertEqual(snapshot(self.dst, self.db), {})  # nothing was done
        self.sync("--lock-file", lock, "--metrics-file", metrics)
        text = open(metrics).read()
        labels = 'src="sto2:%s",dst="osl1:%s"' % (self.sb, self.db)
        vals = dict(re.findall(r"^(s3mirror_\w+\{[^}]*\}) (\S+)$", text, re.M))
        self.assertEqual(vals["s3mirror_last_run_exit_code{%s}" % labels], "0")
        self.assertEqual(vals['s3mirror_last_run_objects{%s,action="copy"}' % labels], "2")
        ok = float(vals["s3mirror_last_success_timestamp_seconds{%s}" % labels])
        self.assertGreater(ok, 1.7e9)
        # a failed run keeps the last success time and records its own exit code
        self.src.put_object(Bucket=self.sb, Key="m3", Body=b"x")
        self.s3m("sync", "sto2:no-such-bucket-m", "osl1:" + self.db, "--metrics-file", metrics,
                 check=3)
        labels2 = 'src="sto2:no-such-bucket-m",dst="osl1:%s"' % self.db
        vals = dict(re.findall(r"^(s3mirror_\w+\{[^}]*\}) (\S+)$", open(metrics).read(), re.M))
        self.assertEqual(vals["s3mirror_last_run_exit_code{%s}" % labels2], "3")
        self.assertEqual(vals["s3mirror_last_success_timestamp_seconds{%s}" % labels2], "0.000")

    def test_same_result_as_rclone(self):
        if not shutil.which("rclone"):
            self.skipTest("rclone not installed (make deps installs it)")
        keys = ["r%02d" % i for i in range(20)] + ["sp ace", "a+b", "dir/x"]
        self.put_many(self.src, self.sb, keys, body=body)
        self.put_many(self.dst, self.db, ["stale"], body=body)
        other = self.bucket(self.dst, "rclone")
        self.dst.put_object(Bucket=other, Key="stale", Body=b"x")
        self.sync()
        r = subprocess.run(["rclone", "--config", self.conf, "sync", "sto2:" + self.sb,
                            "osl1:" + other], capture_output=True, text=True, timeout=300,
                           env={k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.dst, other, content=True))


@for_each_kind
class WholeRemoteTest:
    """`remote:` on both sides, on a pair of servers of its own (other tests' buckets stay out)."""

    def test_three_buckets(self):
        tmp = os.path.join(self.tmp, unique("whole"))
        os.makedirs(tmp)
        a = s3servers.STARTERS[self.kind]("sto2", tmp)
        b = s3servers.STARTERS[self.kind]("osl1", tmp)
        try:
            conf = os.path.join(tmp, "rclone.conf")
            with open(conf, "w") as f:
                f.write(a.remote_conf("wa") + b.remote_conf("wb"))
            ca, cb = a.client(), b.client()
            for name in ("alpha", "beta", "gamma"):
                ca.create_bucket(Bucket=name)
                self.put_many(ca, name, ["%s/%d" % (name, i) for i in range(5)], body=body)
            cb.create_bucket(Bucket="beta")
            cb.put_object(Bucket="beta", Key="stale", Body=b"x")
            p = self.s3m("sync", "wa:", "wb:", "--dry-run", conf=conf, check=0)
            self.assertIn("create bucket wb:alpha", p.stdout)
            self.assertEqual(sorted(x["Name"] for x in cb.list_buckets()["Buckets"]), ["beta"])
            self.s3m("sync", "wa:", "wb:", conf=conf, check=0)
            for name in ("alpha", "beta", "gamma"):
                self.assertEqual(snapshot(ca, name, content=True), snapshot(cb, name, content=True))
        finally:
            a.stop()
            b.stop()
