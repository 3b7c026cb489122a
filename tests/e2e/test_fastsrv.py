"""bench/fastsrv, the bench's S3 endpoint, answers like S3 (checked with boto3, an independent
client), and a sync through it copies what it claims: the bench's figures rest on that. It runs
against fastsrv only (not moto or Ceph): fastsrv is what is under test."""
import base64
import hashlib
import os
import subprocess
import tempfile
import unittest

import boto3
import botocore

from e2e import BIN, ROOT, s3servers

SRV = os.path.join(ROOT, "build", "bench", "fastsrv")
MiB = 1024 * 1024


class FastsrvTest(unittest.TestCase):
    def setUp(self):
        if not os.access(SRV, os.X_OK):
            self.skipTest("build/bench/fastsrv not built")
        self.port = s3servers.free_port()
        p = subprocess.Popen([SRV, str(self.port), "--bucket", "src:50:4096",
                              "--bucket", "mpu:3:%d:%d" % (12 * MiB, 5 * MiB)])
        self.addCleanup(lambda: (p.kill(), p.wait()))
        s3servers.wait_port(self.port, 30, p)
        self.c = boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % self.port,
                              aws_access_key_id="a", aws_secret_access_key="b",
                              region_name="us-east-1")

    def keys(self, bucket, v1=False, **kw):
        pager = self.c.get_paginator("list_objects" if v1 else "list_objects_v2")
        return [o["Key"] for pg in pager.paginate(Bucket=bucket, **kw) for o in pg.get("Contents", [])]

    def error(self, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return e.exception.response["Error"]["Code"]

    def test_listings_ranges_and_parts(self):
        want = ["key%010d" % i for i in range(50)]
        self.assertEqual(self.keys("src", PaginationConfig={"PageSize": 7}), want)
        self.assertEqual(self.keys("src", v1=True, PaginationConfig={"PageSize": 7}), want)
        self.assertEqual(self.keys("src", Prefix="key000000001"), want[10:20])
        self.assertEqual(self.keys("src", StartAfter="key0000000045"), want[46:])
        r = self.c.list_objects_v2(Bucket="src", Delimiter="3", Prefix="key00000000")
        self.assertIn("key000000003", [p["Prefix"] for p in r["CommonPrefixes"]])
        o = self.c.list_objects_v2(Bucket="src")["Contents"][5]
        body = self.c.get_object(Bucket="src", Key=o["Key"])["Body"].read()
        self.assertEqual(o["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        rg = self.c.get_object(Bucket="src", Key=o["Key"], Range="bytes=100-199")
        self.assertEqual((rg["Body"].read(), rg["ContentRange"]), (body[100:200], "bytes 100-199/4096"))
        m = self.c.list_objects_v2(Bucket="mpu")["Contents"][1]
        full = self.c.get_object(Bucket="mpu", Key=m["Key"])["Body"].read()
        parts = [full[i:i + 5 * MiB] for i in range(0, len(full), 5 * MiB)]
        composite = hashlib.md5(b"".join(hashlib.md5(x).digest() for x in parts)).hexdigest()
        self.assertEqual(m["ETag"], '"%s-3"' % composite)
        g = self.c.get_object(Bucket="mpu", Key=m["Key"], PartNumber=3)
        self.assertEqual((g["Body"].read(), g["PartsCount"]), (parts[2], 3))
        self.assertEqual(self.error(self.c.put_object, Bucket="src", Key="x", Body=b""), "AccessDenied")

    def test_uploads_are_checked_and_kept(self):
        o = self.c.list_objects_v2(Bucket="src")["Contents"][3]
        body = self.c.get_object(Bucket="src", Key=o["Key"])["Body"].read()
        md5 = lambda b: base64.b64encode(hashlib.md5(b).digest()).decode()
        self.assertEqual(self.error(self.c.put_object, Bucket="dst", Key=o["Key"], Body=body,
                                    ContentMD5=md5(b"x")), "BadDigest")
        self.assertEqual(self.error(self.c.put_object, Bucket="dst", Key=o["Key"],
                                    Body=body[:-1] + b"?"), "InvalidArgument")
        self.c.put_object(Bucket="dst", Key=o["Key"], Body=body, ContentMD5=md5(body))
        d = self.c.list_objects_v2(Bucket="dst")["Contents"]
        self.assertEqual([(x["Key"], x["ETag"], x["Size"]) for x in d], [(o["Key"], o["ETag"], 4096)])
        self.assertEqual(self.c.get_object(Bucket="dst", Key=o["Key"])["Body"].read(), body)
        m = self.c.list_objects_v2(Bucket="mpu")["Contents"][0]
        full = self.c.get_object(Bucket="mpu", Key=m["Key"])["Body"].read()
        parts = [full[i:i + 5 * MiB] for i in range(0, len(full), 5 * MiB)]
        u = self.c.create_multipart_upload(Bucket="dst", Key=m["Key"])["UploadId"]
        ets = {n: self.c.upload_part(Bucket="dst", Key=m["Key"], UploadId=u, PartNumber=n,
                                     Body=parts[n - 1], ContentMD5=md5(parts[n - 1]))["ETag"]
               for n in (3, 1, 2)}  # out of order: the last part's offset is known at the end
        self.assertEqual([p["PartNumber"] for p in
                          self.c.list_parts(Bucket="dst", Key=m["Key"], UploadId=u)["Parts"]], [1, 2, 3])
        r = self.c.complete_multipart_upload(
            Bucket="dst", Key=m["Key"], UploadId=u,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": ets[n]} for n in (1, 2, 3)]})
        self.assertEqual(r["ETag"], m["ETag"])
        self.assertEqual(self.c.get_object(Bucket="dst", Key=m["Key"], PartNumber=2)["Body"].read(),
                         parts[1])
        u = self.c.create_multipart_upload(Bucket="dst", Key="other")["UploadId"]
        e1 = self.c.upload_part(Bucket="dst", Key="other", UploadId=u, PartNumber=1, Body=parts[0])["ETag"]
        self.assertEqual(self.error(self.c.complete_multipart_upload, Bucket="dst", Key="other",
                                    UploadId=u, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]}),
                         "InvalidArgument")  # not the content of "other"
        self.assertEqual([x["Key"] for x in self.c.list_multipart_uploads(Bucket="dst")["Uploads"]], ["other"])
        self.c.abort_multipart_upload(Bucket="dst", Key="other", UploadId=u)
        r = self.c.delete_objects(Bucket="dst", Delete={"Objects": [{"Key": o["Key"]}, {"Key": "nothere"}]})
        self.assertEqual(sorted(x["Key"] for x in r["Deleted"]), sorted([o["Key"], "nothere"]))
        self.assertEqual(self.keys("dst"), [m["Key"]])

    def test_sync_copies_what_it_claims(self):
        conf = os.path.join(tempfile.mkdtemp(), "fast.conf")
        with open(conf, "w") as f:
            f.write("[f]\ntype = s3\naccess_key_id = a\nsecret_access_key = b\n"
                    "endpoint = http://127.0.0.1:%d\n\n" % self.port)
        for b in ("src", "mpu"):
            p = subprocess.run([BIN, "--config", conf, "sync", "f:" + b, "f:copy-" + b, "-q"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            src = self.c.list_objects_v2(Bucket=b)["Contents"]
            dst = self.c.list_objects_v2(Bucket="copy-" + b)["Contents"]
            self.assertEqual([(o["Key"], o["Size"], o["ETag"]) for o in dst],
                             [(o["Key"], o["Size"], o["ETag"]) for o in src])


if __name__ == "__main__":
    unittest.main()
