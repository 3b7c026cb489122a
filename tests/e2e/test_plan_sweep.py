"""--plan records the stale-upload sweep: a dry run's plan has an "abort-upload" line for each
multipart upload an earlier run left (what it would abort, as its report's "abort" lines say),
a real sync's plan one for each upload it aborted. Uploads of other folders, excluded keys and
the copy phase's own lines are as before. Everything is checked with boto3."""
import json
import os
import time

from e2e import for_each_kind, unique


@for_each_kind
class PlanSweepTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "swsrc")
        self.db = self.bucket(self.dst, "swdst")

    def uploads(self):
        return sorted(u["Key"] for u in
                      self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []))

    def sync(self, *extra, check=0):
        path = os.path.join(self.tmp, unique("plan.jsonl"))
        p = self.s3m("sync", "sto2:%s/data" % self.sb, "osl1:%s/data" % self.db, "--plan", path,
                     *extra, check=check)
        if not os.path.exists(path):
            return p, []
        with open(path) as f:
            return p, [json.loads(l) for l in f][1:-1]  # no header, trailer

    def test_plan_records_stale_upload_aborts(self):
        self.put_many(self.src, self.sb, ["data/keep", "data/new"])
        self.put_many(self.dst, self.db, ["data/keep", "data/gone"])
        stale = ["data/big", "data/sub/part.bin"]
        for k in stale + ["data/skip.tmp", "other/x"]:
            self.dst.create_multipart_upload(Bucket=self.db, Key=k)
        time.sleep(1.2)  # initiated before the runs start (whole seconds)

        p, acts = self.sync("--dry-run", "--exclude", "*.tmp")
        aborts = [a for a in acts if a["action"] == "abort-upload"]
        self.assertEqual(sorted(a["key"] for a in aborts), ["big", "sub/part.bin"])
        for a in aborts:
            self.assertEqual(a["bucket"], self.db)
            self.assertIn("multipart upload left by an earlier run, initiated", a["why"])
        self.assertEqual(sorted((a["action"], a["key"]) for a in acts if a not in aborts),
                         [("copy", "new"), ("delete", "gone")])
        reported = sorted(l.split()[2] for l in p.stdout.splitlines() if l.startswith("abort "))
        self.assertEqual(reported, ["big", "sub/part.bin"])
        self.assertIn("would abort 2 multipart upload(s)", p.stdout)
        self.assertEqual(len(self.uploads()), 4)  # a dry run aborts nothing

        p, acts = self.sync("--exclude", "*.tmp")
        self.assertIn("aborted 2 multipart upload(s)", p.stdout)
        self.assertEqual(sorted(a["key"] for a in acts if a["action"] == "abort-upload"),
                         ["big", "sub/part.bin"])
        self.assertEqual(sorted((a["action"], a["key"]) for a in acts
                                if a["action"] != "abort-upload"),
                         [("copy", "new"), ("delete", "gone")])
        self.assertEqual(self.uploads(), ["data/skip.tmp", "other/x"])

        # nothing left to abort: no such line
        p, acts = self.sync("--exclude", "*.tmp")
        self.assertEqual([a for a in acts if a["action"] == "abort-upload"], [])
        for u in self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=self.db, Key=u["Key"], UploadId=u["UploadId"])

    def test_refused_run_records_no_abort(self):
        """A run whose deletions are refused aborts nothing, and its plan says nothing of it."""
        self.put_many(self.dst, self.db, ["data/a", "data/b"])
        self.dst.create_multipart_upload(Bucket=self.db, Key="data/big")
        time.sleep(1.2)
        p, acts = self.sync(check=2)  # an empty source: refused (exit 2)
        self.assertIn("deletions refused", p.stdout)
        self.assertEqual([a for a in acts if a["action"] == "abort-upload"], [])
        self.assertEqual(self.uploads(), ["data/big"])
        for u in self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=self.db, Key=u["Key"], UploadId=u["UploadId"])

    def test_abort_answered_404_counts_as_gone(self):
        """(review of the split) An abort answered 404 NoSuchUpload means the upload is gone
        already (another run, a lifecycle rule): it counts as aborted in the summary and the
        plan, as before the split, and is no warning."""
        from e2e import conf_with
        from faultproxy import Proxy
        self.put_many(self.src, self.sb, ["data/keep"])
        self.put_many(self.dst, self.db, ["data/keep"])
        for k in ["data/a", "data/b"]:
            self.dst.create_multipart_upload(Bucket=self.db, Key=k)
        time.sleep(1.2)
        proxy = Proxy(self.osl1.endpoint)
        self.addCleanup(proxy.stop)
        proxy.add("status", method="DELETE", query="uploadId", status=404, code="NoSuchUpload")
        conf = conf_with(self.conf, "[gone]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.osl1.access_key, self.osl1.secret_key, proxy.endpoint))
        path = os.path.join(self.tmp, unique("plan.jsonl"))
        p = self.s3m("sync", "sto2:%s/data" % self.sb, "gone:%s/data" % self.db, "--plan", path,
                     conf=conf, check=0)
        self.assertIn("aborted 2 multipart upload(s)", p.stdout)
        self.assertNotIn("could not abort", p.stderr)
        with open(path) as f:
            acts = [json.loads(l) for l in f][1:-1]
        self.assertEqual(sorted(a["key"] for a in acts if a["action"] == "abort-upload"),
                         ["a", "b"])
        self.assertEqual(proxy.count(method="DELETE", query="uploadId"), 2)
        for u in self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=self.db, Key=u["Key"], UploadId=u["UploadId"])
