"""Review of the assumed part layout (learn.c: one HEAD ?partNumber=1, a uniform layout of part
1's size assumed, checked by the composite ETag, relearned part by part on a miss with the
upload open). Hostile cases: the relearn's HEADs failing or lying, a stop during the relearn,
edge sizes (2 parts, size exactly N*P), --dry-run, server-side copy. Each checks that nothing
is completed in a layout whose ETag missed, no upload is left, and nothing at the destination
is deleted after a failure. Ceph radosgw (Pacific) ignores partNumber: nothing is assumed or
relearned there, so the relearn cases are skipped on it."""
import hashlib
import time

from e2e import for_each_kind, proxied_conf
from faultproxy import Proxy
from test_layout_learn import PART_HEAD, put_parts

MiB = 1024 * 1024
LATER_HEAD = r"(^|&)partNumber=([2-9]|\d\d+)(&|$)"  # every part but 1: the relearn's


UNEVEN = [5 * MiB, 6 * MiB, 5 * MiB, 1 * MiB]  # fits 4 uniform parts of 5 MiB: assumed, misses


@for_each_kind
class ReviewLayoutLearnTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "rllsrc")
        self.db = self.bucket(self.dst, "rlldst")
        self.proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(self.proxy.stop)
        self.pconf = proxied_conf(self.conf, "srcp", self.sto2, self.proxy.endpoint)
        # an object only at the destination: sync deletes it, but never after a failure
        self.dst.put_object(Bucket=self.db, Key="extra", Body=b"x")

    def no_relearn_on_ceph(self):
        if self.kind == "ceph":
            self.skipTest("radosgw ignores partNumber: nothing is assumed or relearned there")

    def sync(self, *extra, check=None, timeout=600, dst=None):
        p = self.s3m("sync", "srcp:" + self.sb, dst or ("osl1:" + self.db), "--log-level",
                     "info", "--no-progress", *extra, conf=self.pconf, check=check,
                     timeout=timeout)
        return p

    def keys(self, client=None, bucket=None):
        c, b = client or self.dst, bucket or self.db
        return sorted(o["Key"] for o in c.list_objects_v2(Bucket=b).get("Contents", []))

    def uploads(self, client=None, bucket=None):
        c, b = client or self.dst, bucket or self.db
        return c.list_multipart_uploads(Bucket=b).get("Uploads", [])

    def assert_failed_cleanly(self, p, key):
        self.assertNotEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertNotIn(key, self.keys(), p.stderr[-3000:])
        self.assertIn("extra", self.keys(), "deleted at the destination after a failure")
        self.assertEqual(self.uploads(), [], p.stderr[-3000:])

    def same_object(self, key, data, client=None, bucket=None):
        c, b = client or self.dst, bucket or self.db
        s = self.src.head_object(Bucket=self.sb, Key=key)
        d = c.head_object(Bucket=b, Key=key)
        self.assertEqual(d["ETag"], s["ETag"])
        body = c.get_object(Bucket=b, Key=key)["Body"].read()
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(data).digest())
        self.assertEqual(self.uploads(c, b), [])

    # ---- the relearn's HEADs fail ----

    def relearn_fails(self, **rule):
        self.no_relearn_on_ceph()
        put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.add(method="HEAD", query=LATER_HEAD, **rule)
        p = self.sync("--retries", "1", "--low-level-retries", "2", timeout=300)
        self.assert_failed_cleanly(p, "uneven")
        self.assertIn("relearning", p.stderr)
        return p

    def test_review_relearn_head_500(self):
        """every HEAD ?partNumber=2.. answers 500: error, upload aborted, nothing deleted"""
        self.relearn_fails(action="status", status=500)

    def test_review_relearn_head_403(self):
        self.relearn_fails(action="status", status=403)

    def test_review_relearn_parts_count_lies(self):
        """the relearn's replies give another parts count than the ETag's -4"""
        self.relearn_fails(action="headers", drop_headers=["x-amz-mp-parts-count"],
                           set_headers={"x-amz-mp-parts-count": "3"})

    def test_review_relearn_size_zero(self):
        self.relearn_fails(action="headers", head_length=0)

    def test_review_relearn_size_too_large(self):
        self.relearn_fails(action="headers", head_length=sum(UNEVEN) + 1)

    def test_review_relearn_lies_uniform(self):
        """the relearn tells the uniform sizes again (a lie): an integrity failure, nothing
        completed"""
        p = self.relearn_fails(action="headers", head_length=5 * MiB)
        self.assertIn("in the source's layout", p.stderr)

    def test_review_relearn_lies_other_layout(self):
        """the relearn tells a third layout (5, 5, 6, 1): re-created in it, misses: integrity
        failure, nothing completed"""
        self.no_relearn_on_ceph()
        put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.add("headers", method="HEAD", query=r"(^|&)partNumber=2(&|$)", after=0,
                       head_length=5 * MiB)
        self.proxy.add("headers", method="HEAD", query=r"(^|&)partNumber=3(&|$)",
                       head_length=6 * MiB)
        p = self.sync("--retries", "1", timeout=300)
        self.assert_failed_cleanly(p, "uneven")

    def test_review_part1_count_lies(self):
        """part 1's reply gives a parts count other than the ETag's: not told, guessed; the copy
        still ends with the source's bytes (or fails cleanly)"""
        data = put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.add("headers", method="HEAD", query=PART_HEAD,
                       drop_headers=["x-amz-mp-parts-count"],
                       set_headers={"x-amz-mp-parts-count": "5"})
        p = self.sync("--retries", "1", timeout=300)
        if p.returncode == 0:
            body = self.dst.get_object(Bucket=self.db, Key="uneven")["Body"].read()
            self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(data).digest())
            self.assertEqual(self.uploads(), [])
        else:
            self.assert_failed_cleanly(p, "uneven")

    # ---- stops during the relearn ----

    def test_review_deadline_during_relearn(self):
        """--max-duration while the relearn's HEAD stalls: exit 15, upload aborted"""
        self.no_relearn_on_ceph()
        put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.add("stall", method="HEAD", query=LATER_HEAD, seconds=60)
        t0 = time.monotonic()
        p = self.sync("--max-duration", "8s", check=None, timeout=120)
        self.assertEqual(p.returncode, 15, p.stderr[-3000:])
        self.assertLess(time.monotonic() - t0, 20)
        self.assertNotIn("uneven", self.keys())
        self.assertIn("extra", self.keys())
        self.proxy.wait_idle(90)
        self.assertEqual(self.uploads(), [])

    # ---- edge sizes and modes ----

    def test_review_two_parts_and_exact_multiple(self):
        """2 parts (exact from one HEAD), size exactly 3*P, last part equal to P: each copied
        with the source's ETag, at most one HEAD ?partNumber each"""
        d1 = put_parts(self.src, self.sb, "two", [6 * MiB, 5 * MiB])
        d2 = put_parts(self.src, self.sb, "exact", [5 * MiB] * 3)
        d3 = put_parts(self.src, self.sb, "twoeq", [5 * MiB, 5 * MiB])
        self.proxy.clear()
        p = self.sync(check=0)
        if self.kind == "moto":
            self.assertEqual(self.proxy.count("HEAD", PART_HEAD), 3, p.stderr[-3000:])
            self.assertNotIn("relearning", p.stderr)
        self.same_object("two", d1)
        self.same_object("exact", d2)
        self.same_object("twoeq", d3)
        self.assertNotIn("extra", self.keys())

    def test_review_dry_run_writes_nothing(self):
        put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.clear()
        self.sync("--dry-run", check=0)
        self.assertEqual(self.keys(), ["extra"])
        self.assertEqual(self.uploads(), [])
        p = self.s3m("check", "srcp:" + self.sb, "osl1:" + self.db, conf=self.pconf)
        self.assertEqual(p.returncode, 10, p.stderr[-2000:])  # differences found
        self.assertEqual(self.keys(), ["extra"])
        self.assertEqual(self.uploads(), [])

    def test_review_server_side_uneven(self):
        """UploadPartCopy between buckets of the source's endpoint, an uneven source: the
        source's ETag, no upload left"""
        self.no_relearn_on_ceph()
        data = put_parts(self.src, self.sb, "uneven", UNEVEN)
        db2 = self.bucket(self.src, "rllssc")
        p = self.s3m("sync", "srcp:" + self.sb, "srcp:" + db2, "--log-level", "info",
                     "--no-progress", conf=self.pconf, check=0, timeout=600)
        self.assertRegex(p.stderr, r"UploadPartCopy=[1-9]", p.stderr[-2000:])
        self.same_object("uneven", data, self.src, db2)

    # ---- the source rewritten between the reads and the relearn ----

    def test_review_source_rewritten_before_relearn_is_no_integrity_error(self):
        """The uneven source (5, 6, 5, 1 MiB) is read in the assumed layout (every read pinned
        with If-Match: the old bytes), then rewritten by an ordinary tool (uniform 5 MiB parts,
        the same count) while the relearn asks its sizes. The relearn's HEADs carry no If-Match
        and their replies' ETag is not compared: they tell the NEW object's sizes, which equal
        the assumed ones, so mpu_complete called the old bytes an integrity failure although
        nothing is corrupt: the source changed, which a run reports as such (a 412). Now a
        plain HEAD with If-Match follows the relearn's HEADs."""
        self.no_relearn_on_ceph()
        put_parts(self.src, self.sb, "uneven", UNEVEN)
        new = {}

        def rewrite(data):
            new["data"] = put_parts(self.src, self.sb, "uneven", [5 * MiB] * 3 + [2 * MiB])
            return data
        # the relearn's first HEAD (?partNumber=1 a second time): answered for the old object,
        # then the object is rewritten; its ?partNumber=2, 3 see the new one
        self.proxy.add("listing", method="HEAD", query=r"(^|&)partNumber=1(&|$)", after=1,
                       times=1, edit=rewrite)
        p = self.sync("--retries", "1", timeout=300)
        self.assertIn("relearning", p.stderr)
        self.assertIn("data", new, "the relearn never came")
        # an object changed since it was listed fails as such (412, exit 6: docs/how-sync-
        # decides.md), never as bytes that do not add up
        self.assertNotIn("in the source's layout", p.stderr, p.stderr[-3000:])
        if p.returncode:
            self.assertEqual(p.returncode, 6, p.stderr[-3000:])
            self.assertRegex(p.stderr, r"uneven failed: PreconditionFailed \(HTTP 412\)")
        self.assertEqual(self.uploads(), [])
        if "uneven" in self.keys():  # copied after all: then the new object, whole
            body = self.dst.get_object(Bucket=self.db, Key="uneven")["Body"].read()
            self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(new["data"]).digest())

    # ---- an earlier run's upload adopted in the assumed layout ----

    def leftover_in_assumed_layout(self):
        """the uneven source and a leftover holding parts 1 and 2 of its assumed layout (5 MiB
        each, the source's bytes at those offsets): adopted, then relearned"""
        data = put_parts(self.src, self.sb, "uneven", UNEVEN)
        lo = self.dst.create_multipart_upload(Bucket=self.db, Key="uneven")["UploadId"]
        for n in (1, 2):
            self.dst.upload_part(Bucket=self.db, Key="uneven", UploadId=lo, PartNumber=n,
                                 Body=data[(n - 1) * 5 * MiB:n * 5 * MiB])
        time.sleep(1.1)  # initiated before the run began
        return data

    def test_review_resumed_relearned(self):
        """adopted in the assumed layout, the exact sizes differ: the source's ETag and bytes,
        no upload left"""
        self.no_relearn_on_ceph()
        data = self.leftover_in_assumed_layout()
        p = self.sync(check=0)
        self.assertIn("not uniform", p.stderr)
        self.same_object("uneven", data)

    def test_review_resumed_relearn_fails(self):
        """adopted in the assumed layout, the relearn's HEADs answer 500: an error, nothing
        completed, no upload left, nothing deleted"""
        self.no_relearn_on_ceph()
        self.leftover_in_assumed_layout()
        self.proxy.add("status", method="HEAD", query=LATER_HEAD, status=500)
        p = self.sync("--retries", "1", "--low-level-retries", "2", timeout=300)
        self.assertIn("parts kept", p.stderr)
        self.assert_failed_cleanly(p, "uneven")

    def test_review_resumed_relearn_deadline(self):
        """adopted in the assumed layout, the relearn's HEAD stalls past --max-duration: exit
        15, nothing completed, nothing deleted, and no upload left"""
        self.no_relearn_on_ceph()
        self.leftover_in_assumed_layout()
        self.proxy.add("stall", method="HEAD", query=LATER_HEAD, seconds=60)
        p = self.sync("--max-duration", "8s", timeout=120)
        self.assertEqual(p.returncode, 15, p.stderr[-3000:])
        self.assertIn("parts kept", p.stderr)
        self.assertNotIn("uneven", self.keys())
        self.assertIn("extra", self.keys())
        self.proxy.wait_idle(90)
        self.assertEqual(self.uploads(), [])

    def test_review_relearn_transient_500(self):
        """one relearn HEAD answers 500 once, --multipart-concurrency 1: retried, the source's
        ETag and bytes, HEADs counted"""
        self.no_relearn_on_ceph()
        data = put_parts(self.src, self.sb, "uneven", UNEVEN)
        self.proxy.add("status", method="HEAD", query=r"(^|&)partNumber=2(&|$)", status=500,
                       times=1)
        p = self.sync("--multipart-concurrency", "1", check=0)
        self.same_object("uneven", data)
        self.assertNotIn("extra", self.keys())
        # part 1 (assumed), then 1, 2 (twice), 3
        self.assertEqual(self.proxy.count("HEAD", PART_HEAD), 5, p.stderr[-3000:])
