"""The fault matrix: a fault-injecting proxy in front of one site, and for each fault either a
destination identical to the source (the retries worked) or a clear error, a non-zero exit
code and no deletion - never a partial object, never a multipart upload left behind."""
import time

from e2e import conf_with, for_each_kind, snapshot
from faultproxy import Proxy, duplicate_first_key, swap_first_keys
from test_sync import MiB, body


@for_each_kind
class FaultTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "fsrc")
        self.db = self.bucket(self.dst, "fdst")
        self.keys = ["f%02d" % i for i in range(8)]
        self.put_many(self.src, self.sb, self.keys, body=lambda k: body(k, 200000))
        mp = self.src.create_multipart_upload(Bucket=self.sb, Key="mp")
        data, parts = body("mp", 12 * MiB), []
        for i in range(0, len(data), 5 * MiB):
            r = self.src.upload_part(Bucket=self.sb, Key="mp", UploadId=mp["UploadId"],
                                     PartNumber=len(parts) + 1, Body=data[i:i + 5 * MiB])
            parts.append({"PartNumber": len(parts) + 1, "ETag": r["ETag"]})
        self.src.complete_multipart_upload(Bucket=self.sb, Key="mp", UploadId=mp["UploadId"],
                                           MultipartUpload={"Parts": parts})
        self.dst.put_object(Bucket=self.db, Key="old", Body=b"only on the destination")

    def run_faults(self, side, rules, *extra, check=None):
        """sync through a proxy in front of side ("src" or "dst") with rules [(action, kw)]."""
        site = self.sto2 if side == "src" else self.osl1
        proxy = Proxy(site.endpoint)
        conf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             site.access_key, site.secret_key, proxy.endpoint))
        try:
            for action, kw in rules:
                proxy.add(action, **kw)
            src = ("flaky:" if side == "src" else "sto2:") + self.sb
            dst = ("flaky:" if side == "dst" else "osl1:") + self.db
            t0 = time.time()
            p = self.s3m("sync", src, dst, "-v", "--timeout", "10", *extra, conf=conf,
                         check=check, timeout=240)
            self.elapsed = time.time() - t0
            self.proxy = proxy
            return p
        finally:
            proxy.stop()

    def assert_no_uploads_left(self):
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []), [])

    def assert_mirrored(self):
        a = snapshot(self.src, self.sb, content=True)
        b = snapshot(self.dst, self.db, content=True)
        self.assertEqual(a, b)
        self.assert_no_uploads_left()

    def assert_safe_failure(self, p, codes):
        """non-zero and documented, one clear error line, nothing deleted, nothing partial."""
        self.assertIn(p.returncode, codes, p.stderr[-3000:])
        self.assertRegex(p.stderr, r"(?m)^s3mirror: error: |ERROR ")
        a = snapshot(self.src, self.sb, content=True)
        b = snapshot(self.dst, self.db, content=True)
        self.assertIn("old", b)  # no deletion
        for k, v in b.items():  # whatever was copied is whole
            if k in a:
                self.assertEqual(v, a[k], k)
        self.assert_no_uploads_left()

    # ---- faults the retries absorb ----
    def test_share_of_gets_fail_with_503_429_500(self):
        p = self.run_faults("src", [
            ("status", dict(method="GET", path="/f0[0-3]$", share=0.5, status=503, times=6)),
            ("status", dict(method="GET", path="/f0[4-7]$", share=0.5, status=500, times=6)),
            ("status", dict(method="GET", path="/mp$", share=0.5, status=429, times=2,
                            retry_after=1))], "--low-level-retries", "6", check=0)
        self.assertGreater(self.proxy.count("GET"), 11)  # there were retries
        self.assert_mirrored()

    def test_uploads_fail_then_succeed(self):
        self.run_faults("dst", [
            ("status", dict(method="PUT", query="^$", share=0.4, status=500, times=4)),
            ("status", dict(method="PUT", query="partNumber", times=2, status=503, retry_after=1)),
            ("drop", dict(method="PUT", query="^$", times=1))],
            "--low-level-retries", "6", check=0)
        self.assert_mirrored()

    def test_connection_reset_mid_body(self):
        self.run_faults("src", [("reset", dict(method="GET", path="/f03$", times=2)),
                                ("reset", dict(method="GET", path="/mp$", times=1))], check=0)
        self.assert_mirrored()

    def test_stall_mid_body_past_timeout(self):
        self.run_faults("src", [("stall_body", dict(method="GET", path="/f02$", times=1,
                                                    seconds=8))], "--timeout", "2", check=0)
        self.assertLess(self.elapsed, 60)
        self.assert_mirrored()

    def test_stall_before_headers_past_timeout(self):
        self.run_faults("src", [("stall", dict(method="GET", path="/f05$", times=1, seconds=8))],
                        "--timeout", "2", check=0)
        self.assert_mirrored()

    def test_complete_multipart_200_with_error_retried(self):
        p = self.run_faults("dst", [("error200", dict(method="POST", query="uploadId=", times=1))],
                            "-vv", check=0)
        self.assertIn("InternalError", p.stderr)
        self.assert_mirrored()

    def test_truncated_and_wrong_length_parts(self):
        self.run_faults("src", [("truncate", dict(method="GET", path="/mp$", times=1)),
                                ("wrong_length", dict(method="GET", path="/f01$", times=1))],
                        check=0)
        self.assert_mirrored()

    # ---- faults that outlast the retries: a clear error, nothing deleted ----
    def test_complete_multipart_always_200_error(self):
        p = self.run_faults("dst", [("error200", dict(method="POST", query="uploadId="))],
                            "--low-level-retries", "2", "--retries", "2")
        self.assert_safe_failure(p, (5, 6))
        self.assertNotIn("mp", snapshot(self.dst, self.db))
        self.assertIn("mp failed", p.stderr)

    def test_source_get_always_fails(self):
        p = self.run_faults("src", [("status", dict(method="GET", path="/f04$", status=500))],
                            "--low-level-retries", "2", "--retries", "2")
        self.assert_safe_failure(p, (6,))
        self.assertIn("1 object(s) failed to copy", p.stdout)

    def test_duplicate_key_in_listing(self):
        p = self.run_faults("src", [("listing", dict(method="GET", query="list-type=2",
                                                     edit=duplicate_first_key))])
        self.assert_safe_failure(p, (2,))
        self.assertIn("not in strictly increasing key order", p.stderr)

    def test_reordered_destination_listing(self):
        self.put_many(self.dst, self.db, ["a1", "a2"], body=lambda k: b"x")
        p = self.run_faults("dst", [("listing", dict(method="GET", query="list-type=2",
                                                     edit=swap_first_keys))])
        self.assert_safe_failure(p, (2,))

    def test_source_listing_page_3_fails(self):
        p = self.run_faults("src", [("status", dict(method="GET", query="list-type=2", after=2,
                                                    status=500))],
                            "--max-keys", "3", "--low-level-retries", "2")
        self.assert_safe_failure(p, (5,))
        self.assertIn("listing failed, nothing deleted", p.stderr)

    def test_destination_listing_page_2_fails(self):
        self.put_many(self.dst, self.db, ["zz%d" % i for i in range(5)], body=lambda k: b"x")
        p = self.run_faults("dst", [("status", dict(method="GET", query="list-type=2", after=1,
                                                    status=503))],
                            "--max-keys", "2", "--low-level-retries", "2")
        self.assert_safe_failure(p, (5,))
        self.assertIn("zz4", snapshot(self.dst, self.db))
