"""Retries and stops of one transfer (issue 12, defects 2 and 8): SIGTERM while a server-side
multipart copy has parts in flight (one abort per upload, exit 143, nothing left behind); a
submit that cannot start; a failed part resent on its own; Retry-After; SlowDown lowering the
endpoint's concurrency; a stop reaching a request that waits in backoff."""
import os
import random
import re
import signal
import subprocess
import time

from e2e import BIN, conf_with, for_each_kind, put_multipart, snapshot
from faultproxy import Proxy
from test_sync import MiB, body


class SlowPartCopyProxy(Proxy):
    """The fault proxy, with every UploadPartCopy held for `delay` seconds first: parts stay in
    flight long enough for a signal to land among them."""
    delay = 1.0  # two rounds of parts (or four) outlast the random wait of up to 0.8 s

    def handle(self, h):
        if h.command == "PUT" and "partNumber" in h.path and h.headers.get("x-amz-copy-source"):
            time.sleep(self.delay)
        return super().handle(h)


@for_each_kind
class RetryTest:
    def flaky_conf(self, site, proxy):
        return conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             site.access_key, site.secret_key, proxy.endpoint))

    def uploads_left(self, client, bucket):
        return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])

    def assert_one_abort_per_upload(self, err, msg, aborts=None):
        """From the -vv log: AbortMultipartUpload requests that ended (each once, whatever its
        retries inside the client) never outnumber the CreateMultipartUpload that succeeded."""
        ended = lambda op: len(re.findall(r"(?m) s3: %s \S*: (HTTP \d+ in|failed after)" % op,
                                          err))
        creates, n = ended("CreateMultipartUpload"), ended("AbortMultipartUpload")
        self.assertLessEqual(n, creates, msg)
        if aborts is not None:
            self.assertEqual(n, aborts, msg)

    def big_sources(self, client, bucket, n=3, size=20 * MiB):
        for i in range(n):
            put_multipart(client, bucket, "big%d" % i, body("big%d" % i, size), 5 * MiB)

    # ---- defect 2: one abort per upload, ever ----
    def test_sigterm_during_server_side_multipart_copy(self):
        """SIGTERM at random points while UploadPartCopy requests are in flight: exit 143 with a
        summary every time, no upload left, nothing deleted (also under ASan)."""
        sb = self.bucket(self.src, "sscsrc")
        db = self.bucket(self.src, "sscdst")  # same endpoint: server-side copy
        self.big_sources(self.src, sb)
        self.src.put_object(Bucket=db, Key="keep", Body=b"only on the destination")
        proxy = SlowPartCopyProxy(self.sto2.endpoint)
        conf = self.flaky_conf(self.sto2, proxy)
        rng = random.Random(12)
        try:
            for it in range(8):
                proxy.clear()
                p = subprocess.Popen([BIN, "--config", conf, "sync", "flaky:" + sb, "flaky:" + db,
                                      "-vv", "--no-lock", "--multipart-concurrency",
                                      # 1: the part in flight at the stop is the last one
                                      "1" if it % 2 == 0 else "3"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                t0 = time.time()
                while proxy.count("PUT", "partNumber") < 1 and time.time() - t0 < 30 \
                        and p.poll() is None:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.8))
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=60)
                msg = "iteration %d\n%s" % (it, "\n".join(
                    line for line in err.splitlines() if "DEBUG" not in line or "Multipart" in line)[-4000:])
                self.assertEqual(p.returncode, 143, msg)
                self.assertNotIn("AddressSanitizer", err, msg)
                self.assertRegex(out, r"(?m)^sync flaky:.*errors \d+", msg)  # the summary
                self.assert_one_abort_per_upload(err, msg)
                self.assertEqual(self.uploads_left(self.src, db), [], msg)
                self.assertIn("keep", snapshot(self.src, db), msg)
                # the next iteration starts from a destination without the copied objects
                for k in list(snapshot(self.src, db)):
                    if k != "keep":
                        self.src.delete_object(Bucket=db, Key=k)
        finally:
            proxy.stop()

    def test_upload_part_copy_submit_fails(self):
        """An UploadPartCopy that cannot even be submitted (second of them, one part at a time):
        the upload is aborted once and the part tried again; no crash, nothing left."""
        sb = self.bucket(self.src, "subsrc")
        db = self.bucket(self.src, "subdst")
        put_multipart(self.src, sb, "big", body("big", 12 * MiB), 5 * MiB)
        p = self.s3m("sync", "sto2:" + sb, "sto2:" + db, "-vv", "--multipart-concurrency", "1",
                     env={"S3MIRROR_TEST_FAIL_SUBMIT": "UploadPartCopy:2"})
        self.assertNotIn("AddressSanitizer", p.stderr, p.stderr[-3000:])
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assert_one_abort_per_upload(p.stderr, p.stderr[-3000:], aborts=1)
        self.assertEqual(snapshot(self.src, sb, content=True), snapshot(self.src, db, content=True))
        self.assertEqual(self.uploads_left(self.src, db), [])

    # ---- defect 8: retries per part, one backoff, AIMD, cancel in backoff ----
    def test_failed_part_resent_alone(self):
        """503 on some parts of a streamed multipart copy: each failed part is sent again, the
        rest once; one multipart upload, never the whole object again."""
        sb = self.bucket(self.src, "rpsrc")
        db = self.bucket(self.dst, "rpdst")
        put_multipart(self.src, sb, "big", body("big", 40 * MiB), 5 * MiB)  # 8 parts
        proxy = Proxy(self.osl1.endpoint)
        conf = self.flaky_conf(self.osl1, proxy)
        try:
            rule = proxy.add("status", method="PUT", query="partNumber", share=0.3, times=3,
                             status=503, seed=5)
            p = self.s3m("sync", "sto2:" + sb, "flaky:" + db, "-v", conf=conf, timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            faults = min(rule.hits, 3)
            self.assertGreater(faults, 0)
            self.assertEqual(proxy.count("POST", "uploads"), 1, p.stderr[-3000:])  # one upload
            self.assertEqual(proxy.count("PUT", "partNumber"), 8 + faults, p.stderr[-3000:])
        finally:
            proxy.stop()
        self.assertEqual(snapshot(self.src, sb, content=True), snapshot(self.dst, db, content=True))
        self.assertEqual(self.uploads_left(self.dst, db), [])

    def test_retry_after_honoured_on_streamed_put(self):
        """A streamed single PUT answered 503 + Retry-After: 2 is sent again on its own, no
        sooner than 2 s later."""
        sb = self.bucket(self.src, "rasrc")
        db = self.bucket(self.dst, "radst")
        self.src.put_object(Bucket=sb, Key="one", Body=body("one", 300000))
        proxy = Proxy(self.osl1.endpoint)
        conf = self.flaky_conf(self.osl1, proxy)
        try:
            proxy.add("status", method="PUT", path="/one$", times=1, status=503, retry_after=2)
            t0 = time.time()
            p = self.s3m("sync", "sto2:" + sb, "flaky:" + db, "-v", conf=conf)
            elapsed = time.time() - t0
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            self.assertEqual(proxy.count("PUT"), 2)
            self.assertGreaterEqual(elapsed, 2.0, p.stderr[-3000:])
            self.assertLess(elapsed, 20)
        finally:
            proxy.stop()
        self.assertEqual(snapshot(self.src, sb, content=True), snapshot(self.dst, db, content=True))

    def test_slowdown_halves_concurrency(self):
        """SlowDown answers halve the destination's concurrency (logged, and in the -v stats);
        the copies all succeed."""
        sb = self.bucket(self.src, "sdsrc")
        db = self.bucket(self.dst, "sddst")
        keys = ["s%02d" % i for i in range(24)]
        self.put_many(self.src, sb, keys, body=lambda k: body(k, 50000))
        proxy = Proxy(self.osl1.endpoint)
        conf = self.flaky_conf(self.osl1, proxy)
        try:
            proxy.add("status", method="PUT", times=4, status=503, code="SlowDown")
            p = self.s3m("sync", "sto2:" + sb, "flaky:" + db, "-v", "--transfers", "16",
                         conf=conf)
        finally:
            proxy.stop()
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        m = re.search(r"concurrency lowered to (\d+)", p.stderr)
        self.assertTrue(m, p.stderr[-3000:])
        self.assertRegex(p.stderr, r"destination concurrency \w+ \(lowest \d+, lowered [1-9]")
        self.assertEqual(snapshot(self.src, sb, content=True), snapshot(self.dst, db, content=True))

    def test_sigterm_reaches_request_in_backoff(self):
        """Every destination listing answered 503 + Retry-After: 30: a SIGTERM during the wait
        stops the run within 3 s, exit 143."""
        sb = self.bucket(self.src, "cbsrc")
        db = self.bucket(self.dst, "cbdst")
        self.src.put_object(Bucket=sb, Key="a", Body=b"a")
        proxy = Proxy(self.osl1.endpoint)
        conf = self.flaky_conf(self.osl1, proxy)
        try:
            proxy.add("status", method="GET", status=503, retry_after=30)
            p = subprocess.Popen([BIN, "--config", conf, "sync", "sto2:" + sb, "flaky:" + db,
                                  "-v", "--no-lock"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            t0 = time.time()
            while proxy.count("GET") < 1 and time.time() - t0 < 20:
                time.sleep(0.02)
            time.sleep(0.5)
            t1 = time.time()
            p.send_signal(signal.SIGTERM)
            try:
                out, err = p.communicate(timeout=40)
            finally:
                if p.poll() is None:
                    p.kill()
            stopped = time.time() - t1
            self.assertEqual(p.returncode, 143, err[-3000:])
            self.assertLess(stopped, 3.0, err[-3000:])
        finally:
            proxy.stop()
