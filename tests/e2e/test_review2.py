"""Hostile review (review2): defects found in the transfer engine and the client, each as a test
that fails on the code as merged. Checked with boto3."""
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
