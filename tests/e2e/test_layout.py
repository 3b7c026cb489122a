"""Multipart part layouts (issue 12, defect 3): uneven and unguessable layouts are copied once,
and later runs copy nothing; a corrupted destination is copied again. Checked with boto3.

What the servers tell (probed with boto3 and signed raw requests against the servers these
tests start): moto answers HEAD ?partNumber=N with that part's Content-Length (and its MD5 as
ETag) and x-amz-mp-parts-count, so every layout is reproduced exactly. Ceph radosgw (Pacific)
ignores partNumber on HEAD and on GET (with or without a Range: the whole object or the range
of it, no parts count), ListParts of a completed upload is NoSuchKey, GetObjectAttributes is a
500: nothing tells the layout, so s3mirror guesses, and a copy whose guess does not reproduce
the source ETag carries it in x-amz-meta-s3mirror-source-etag.
"""
import json
import random
import time

from e2e import conf_with, for_each_kind
from faultproxy import Proxy

MiB = 1024 * 1024
# name -> part sizes of a boto3 multipart upload
LAYOUTS = {
    "uneven-6-5-1": [6 * MiB, 5 * MiB, 1 * MiB],
    "seven-7-7-2": [7 * MiB, 7 * MiB, 2 * MiB],
    "five-plus-1": [5 * MiB, 1],
    "single-md5-1": [3 * MiB + 17],
}
# what the single-node Ceph's guess list reproduces (5 MiB parts); moto tells every layout
GUESSABLE = {"five-plus-1", "single-md5-1"}
META = "s3mirror-source-etag"


def part_bytes(name, i, n, salt=""):
    return random.Random("%s/%d/%s" % (name, i, salt)).randbytes(n)


def upload_multipart(client, bucket, key, sizes, salt=""):
    mp = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-test")
    parts = []
    for i, n in enumerate(sizes):
        r = client.upload_part(Bucket=bucket, Key=key, UploadId=mp["UploadId"], PartNumber=i + 1,
                               Body=part_bytes(key, i, n, salt))
        parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})


