"""Every S3 operation of the client (tests/e2e/s3ops.c drives them), checked with boto3."""
import hashlib
import json
import os
import subprocess

from e2e import ROOT, for_each_kind

S3OPS = os.path.join(os.path.dirname(os.environ.get("S3MIRROR_BIN") or
                                     os.path.join(ROOT, "build", "s3mirror")), "tests", "s3ops")


def pattern(n, seed):
    """The same bytes as s3ops.c's pattern() (an LCG), computed independently."""
    out = bytearray(n)
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = (seed >> 16) & 0xFF
    return bytes(out)


@for_each_kind
class S3OpsTest:
    def test_operations(self):
        b = self.bucket(self.src, "ops")
        self.src.put_object(Bucket=b, Key="todelete/single", Body=b"x")
        p = subprocess.run([S3OPS, self.sto2.endpoint, self.sto2.access_key, self.sto2.secret_key,
                            b], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        steps = {}
        for line in p.stdout.splitlines():
            d = json.loads(line)
            steps[d["step"]] = d
        ok = lambda s: self.assertEqual((steps[s]["err"], steps[s]["status"] // 100), ("OK", 2), steps[s])
        for s in ("put_mem", "put_stream", "head", "get_range", "get_full", "copy", "mpu_create",
                  "mpu_part1", "mpu_part2", "mpu_complete", "head_part1", "part_copy",
                  "part_copy_complete", "list_mpu", "abort_mpu", "list_mpu_after",
                  "delete_objects", "delete_object", "create_bucket", "head_bucket"):
            ok(s)
        d1 = pattern(1 << 20, 1)
        md5 = hashlib.md5(d1).hexdigest()
        self.assertEqual(steps["put_mem"]["etag"], md5)
        obj = self.src.get_object(Bucket=b, Key="put/obj a+b")
        self.assertEqual(obj["Body"].read(), d1)
        self.assertEqual(obj["ContentType"], "text/x-test")
        self.assertEqual(obj["CacheControl"], "max-age=60")
        self.assertEqual(obj["Metadata"], {"color": "blue"})
        self.assertEqual(steps["head"]["length"], str(1 << 20))
        self.assertEqual(steps["head"]["color"], "blue")
        self.assertEqual(steps["get_range"]["bytes"], 10)
        self.assertTrue(steps["get_range"]["match"] and steps["get_full"]["match"])
        self.assertEqual((steps["get_if_match"]["status"], steps["get_if_match"]["code"]),
                         (412, "PreconditionFailed"))
        if self.kind == "ceph":  # moto does not check Content-MD5
            self.assertEqual((steps["put_bad_md5"]["status"], steps["put_bad_md5"]["code"]),
                             (400, "BadDigest"))
        self.assertEqual(steps["copy"]["copy_etag"], md5)
        # multipart: 5 MiB + 1 MiB, ETag = md5 of the part md5s + "-2"
        d2 = pattern(6 << 20, 3)
        parts = [d2[:5 << 20], d2[5 << 20:]]
        mp_etag = hashlib.md5(b"".join(hashlib.md5(x).digest() for x in parts)).hexdigest() + "-2"
        head = self.src.head_object(Bucket=b, Key="mpu/big")
        self.assertEqual(head["ETag"].strip('"'), mp_etag)
        self.assertEqual(head["ContentLength"], 6 << 20)
        self.assertEqual(self.src.get_object(Bucket=b, Key="mpu/big")["Body"].read(), d2)
        copied = self.src.get_object(Bucket=b, Key="mpu/copied")["Body"].read()
        self.assertEqual(copied, parts[0])
        self.assertEqual(steps["list_mpu"]["uploads"], 1)
        self.assertEqual(steps["list_mpu_after"]["uploads"], 0)
        self.assertEqual(self.src.list_multipart_uploads(Bucket=b).get("Uploads", []), [])
        self.assertEqual(steps["complete_bogus"]["err"] in ("S3", "NOTFOUND"), True)
        keys = sorted(o["Key"] for o in self.src.list_objects_v2(Bucket=b).get("Contents", []))
        want = ["mpu/big", "mpu/copied", "put/obj a+b"] + (["put/baddigest"] if self.kind == "moto" else [])
        self.assertEqual(keys, sorted(want))
        self.src.head_bucket(Bucket=b + "-new")
        self.assertEqual((steps["head_missing_bucket"]["status"], steps["head_missing_bucket"]["err"]),
                         (404, "NOTFOUND"))
