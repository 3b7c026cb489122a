"""Safety regressions of issue 12 (defects 5, 6, 7, 9, 10): a missing destination bucket is
created, --max-delete caps the whole run, metrics stay true after a dry run or a locked-out run,
the delete list on disk is checked before it is trusted, and the smaller holes (a listing page
without <IsTruncated>, an empty truncated page that never progresses, a lock file that is a
symbolic link, check's counts with --compare checksum). Each is checked with boto3."""
import fcntl
import os
import re
import resource
import signal
import subprocess

from e2e import BIN, conf_with, for_each_kind, snapshot, unique
from faultproxy import Proxy, keep_buckets, strip_is_truncated
from test_sync import MiB, body

METRIC = re.compile(r"^(s3mirror_\w+\{[^}]*\}) (\S+)$", re.M)


@for_each_kind
class SafetyTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "ssrc")
        self.db = self.bucket(self.dst, "sdst")

    def buckets(self, client):
        return [b["Name"] for b in client.list_buckets()["Buckets"]]

    def proxied(self, site, rules, remote="flaky"):
        """(proxy, config) with remote `remote` going through a fault proxy in front of site."""
        proxy = Proxy(site.endpoint)
        for action, kw in rules:
            proxy.add(action, **kw)
        conf = conf_with(self.conf, "[%s]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             remote, site.access_key, site.secret_key, proxy.endpoint))
        self.addCleanup(proxy.stop)
        return proxy, conf

    # ---- 5: a missing destination bucket ----

    def test_missing_destination_bucket_is_created(self):
        self.put_many(self.src, self.sb, ["a", "dir/b", "c"], body=body)
        missing = unique("newdst")
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + missing, "--dry-run", check=0)
        self.assertIn("create bucket osl1:%s" % missing, p.stdout)
        self.assertRegex(p.stdout, r"would copy 3 ")
        self.assertNotIn(missing, self.buckets(self.dst))  # a dry run creates nothing
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + missing, check=10)
        self.assertIn("3 only on source", p.stdout)
        self.assertNotIn(missing, self.buckets(self.dst))  # nor does check
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + missing, check=0)
        self.assertIn(missing, self.buckets(self.dst))
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, missing, content=True))
        other = unique("newcopy")
        self.s3m("copy", "sto2:" + self.sb, "osl1:" + other, check=0)
        self.assertEqual(len(snapshot(self.dst, other)), 3)

    def test_missing_source_bucket_creates_nothing(self):
        src, dst = unique("nosrc"), unique("nodst")
        p = self.s3m("sync", "sto2:" + src, "osl1:" + dst, check=3)
        self.assertIn("NoSuchBucket", p.stderr)
        self.assertNotIn(dst, self.buckets(self.dst))

    def test_created_bucket_honours_location_constraint(self):
        self.put_many(self.src, self.sb, ["a"], body=body)

        def sync_with(constraint, check):
            conf = conf_with(self.conf, self.osl1.remote_conf("osl1lc").replace(
                "\n\n", "\nlocation_constraint = %s\n\n" % constraint))
            missing = unique("lcdst")
            p = self.s3m("sync", "sto2:" + self.sb, "osl1lc:" + missing, conf=conf, check=check)
            return missing, p

        if self.kind == "moto":
            missing, _ = sync_with("eu-west-1", 0)
            loc = self.dst.get_bucket_location(Bucket=missing)["LocationConstraint"]
            self.assertEqual(loc, "eu-west-1")
            return
        # Ceph takes its zonegroup's name and refuses any other: the constraint is sent
        missing, _ = sync_with("default", 0)
        self.assertEqual(len(snapshot(self.dst, missing)), 1)
        missing, p = sync_with("nowhere-1", None)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("creating bucket", p.stderr)
        self.assertNotIn(missing, self.buckets(self.dst))

    # ---- 6: --max-delete is for the whole run ----

    def whole_remote(self, extras, matching=1):
        """n source buckets (only they are visible through the proxy), same names on the
        destination, each with `matching` keys on both sides and extras[i] extra keys on the
        destination; returns (names, conf)."""
        names = [unique("wr%d" % i) for i in range(len(extras))]
        for i, b in enumerate(names):
            self.src.create_bucket(Bucket=b)
            self.dst.create_bucket(Bucket=b)
            keys = ["k%02d" % j for j in range(matching)]
            self.put_many(self.src, b, keys, body=body)
            self.put_many(self.dst, b, keys, body=body)
            self.put_many(self.dst, b, ["extra%d" % j for j in range(extras[i])], body=body)
        _, conf = self.proxied(self.sto2, [("listing", dict(method="GET", path="^/$",
                                                            edit=keep_buckets(set(names))))])
        return names, conf

    def total_keys(self, names):
        return sum(len(snapshot(self.dst, b)) for b in names)

    def test_max_delete_caps_the_whole_run(self):
        names, conf = self.whole_remote([3, 3, 3])
        p = self.s3m("sync", "flaky:", "osl1:", "--max-delete", "5", conf=conf, check=2)
        self.assertEqual(self.total_keys(names), 3 * 4)  # nothing deleted, in any bucket
        self.assertIn("9 deletions exceed --max-delete 5", p.stdout)
        p = self.s3m("sync", "flaky:", "osl1:", "--max-delete", "9", conf=conf, check=0)
        self.assertEqual(self.total_keys(names), 3)

    def test_max_delete_percent_of_the_whole_run(self):
        # two buckets at 75% extra, one with 20 matching keys: 6 of 28 = 21% for the run
        names, conf = self.whole_remote([3, 3, 0], matching=1)
        self.put_many(self.src, names[2], ["m%02d" % j for j in range(19)], body=body)
        self.put_many(self.dst, names[2], ["m%02d" % j for j in range(19)], body=body)
        p = self.s3m("sync", "flaky:", "osl1:", "--max-delete", "20%", conf=conf, check=2)
        self.assertIn("over --max-delete 20%", p.stdout)
        self.assertEqual(self.total_keys(names), 28)
        self.s3m("sync", "flaky:", "osl1:", "--max-delete", "30%", conf=conf, check=0)
        self.assertEqual(self.total_keys(names), 22)

    def test_failure_in_one_bucket_keeps_every_bucket(self):
        names, conf = self.whole_remote([2, 2])
        # the second bucket's copies fail: the first bucket's deletes wait for it, so none run
        self.src.put_object(Bucket=names[1], Key="broken", Body=b"x" * 100)
        proxy, conf = self.proxied(self.sto2, [
            ("listing", dict(method="GET", path="^/$", edit=keep_buckets(set(names)))),
            ("status", dict(method="GET", path="/%s/broken$" % names[1], status=403,
                            code="AccessDenied"))])
        p = self.s3m("sync", "flaky:", "osl1:", "--retries", "1", conf=conf)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.total_keys(names), 2 * 3)
        self.assertIn("deletions refused", p.stdout)

    # ---- 7: metrics after a dry run and after a locked-out run ----

    def failed_run_metrics(self):
        """a job's metrics file after a good run, then a failed one"""
        self.put_many(self.src, self.sb, ["m1"], body=body)
        metrics = os.path.join(self.tmp, unique("safety.prom"))
        lock = os.path.join(self.tmp, unique("safety.lock"))
        proxy, conf = self.proxied(self.sto2, [])
        args = ("sync", "flaky:" + self.sb, "osl1:" + self.db, "--metrics-file", metrics,
                "--lock-file", lock, "--retries", "1")
        self.s3m(*args, conf=conf, check=0)
        # a real run that fails (a copy refused by the source) keeps the last success time
        proxy.add("status", method="GET", path="/m2$", status=403, code="AccessDenied")
        self.src.put_object(Bucket=self.sb, Key="m2", Body=b"x")
        p = self.s3m(*args, conf=conf)
        self.assertNotEqual(p.returncode, 0)
        failed = open(metrics).read()
        vals = dict(METRIC.findall(failed))
        code = [v for k, v in vals.items() if k.startswith("s3mirror_last_run_exit_code")]
        self.assertEqual(code, [str(p.returncode)])
        return args, conf, metrics, lock, failed

    def test_metrics_untouched_by_dry_run(self):
        args, conf, metrics, _, failed = self.failed_run_metrics()
        self.s3m(*args, "--dry-run", conf=conf, check=0)  # the same job, a dry run
        self.assertEqual(open(metrics).read(), failed)

    def test_metrics_untouched_by_locked_out_run(self):
        args, conf, metrics, lock, failed = self.failed_run_metrics()
        with open(lock, "a") as held:  # the real job is running
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.s3m(*args, conf=conf, check=11)
        self.assertEqual(open(metrics).read(), failed)

    # ---- 9: the delete list on disk ----

    def test_delete_list_write_failure_deletes_nothing(self):
        self.put_many(self.src, self.sb, ["keep"], body=body)
        extra = ["extra/%s/%04d" % ("x" * 80, i) for i in range(300)]  # ~30 KB of list
        self.put_many(self.dst, self.db, extra + ["keep"], body=lambda k: b"d")

        def small_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

        p = subprocess.run([BIN, "--config", self.conf, "sync", "sto2:" + self.sb,
                            "osl1:" + self.db, "--no-lock"], capture_output=True, text=True,
                           timeout=300, preexec_fn=small_files)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("delete list", p.stderr)
        self.assertEqual(len(snapshot(self.dst, self.db)), 301)  # nothing deleted
        # the same run without the limit deletes them
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        self.assertEqual(list(snapshot(self.dst, self.db)), ["keep"])

    # ---- 10: smaller holes ----

    def listing_fault(self, rule):
        """the same 10 keys on both sides, listed 3 a page: a source listing taken as
        complete after its first page would make 7 of them look deletable."""
        keys = ["k%02d" % i for i in range(10)]
        self.put_many(self.src, self.sb, keys, body=body)
        self.put_many(self.dst, self.db, keys, body=body)
        _, conf = self.proxied(self.sto2, [rule])
        p = self.s3m("sync", "flaky:" + self.sb, "osl1:" + self.db, "--max-keys", "3",
                     "--list-concurrency", "1", "--low-level-retries", "1", conf=conf,
                     timeout=60)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("listing failed, nothing deleted", p.stderr)
        self.assertEqual(len(snapshot(self.dst, self.db)), 10)
        return p

    def test_listing_page_without_is_truncated(self):
        p = self.listing_fault(("listing", dict(method="GET", query="max-keys=3", times=1,
                                                edit=strip_is_truncated)))
        self.assertIn("without <IsTruncated>", p.stderr)

    def test_empty_truncated_page_with_same_token(self):
        p = self.listing_fault(("empty_truncated", dict(method="GET", query="max-keys=3",
                                                        token="loop")))
        self.assertIn("refusing to loop", p.stderr)

    def test_lock_file_symlink_refused(self):
        self.put_many(self.src, self.sb, ["a"], body=body)
        target = os.path.join(self.tmp, unique("precious"))
        with open(target, "w") as f:
            f.write("precious data\n")
        link = os.path.join(self.tmp, unique("planted.lock"))
        os.symlink(target, link)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--lock-file", link, check=1)
        self.assertIn("is a symbolic link", p.stderr)
        self.assertEqual(open(target).read(), "precious data\n")
        self.assertEqual(snapshot(self.dst, self.db), {})

    def test_check_checksum_counts(self):
        data = body("mp", 5 * MiB + 1)
        for key, dst_body in (("same", data), ("differs", data[:-1] + b"!")):
            mp = self.src.create_multipart_upload(Bucket=self.sb, Key=key)
            parts = []
            for n, (a, b) in enumerate(((0, 5 * MiB), (5 * MiB, len(data))), 1):
                r = self.src.upload_part(Bucket=self.sb, Key=key, UploadId=mp["UploadId"],
                                         PartNumber=n, Body=data[a:b])
                parts.append({"PartNumber": n, "ETag": r["ETag"]})
            self.src.complete_multipart_upload(Bucket=self.sb, Key=key, UploadId=mp["UploadId"],
                                               MultipartUpload={"Parts": parts})
            self.dst.put_object(Bucket=self.db, Key=key, Body=dst_body)  # single part
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "checksum",
                     check=10)
        self.assertIn(" 1 differ ", p.stdout)
        self.assertRegex(p.stdout, r", 1 identical, 0 not verifiable by ETag,")
