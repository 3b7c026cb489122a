"""Resumed uploads and the source's metadata, and the stale-upload sweep's paging (issue 17).
A run SIGKILLed at its third UploadPart (one part at a time, parts of 5 MiB) leaves an upload
created with the source's metadata of then; the next run resumes it. Unchanged metadata: the
object is completed as resumed, nothing sent twice (no second CreateMultipartUpload). Metadata
changed since (a new Content-Type, Cache-Control, x-amz-meta-*; on radosgw also the recorded
source ETag): the completed object is found to carry the old metadata (HEAD) and is copied
afresh, ending with exactly what a fresh copy writes (compared with boto3 to a fresh copy of
the same source into another bucket). And a ListMultipartUploads listing of the sweep whose
markers never move (the proxy rewrites every page) ends instead of asking forever."""
import os
import re
import subprocess
import time

from e2e import BIN, for_each_kind, put_multipart
from test_resume import UPLOAD_PART, ResumeSites, sha

MiB = 1024 * 1024
PART = 5 * MiB
CREATE = r"(^|&)uploads(=|&|$)"  # POST ?uploads; a GET ?uploads is ListMultipartUploads
META_V1 = dict(ContentType="application/x-v1", CacheControl="max-age=1",
               ContentDisposition="attachment; filename=v1.bin", Metadata={"ver": "1", "a": "x"})
META_V2 = dict(ContentType="application/x-v2", CacheControl="max-age=2",
               Metadata={"ver": "2", "b": "y"})


def meta_of(head):
    return {k: head.get(k) for k in ("ContentType", "CacheControl", "ContentDisposition",
                                     "ContentEncoding", "ContentLanguage", "Metadata")}