@for_each_kind
class LayoutTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "lsrc")
        for name, sizes in LAYOUTS.items():
            upload_multipart(self.src, self.sb, name, sizes)

    def heads(self, client, bucket):
        out = {}
        for name in LAYOUTS:
            h = client.head_object(Bucket=bucket, Key=name)
            out[name] = (h["ContentLength"], h["ETag"].strip('"'), h["LastModified"],
                         h.get("Metadata", {}).get(META))
        return out

    def body(self, client, bucket, key):
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def run_sync(self, dst_client, dst_spec):
        p = self.s3m("sync", "sto2:" + self.sb, dst_spec, "--log-level", "info",
                     "--log-format", "json", check=0)
        logs = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
        return p, logs

    def copied_nothing(self, p, logs):
        self.assertRegex(p.stdout + p.stderr, r"copied 0 \(.*\), updated 0 \(")
        moved = [e["msg"] for e in logs
                 if e["msg"].startswith("copied ") or e["msg"].startswith("updated ")]
        self.assertEqual(moved, [])

    def check_layouts(self, dst_client, db, dst_spec):
        p, logs = self.run_sync(dst_client, dst_spec)
        self.assertRegex(p.stdout + p.stderr, r"copied %d \(" % len(LAYOUTS))
        src = self.heads(self.src, self.sb)
        first = self.heads(dst_client, db)
        for name, sizes in LAYOUTS.items():
            with self.subTest(name=name):
                self.assertEqual(first[name][0], sum(sizes))
                self.assertEqual(self.body(dst_client, db, name), self.body(self.src, self.sb, name))
                if self.kind == "moto" or name in GUESSABLE:
                    # the layout was learned (or guessed right): the very same ETag
                    self.assertEqual(first[name][1], src[name][1])
                else:
                    # same part count, another ETag: the source's is recorded for the diff
                    self.assertEqual(first[name][1].split("-")[1], src[name][1].split("-")[1])
                    self.assertNotEqual(first[name][1], src[name][1])
                    self.assertEqual(first[name][3], src[name][1])
        self.assertEqual(dst_client.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
        # nothing changed: the next two nights copy nothing, and rewrite nothing
        for _ in range(2):
            time.sleep(1.1)  # LastModified has one-second resolution
            p, logs = self.run_sync(dst_client, dst_spec)
            self.copied_nothing(p, logs)
            self.assertEqual(self.heads(dst_client, db), first)
        # a destination object rewritten by somebody else: same size and part count, other bytes
        for name, sizes in LAYOUTS.items():
            upload_multipart(dst_client, db, name, sizes, salt="corrupt")
        corrupt = self.heads(dst_client, db)
        for name in LAYOUTS:
            self.assertNotEqual(corrupt[name][1], first[name][1])
            self.assertEqual(corrupt[name][0], first[name][0])
        p, logs = self.run_sync(dst_client, dst_spec)
        self.assertRegex(p.stdout + p.stderr, r"updated %d \(" % len(LAYOUTS))
        again = self.heads(dst_client, db)
        for name in LAYOUTS:
            with self.subTest(name=name):
                self.assertEqual(self.body(dst_client, db, name), self.body(self.src, self.sb, name))
                self.assertEqual(again[name][1], first[name][1])
        p, logs = self.run_sync(dst_client, dst_spec)
        self.copied_nothing(p, logs)

    def test_layouts_streamed_across_endpoints(self):
        db = self.bucket(self.dst, "ldst")
        self.check_layouts(self.dst, db, "osl1:" + db)

    def test_layouts_server_side_same_endpoint(self):
        db = self.bucket(self.src, "ldst")
        self.check_layouts(self.src, db, "sto2:" + db)

    def test_changed_source_same_size_is_copied(self):
        """The recorded source ETag is the one copied: a source rewritten with other bytes of
        the same size and part count is copied again, on every server."""
        db = self.bucket(self.dst, "ldst")
        p, _ = self.run_sync(self.dst, "osl1:" + db)
        for name, sizes in LAYOUTS.items():
            upload_multipart(self.src, self.sb, name, sizes, salt="v2")
        p, logs = self.run_sync(self.dst, "osl1:" + db)
        self.assertRegex(p.stdout + p.stderr, r"updated %d \(" % len(LAYOUTS))
        for name in LAYOUTS:
            self.assertEqual(self.body(self.dst, db, name), self.body(self.src, self.sb, name))
        p, logs = self.run_sync(self.dst, "osl1:" + db)
        self.copied_nothing(p, logs)

    def test_a_flipped_byte_in_a_source_read_is_caught(self):
        """A source read that comes back with one byte flipped (same length): every part is
        stored as read, so the part checks cannot see it. With a learned layout (moto) the
        source's composite ETag, recomputed in the source's own layout, fails; where the layout
        is only guessed and no guess fits (radosgw) the second read of the source disagrees
        with the stored part. Either way the upload is aborted and the retry copies the right
        bytes."""
        db = self.bucket(self.dst, "ldst")
        proxy = Proxy(self.sto2.endpoint)

        def flip(data):
            k = len(data) // 2
            return data[:k] + bytes([data[k] ^ 1]) + data[k + 1:] if data else data
        try:
            proxy.add("listing", method="GET", path="/uneven-6-5-1$", times=1, edit=flip)
            conf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = "
                             "%s\nsecret_access_key = %s\nendpoint = %s\n\n" % (
                                 self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))
            p = self.s3m("sync", "flaky:" + self.sb, "osl1:" + db, "--log-level", "info",
                         check=0, conf=conf)
        finally:
            proxy.stop()
        self.assertTrue(self.body(self.dst, db, "uneven-6-5-1") ==
                        self.body(self.src, self.sb, "uneven-6-5-1"), "the flipped byte was stored")
        self.assertIn("in the source's layout" if self.kind == "moto" else "read again has MD5",
                      p.stderr)
        src, dst = self.heads(self.src, self.sb), self.heads(self.dst, db)
        for name in LAYOUTS:
            if self.kind == "moto" or name in GUESSABLE:
                self.assertEqual(dst[name][1], src[name][1])
            else:
                self.assertEqual(dst[name][3], src[name][1])
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
