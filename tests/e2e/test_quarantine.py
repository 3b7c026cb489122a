"""Quarantined deletes and overwrites (issue 15): --backup-dir (with --suffix and
--suffix-keep-extension) moves what a sync would delete or overwrite into a backup prefix first,
and --immutable refuses any change of an existing destination object. Everything is checked
with boto3: the destination is the source's image, the backup holds the old bytes and ETags,
and a failed move leaves its object as it was. The lifecycle rule that expires the quarantine
is accepted by moto (which never expires) and carried out by Ceph (rgw lc debug interval makes
a "day" last seconds; radosgw-admin lc process runs the expiry)."""
import datetime
import hashlib
import json
import os
import signal
import subprocess
import time

from e2e import BIN, SiteTest, conf_with, for_each_kind, proxied_conf, put_multipart, snapshot
from faultproxy import Proxy
from test_sync import MiB, body


def sha(client, bucket, key):
    return hashlib.sha256(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


@for_each_kind
class QuarantineTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "qsrc")
        self.db = self.bucket(self.dst, "qdst")
        self.qb = self.bucket(self.dst, "quar")
        for k in ("same", "changed", "new", "dir/x.txt"):
            self.src.put_object(Bucket=self.sb, Key=k, Body=body(k))
        for k in ("same", "changed", "gone", "dir/gone.tar.gz", "dir/x.txt"):
            self.dst.put_object(Bucket=self.db, Key=k, Body=body(k + "-old"))
        self.dst.put_object(Bucket=self.db, Key="same", Body=body("same"))
        self.dst.put_object(Bucket=self.db, Key="dir/x.txt", Body=body("dir/x.txt"))
        self.before = snapshot(self.dst, self.db, content=True)

    def sync(self, *extra, check=0, cmd="sync", dst=None, conf=None):
        return self.s3m(cmd, "sto2:" + self.sb, dst or "osl1:" + self.db, *extra, check=check,
                        conf=conf)

    def assert_mirrored(self):
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, self.db, content=True))

    def assert_backup(self, bucket, mapping):
        """mapping {backup key: destination key it was}: the old bytes and ETag, nothing else."""
        got = snapshot(self.dst, bucket, content=True)
        want = {bk: self.before[k] for bk, k in mapping.items()}
        self.assertEqual(got, want)

    def test_deletes_and_updates_moved_first(self):
        p = self.sync("--backup-dir", "osl1:%s/nightly" % self.qb, "-v")
        self.assert_mirrored()
        self.assert_backup(self.qb, {"nightly/changed": "changed", "nightly/gone": "gone",
                                     "nightly/dir/gone.tar.gz": "dir/gone.tar.gz"})
        self.assertIn("moved 3 object(s)", p.stdout)
        self.assertIn("moved changed to %s/nightly/changed" % self.qb, p.stderr)
        # a second run: nothing to do, nothing moved, the backup unchanged
        p = self.sync("--backup-dir", "osl1:%s/nightly" % self.qb)
        self.assertIn("moved 0 object(s)", p.stdout)
        self.assertEqual(len(snapshot(self.dst, self.qb)), 3)

    def test_copy_backs_up_overwrites(self):
        self.sync("--backup-dir", "osl1:%s/c" % self.qb, cmd="copy")
        self.assert_backup(self.qb, {"c/changed": "changed"})
        self.assertIn("gone", snapshot(self.dst, self.db))  # copy deletes nothing

    def test_suffix_and_keep_extension(self):
        # the documented nightly setting, through a shell: --suffix -$(date +%F)
        cmd = ("%s --config %s sync sto2:%s osl1:%s --backup-dir osl1:%s/q "
               "--suffix -$(date +%%F)" % (BIN, self.conf, self.sb, self.db, self.qb))
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        day = subprocess.run(["date", "+%F"], capture_output=True, text=True).stdout.strip()
        if day != datetime.date.today().isoformat():  # midnight between the two: rerun
            self.skipTest("the date changed during the test")
        self.assert_mirrored()
        self.assert_backup(self.qb, {"q/changed-" + day: "changed", "q/gone-" + day: "gone",
                                     "q/dir/gone.tar.gz-" + day: "dir/gone.tar.gz"})

    def test_suffix_keep_extension(self):
        for k in ("a.txt", "b.badextension.gz", ".profile"):
            self.dst.put_object(Bucket=self.db, Key=k, Body=body(k))
        self.before = snapshot(self.dst, self.db, content=True)
        self.sync("--backup-dir", "osl1:%s/q" % self.qb, "--suffix", "-2019-01-01",
                  "--suffix-keep-extension")
        self.assert_mirrored()
        self.assert_backup(self.qb, {
            "q/changed-2019-01-01": "changed", "q/gone-2019-01-01": "gone",
            "q/dir/gone-2019-01-01.tar.gz": "dir/gone.tar.gz", "q/a-2019-01-01.txt": "a.txt",
            "q/b.badextension-2019-01-01.gz": "b.badextension.gz",
            "q/-2019-01-01.profile": ".profile"})

    def test_same_bucket_excluded_and_other_remote_name(self):
        # the backup inside the synced place is allowed when a filter leaves it alone; a remote
        # of another name on the same endpoint with the same credentials is the same remote
        conf = conf_with(self.conf, self.osl1.remote_conf("osl1same"))
        self.sync("--backup-dir", "osl1same:%s/old" % self.db, "--exclude", "old/**",
                  conf=conf)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual({k: v for k, v in got.items() if not k.startswith("old/")},
                         snapshot(self.src, self.sb, content=True))
        self.assertEqual({k: v for k, v in got.items() if k.startswith("old/")},
                         {"old/" + k: self.before[k] for k in ("changed", "gone",
                                                               "dir/gone.tar.gz")})

    def test_usage_errors_touch_nothing(self):
        other = conf_with(self.conf, self.osl1.remote_conf("osl1other", secret="x" * 40))
        cases = [
            (["--backup-dir", "osl1:%s/old" % self.db], None, "mustn't overlap"),
            (["--backup-dir", "osl1:%s" % self.db], None, "mustn't overlap"),
            (["--backup-dir", "osl1:%s" % self.db], "osl1:%s/sub" % self.db, "mustn't overlap"),
            (["--backup-dir", "osl1:%s/old" % self.db, "--exclude", "old/*"], None,
             "mustn't overlap"),  # one level only: keys deeper would still be synced
            (["--backup-dir", "osl1:%s/old" % self.db, "--include", "*", "--exclude",
              "old/**"], None, "mustn't overlap"),  # an include first may take keys back
            (["--backup-dir", "sto2:%s/q" % self.sb], None, "same remote"),
            (["--backup-dir", "osl1other:%s/q" % self.qb], None, "same remote"),
            (["--suffix", "-x"], None, "--suffix needs --backup-dir"),
            (["--backup-dir", "osl1:"], None, "names no bucket"),
        ]
        for extra, dst, msg in cases:
            with self.subTest(extra=extra):
                p = self.sync(*extra, check=1, dst=dst, conf=other)
                self.assertIn(msg, p.stderr)
        # a backup bucket that does not exist: bucket not found, before anything runs
        p = self.sync("--backup-dir", "osl1:%s-missing/q" % self.qb, check=3)
        self.assertIn("--backup-dir: bucket osl1:%s-missing" % self.qb, p.stderr)
        # a whole remote as DST: every bucket is inside it (a dry run, should the check fail)
        p = self.s3m("sync", "sto2:", "osl1:", "--dry-run", "--backup-dir",
                     "osl1:%s/q" % self.qb, check=1)
        self.assertIn("mustn't overlap", p.stderr)
        self.assertEqual(snapshot(self.dst, self.db, content=True), self.before)
        self.assertEqual(snapshot(self.dst, self.qb), {})

    def test_dry_run_says_where_and_changes_nothing(self):
        plan = os.path.join(self.tmp, "plan-%s.jsonl" % self.db)
        p = self.sync("--dry-run", "--backup-dir", "osl1:%s/q" % self.qb, "--plan", plan)
        where = "would be moved first to %s/q/" % self.qb
        lines = {ln.split()[2]: ln for ln in p.stdout.splitlines()
                 if ln.startswith(("update", "delete"))}
        self.assertEqual(set(lines), {"changed", "gone", "dir/gone.tar.gz"})
        for k, ln in lines.items():
            self.assertIn(where + k + ")", ln)
        with open(plan) as f:
            acts = [json.loads(ln) for ln in f]
        self.assertIn("s3mirror_plan", acts[0])  # the header, then the actions, the trailer
        self.assertIn("sha256", acts[-1])
        for a in acts[1:-1]:
            if a["action"] in ("update", "delete"):
                self.assertTrue(a["why"].endswith(where + a["key"]), a)
        self.assertIn("would move 3 object(s) to --backup-dir first", p.stdout)
        self.assertEqual(snapshot(self.dst, self.db, content=True), self.before)
        self.assertEqual(snapshot(self.dst, self.qb), {})

    def test_max_delete_refusal_moves_nothing(self):
        self.sync("--backup-dir", "osl1:%s/q" % self.qb, "--max-delete", "1", check=2)
        got = snapshot(self.dst, self.qb, content=True)
        self.assertEqual(got, {"q/changed": self.before["changed"]})  # the update went ahead
        self.assertIn("gone", snapshot(self.dst, self.db))

    def flaky(self, rules, *extra, check, dst_prefix=""):
        """sync through a fault proxy in front of the destination (backup on the same remote)."""
        proxy = Proxy(self.osl1.endpoint)
        conf = proxied_conf(self.conf, "flaky", self.osl1, proxy.endpoint)
        try:
            for action, kw in rules:
                proxy.add(action, **kw)
            return self.s3m("sync", "sto2:" + self.sb, "flaky:" + self.db + dst_prefix,
                            "--backup-dir", "flaky:%s/q" % self.qb, "--retries", "1", "-v",
                            *extra, conf=conf, check=check)
        finally:
            proxy.stop()

    def test_failed_move_keeps_the_object(self):
        # every CopyObject into the backup fails: nothing overwritten, nothing deleted, the new
        # object copied, exit 6 naming the key
        p = self.flaky([("status", dict(method="PUT", path="^/%s/q/" % self.qb, status=400,
                                        code="InvalidRequest"))], check=6)
        self.assertIn("moving changed to %s/q/changed failed, not overwritten" % self.qb,
                      p.stderr)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(got["changed"], self.before["changed"])
        self.assertEqual(got["gone"], self.before["gone"])
        self.assertEqual(got["new"], snapshot(self.src, self.sb, content=True)["new"])
        self.assertEqual(snapshot(self.dst, self.qb), {})

    def test_failed_move_of_one_delete(self):
        # only deletions; the move of one of them fails: that one stays, exit 6
        self.src.put_object(Bucket=self.sb, Key="changed", Body=body("changed-old"))
        p = self.flaky([("status", dict(method="PUT", path="^/%s/q/gone$" % self.qb,
                                        status=400, code="InvalidRequest"))], check=6)
        self.assertIn("moving gone to %s/q/gone failed, not deleted" % self.qb, p.stderr)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(got["gone"], self.before["gone"])
        self.assertNotIn("dir/gone.tar.gz", got)  # moved, then deleted
        self.assert_backup(self.qb, {"q/dir/gone.tar.gz": "dir/gone.tar.gz"})

    def test_sigterm_during_a_move(self):
        # deletions only; the move of "gone" hangs; SIGTERM: exit 143, "gone" neither deleted
        # nor half-moved, and no further deletion
        self.src.put_object(Bucket=self.sb, Key="changed", Body=body("changed-old"))
        proxy = Proxy(self.osl1.endpoint)
        conf = proxied_conf(self.conf, "flaky", self.osl1, proxy.endpoint)
        proxy.add("stall", method="PUT", path="^/%s/q/gone$" % self.qb, seconds=20)
        try:
            p = subprocess.Popen([BIN, "--config", conf, "sync", "sto2:" + self.sb,
                                  "flaky:" + self.db, "--backup-dir", "flaky:%s/q" % self.qb,
                                  "--transfers", "1", "-v"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            t0 = time.time()
            while not any(m == "PUT" and path.endswith("/q/gone") for m, path, q in proxy.log):
                self.assertLess(time.time() - t0, 60, "the move never started")
                self.assertIsNone(p.poll())
                time.sleep(0.01)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
        finally:
            proxy.stop()
        self.assertEqual(p.returncode, 143, err[-3000:])
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(got["gone"], self.before["gone"])
        self.assertNotIn("q/gone", snapshot(self.dst, self.qb))
        # the batch's other key was moved before the stop, and is not deleted after it
        self.assertEqual(got["dir/gone.tar.gz"], self.before["dir/gone.tar.gz"])
        self.assertRegex(out, r"(?m)^sync sto2:.*NOT deleted 2")

    def test_multipart_moves(self):
        # an update of a multipart object: moved with its own part layout (same ETag); a
        # single-part object over --multipart-threshold: a server-side multipart copy of
        # --multipart-chunk-size parts
        put_multipart(self.dst, self.db, "changed", body("mp", 12 * MiB), 5 * MiB)
        self.dst.put_object(Bucket=self.db, Key="gone", Body=body("big", 7 * MiB))
        self.before = snapshot(self.dst, self.db, content=True)
        p = self.sync("--backup-dir", "osl1:%s/q" % self.qb, "--multipart-threshold", "5M",
                      "--multipart-chunk-size", "5M", "-vv")
        self.assert_mirrored()
        got = snapshot(self.dst, self.qb, content=True)
        self.assertEqual(got["q/changed"], self.before["changed"])  # the same ETag ("-3")
        self.assertTrue(got["q/changed"][1].endswith("-3"), got)
        self.assertEqual(got["q/gone"][0::2], self.before["gone"][0::2])  # size and bytes
        self.assertTrue(got["q/gone"][1].endswith("-2"), got)  # two UploadPartCopy parts
        self.assertIn("UploadPartCopy", p.stderr)

    def test_immutable(self):
        # a dry run previews the refusal, exit 13, nothing changed
        p = self.sync("--immutable", "--dry-run", check=13)
        self.assertRegex(p.stdout, r"(?m)^refuse +\d+ changed  \(--immutable: ")
        self.assertEqual(snapshot(self.dst, self.db, content=True), self.before)
        # the real run: the update refused (named), the new object copied, nothing deleted
        p = self.sync("--immutable", check=13)
        self.assertIn("changed: not updated (--immutable)", p.stderr)
        self.assertIn("refused 1 update(s) under --immutable", p.stdout)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(got["changed"], self.before["changed"])
        self.assertIn("gone", got)
        self.assertEqual(got["new"], snapshot(self.src, self.sb, content=True)["new"])
        # nothing differs any more but the one refused object: still 13
        self.sync("--immutable", check=13)
        # copy --immutable: the same refusal
        self.sync("--immutable", check=13, cmd="copy")

    def test_lifecycle_rule_accepted(self):
        # the rule of docs/running-nightly.md: objects under the quarantine prefix expire
        rule = {"Rules": [{"ID": "s3mirror-quarantine", "Status": "Enabled",
                           "Filter": {"Prefix": "nightly/"}, "Expiration": {"Days": 30}}]}
        self.dst.put_bucket_lifecycle_configuration(Bucket=self.qb, LifecycleConfiguration=rule)
        got = self.dst.get_bucket_lifecycle_configuration(Bucket=self.qb)["Rules"]
        self.assertEqual(got[0]["Expiration"]["Days"], 30)
        self.sync("--backup-dir", "osl1:%s/nightly" % self.qb)
        self.assertEqual(len(snapshot(self.dst, self.qb)), 3)


class CephLifecycleTest(SiteTest):
    """Ceph carries the lifecycle rule out: its harness sets rgw lc debug interval (a "day" of
    LC_DAY seconds, tests/harness/ceph-rgw.sh) and radosgw-admin lc process runs the expiry.
    moto stores rules but never expires anything: QuarantineTest checks it accepts the rule."""
    kind = "ceph"

    def lc_process(self):
        conf = os.path.join(self.osl1.dir, "ceph.conf")
        subprocess.run(["radosgw-admin", "-c", conf, "lc", "process"], capture_output=True,
                       timeout=120, check=True)

    def test_quarantine_expires(self):
        sb, db, qb = (self.bucket(c, n) for c, n in ((self.src, "lsrc"), (self.dst, "ldst"),
                                                    (self.dst, "lquar")))
        self.src.put_object(Bucket=sb, Key="changed", Body=b"new")
        self.dst.put_object(Bucket=db, Key="changed", Body=b"old")
        self.dst.put_object(Bucket=db, Key="gone", Body=b"deleted at the source")
        self.dst.put_object(Bucket=qb, Key="outside/keep", Body=b"not quarantined")
        rule = {"Rules": [{"ID": "s3mirror-quarantine", "Status": "Enabled",
                           "Filter": {"Prefix": "nightly/"}, "Expiration": {"Days": 1}}]}
        self.dst.put_bucket_lifecycle_configuration(Bucket=qb, LifecycleConfiguration=rule)
        self.s3m("sync", "sto2:" + sb, "osl1:" + db, "--backup-dir", "osl1:%s/nightly" % qb,
                 check=0)
        self.assertEqual(set(snapshot(self.dst, qb)),
                         {"nightly/changed", "nightly/gone", "outside/keep"})
        # a "day" is LC_DAY seconds: poll lc process until the quarantine is gone (bounded)
        deadline = time.time() + 180
        while set(snapshot(self.dst, qb)) != {"outside/keep"}:
            self.assertLess(time.time(), deadline, "the quarantine did not expire in 180 s")
            time.sleep(2)
            self.lc_process()
        self.assertEqual(self.dst.get_object(Bucket=qb, Key="outside/keep")["Body"].read(),
                         b"not quarantined")
        self.assertEqual(snapshot(self.src, sb), snapshot(self.dst, db))
