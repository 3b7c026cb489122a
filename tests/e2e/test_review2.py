"""Hostile review (review2): defects found in the transfer engine and the client, each as a test
that fails on the code as merged. Checked with boto3."""
import os
import random

from e2e import conf_with, for_each_kind
from faultproxy import Proxy

MiB = 1024 * 1024


def flip(data):
    k = len(data) // 2
    return data[:k] + bytes([data[k] ^ 1]) + data[k + 1:] if data else data


@for_each_kind
class Review2Test:
    def flaky_conf(self, proxy):
        return conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = "
                         "%s\nsecret_access_key = %s\nendpoint = %s\n\n" % (
                             self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))

    def body(self, client, bucket, key):
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def test_flipped_byte_in_a_single_part_source_above_the_threshold(self):
        """A single-part source above --multipart-threshold is copied as a multipart upload of
        --multipart-chunk-size parts. A source read that comes back with one byte flipped (same
        length) is stored as read: each part's ETag matches the MD5 of the bytes sent, and
        nothing compares the bytes read with the source's ETag (the MD5 of the whole object).
        The run must not store the flipped byte and report success; and later runs (ETags not
        comparable, destination newer) never copy it again."""
        sb = self.bucket(self.src, "r2src")
        db = self.bucket(self.dst, "r2dst")
        data = random.Random(7).randbytes(12 * MiB)
        self.src.put_object(Bucket=sb, Key="big", Body=data)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("listing", method="GET", path="/big$", times=1, edit=flip)
            p = self.s3m("sync", "flaky:" + sb, "osl1:" + db, "--multipart-threshold", "5M",
                         "--multipart-chunk-size", "5M", "--log-level", "info", check=None,
                         conf=self.flaky_conf(proxy))
        finally:
            proxy.stop()
        stored = self.body(self.dst, db, "big")
        self.assertTrue(p.returncode != 0 or stored == data,
                        "exit 0 with a flipped byte stored:\n" + p.stderr[-2000:])
        self.assertEqual(stored, data, "the flipped byte was stored")
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])

    def test_retry_after_overflow(self):
        """Retry-After: a number of seconds whose value in ms overflows 64 bits (the check
        `secs * 1000 > MAX` wraps, then `(long)secs * 1000` is a signed overflow): the ASan/UBSan
        build dies; the release build waits a wrapped value. Must be capped like any large one."""
        sb = self.bucket(self.src, "r2src")
        db = self.bucket(self.dst, "r2dst")
        self.src.put_object(Bucket=sb, Key="k", Body=b"x")
        proxy = Proxy(self.sto2.endpoint)
        try:
            # 18446744073709552 * 1000 = 2**64 + 384
            proxy.add("status", method="GET", path="/k$", times=1, status=503,
                      retry_after="18446744073709552")
            p = self.s3m("sync", "flaky:" + sb, "osl1:" + db, check=None,
                         conf=self.flaky_conf(proxy), timeout=120)
        finally:
            proxy.stop()
        self.assertNotIn("runtime error", p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertEqual(self.body(self.dst, db, "k"), b"x")

    def upload_uneven(self, bucket):
        mp = self.src.create_multipart_upload(Bucket=bucket, Key="uneven")
        parts = []
        for i, n in enumerate([6 * MiB, 5 * MiB, 1 * MiB]):
            r = self.src.upload_part(Bucket=bucket, Key="uneven", UploadId=mp["UploadId"],
                                     PartNumber=i + 1, Body=random.Random(i).randbytes(n))
            parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
        self.src.complete_multipart_upload(Bucket=bucket, Key="uneven", UploadId=mp["UploadId"],
                                           MultipartUpload={"Parts": parts})

    def stop_when(self, args, conf, trigger, deadline):
        """Run s3mirror, SIGTERM it once stderr matches trigger; returns (rc, seconds from the
        signal to the exit, stderr)."""
        import re
        import signal
        import subprocess
        import tempfile
        import time
        from e2e import BIN
        err = tempfile.NamedTemporaryFile("w+", prefix="s3m-r2-", delete=False)
        p = subprocess.Popen([BIN, "--config", conf] + args, stdout=subprocess.PIPE, stderr=err,
                             text=True)
        t0 = time.time()
        while p.poll() is None and time.time() - t0 < 120:
            with open(err.name) as f:
                if re.search(trigger, f.read()):
                    break
            time.sleep(0.05)
        time.sleep(0.2)
        self.assertIsNone(p.poll(), "ended before the signal")
        t1 = time.time()
        p.send_signal(signal.SIGTERM)
        try:
            p.communicate(timeout=deadline + 20)  # then SIGKILL, as a pod grace period ends
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        took = time.time() - t1
        with open(err.name) as f:
            log = f.read()
        os.unlink(err.name)
        return p.returncode, took, log

    def test_sigterm_during_recheck_waiting_for_retry_after(self):
        """No guessed part size reproduces the source ETag (6+5+1 MiB; on moto the parts count
        is hidden from HEAD ?partNumber= so it guesses too): the second read of the source
        (RECHECK) gets 503 + Retry-After: 60 on every try. A SIGTERM then must end the run at
        once, as the man page says ("A stop also ends a request waiting to be retried"); the
        RECHECK GET is not one the stop cancels, so the run waits out every Retry-After (4 x 60
        s) while its multipart upload is open: past a 120 s grace period the SIGKILL leaves the
        upload behind."""
        sb = self.bucket(self.src, "r2src")
        db = self.bucket(self.dst, "r2dst")
        self.upload_uneven(sb)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("headers", method="HEAD", query="partNumber",
                      drop_headers=["x-amz-mp-parts-count"])
            proxy.add("status", method="GET", path="/uneven$", after=3, status=503,
                      retry_after=60)
            rc, took, log = self.stop_when(
                ["sync", "flaky:" + sb, "osl1:" + db, "--log-level", "debug"],
                self.flaky_conf(proxy), r"PARTS -> RECHECK", 10)
        finally:
            proxy.stop()
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
        self.assertEqual(rc, 143, log[-2000:])
        self.assertLess(took, 10, "the stop waited %.0f s for the RECHECK read" % took)

    def test_sigterm_during_part_size_heads_waiting_for_retry_after(self):
        """HEAD ?partNumber=N (learning the source's layout) answered 503 + Retry-After: 60: a
        SIGTERM during the wait must end the run at once; the HEAD is not cancelled by the
        stop, so the run sits out every try."""
        sb = self.bucket(self.src, "r2src")
        db = self.bucket(self.dst, "r2dst")
        self.upload_uneven(sb)
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("status", method="HEAD", query="partNumber", status=503, retry_after=60)
            rc, took, log = self.stop_when(
                ["sync", "flaky:" + sb, "osl1:" + db, "--log-level", "debug"],
                self.flaky_conf(proxy), r"HEAD .*retry in", 10)
        finally:
            proxy.stop()
        self.assertEqual(rc, 143, log[-2000:])
        self.assertLess(took, 10, "the stop waited %.0f s for the part-size HEAD" % took)

    def sigterm_in_backoff(self, key, rule):
        """Server-side (both sides through the proxy, one endpoint): the request matched by
        rule answered 503 + Retry-After: 60 on every try; SIGTERM during the wait."""
        sb = self.bucket(self.src, "r2src")
        db = self.bucket(self.src, "r2dst")
        if key == "uneven":
            self.upload_uneven(sb)
        else:
            self.src.put_object(Bucket=sb, Key=key, Body=b"hello")
        proxy = Proxy(self.sto2.endpoint)
        try:
            proxy.add("status", status=503, retry_after=60, **rule)
            rc, took, log = self.stop_when(
                ["sync", "flaky:" + sb, "flaky:" + db, "--log-level", "debug"],
                self.flaky_conf(proxy), r"retry in", 10)
        finally:
            proxy.stop()
        self.assertEqual(self.src.list_multipart_uploads(Bucket=db).get("Uploads", []), [])
        self.assertEqual(rc, 143, log[-2000:])
        self.assertLess(took, 10, "the stop waited %.0f s" % took)

    def test_sigterm_during_copyobject_waiting_for_retry_after(self):
        """A server-side CopyObject (a single-part object within one endpoint) is not cancelled
        by the stop: the run sits out every Retry-After."""
        self.sigterm_in_backoff("small", dict(method="PUT", path="/small$"))

    def test_sigterm_during_create_mpu_waiting_for_retry_after(self):
        """CreateMultipartUpload waiting to be retried is not cancelled by the stop either."""
        self.sigterm_in_backoff("uneven", dict(method="POST", query="uploads"))