@for_each_kind
class ResumeFixTest(ResumeSites):
    BUCKETS = ("rfsrc", "rfdst")

    def put_source(self, key, data, **extra):
        put_multipart(self.src, self.sb, key, data, PART, **extra)

    def cmd(self, dst=None, *extra):
        return [BIN, "--config", self.pconf, "sync", "sto2:" + self.sb, dst or "dstp:" + self.db,
                "--log-level", "info", "--timeout", "30", "--multipart-concurrency", "1"] \
            + list(extra)

    def killed_run(self, key):
        """A sync SIGKILLed when its third UploadPart reaches the proxy: parts 1 and 2 left."""
        self.killed_at_part(self.cmd(), 3)
        ups = self.uploads(key)
        self.assertEqual(len(ups), 1, "expected one upload left by the killed run")
        parts = self.dst.list_parts(Bucket=self.db, Key=key, UploadId=ups[0])
        self.assertEqual(len(parts.get("Parts", [])), 2)

    def run_ok(self, *cmd_args):
        return ResumeSites.run_ok(self, self.cmd(*cmd_args))

    def check(self, key, data):
        """The bytes, the ETag, and the metadata of a fresh copy (into another bucket)."""
        src = self.src.head_object(Bucket=self.sb, Key=key)
        dst = self.dst.head_object(Bucket=self.db, Key=key)
        self.assertEqual(dst["ETag"], src["ETag"])
        body = self.dst.get_object(Bucket=self.db, Key=key)["Body"].read()
        self.assertEqual(sha(body), sha(data))
        ref = self.bucket(self.dst, "rfref")
        subprocess.run(self.cmd("dstp:" + ref), capture_output=True, check=True, timeout=300)
        fresh = self.dst.head_object(Bucket=ref, Key=key)
        self.assertEqual(meta_of(dst), meta_of(fresh))
        self.assertEqual(dst["ContentType"], src["ContentType"])
        self.assertEqual(dst["Metadata"].get("ver"), src["Metadata"].get("ver"))
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])

    def test_resume_fix_unchanged_metadata_is_kept(self):
        """The source as it was: resumed, two parts sent, no fresh copy, the metadata right."""
        key = "um/obj.bin"
        data = os.urandom(4 * PART)
        self.put_source(key, data, **META_V1)
        self.killed_run(key)
        p = self.run_ok()
        self.assertIn("resumed upload of %s: 2 of 4 parts kept" % key, p.stderr)
        self.assertNotIn("older source version's metadata", p.stderr)
        self.assertEqual(self.proxy.count("PUT", UPLOAD_PART), 2)
        self.assertEqual(self.proxy.count("POST", CREATE), 0)
        self.check(key, data)

    def test_resume_fix_new_metadata_copied_afresh(self):
        """The source rewritten after the kill, its first parts the same bytes, with other
        metadata: the resumed object is found stale and copied afresh in the same run."""
        key = "nm/obj.bin"
        v1 = os.urandom(4 * PART)
        self.put_source(key, v1, **META_V1)
        self.killed_run(key)
        v2 = v1[:2 * PART] + os.urandom(2 * PART)
        self.put_source(key, v2, **META_V2)
        p = self.run_ok()
        self.assertIn("resumed upload of %s: 2 of 4 parts kept" % key, p.stderr)
        self.assertIn("resumed upload of %s carried an older source version's metadata: "
                      "copying it afresh" % key, p.stderr)
        self.assertEqual(self.proxy.count("PUT", UPLOAD_PART), 2 + 4)
        self.assertEqual(self.proxy.count("POST", CREATE), 1)
        self.check(key, v2)
        p = self.run_ok()  # nothing left to do
        self.assertEqual(self.proxy.count("PUT", UPLOAD_PART), 0)
        self.assertEqual(self.proxy.count("POST", CREATE), 0)

    def test_resume_fix_same_metadata_new_tail(self):
        """The source rewritten after the kill with the same metadata and a new tail: on moto
        (the part sizes told, no source ETag recorded) the resumed object is right as it is; on
        radosgw (a guessed layout: the source ETag recorded at create) the leftover recorded
        the old version's ETag, which would claim the old bytes: copied afresh."""
        key = "sm/obj.bin"
        v1 = os.urandom(4 * PART)
        self.put_source(key, v1, **META_V1)
        self.killed_run(key)
        v2 = v1[:2 * PART] + os.urandom(2 * PART)
        self.put_source(key, v2, **META_V1)
        p = self.run_ok()
        self.assertIn("resumed upload of %s: 2 of 4 parts kept" % key, p.stderr)
        afresh = "resumed upload of %s carried an older source version's metadata" % key
        if self.kind == "moto":
            self.assertNotIn(afresh, p.stderr)
            self.assertEqual(self.proxy.count("PUT", UPLOAD_PART), 2)
        else:
            self.assertIn(afresh, p.stderr)
            self.assertIn("s3mirror-source-etag", p.stderr)
            self.assertEqual(self.proxy.count("PUT", UPLOAD_PART), 2 + 4)
        self.check(key, v2)
        src = self.src.head_object(Bucket=self.sb, Key=key)
        rec = self.dst.head_object(Bucket=self.db, Key=key)["Metadata"].get("s3mirror-source-etag")
        self.assertIn(rec, (None, src["ETag"].strip('"')))

    def test_resume_fix_sweep_listing_that_never_advances(self):
        """The sweep's ListMultipartUploads answers truncated pages whose markers never move:
        the sweep ends after asking them once more, the run ends, the stale upload aborted."""
        self.src.put_object(Bucket=self.sb, Key="sw/keep.txt", Body=b"keep")
        key = "sw/gone.bin"
        up = self.dst.create_multipart_upload(Bucket=self.db, Key=key)["UploadId"]
        self.dst.upload_part(Bucket=self.db, Key=key, UploadId=up, PartNumber=1, Body=b"x" * 10)

        def stuck(body):
            body = re.sub(rb"<Next(KeyMarker|UploadIdMarker)>[^<]*</Next\w+>|"
                          rb"<Next(KeyMarker|UploadIdMarker)/>", b"", body)
            markers = (b"<NextKeyMarker>" + key.encode() + b"</NextKeyMarker>"
                       b"<NextUploadIdMarker>" + up.encode() + b"</NextUploadIdMarker>")
            return re.sub(rb"<IsTruncated>[^<]*</IsTruncated>",
                          b"<IsTruncated>true</IsTruncated>" + markers, body)
        time.sleep(1.1)
        self.proxy.clear()
        self.proxy.add("listing", method="GET", query=CREATE, edit=stuck)
        try:
            p = subprocess.run(self.cmd(), capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("the run did not end in 60 s: %d ListMultipartUploads"
                      % self.proxy.count("GET", CREATE))
        self.proxy.wait_idle()
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertIn("does not advance", p.stderr)
        self.assertLessEqual(self.proxy.count("GET", CREATE), 3)
        ups = self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", [])
        self.assertEqual([u for u in ups if u["Key"] == key], [])
