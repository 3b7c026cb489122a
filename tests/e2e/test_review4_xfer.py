"""Review 4 of the single-part integrity state machine (xfer.c, commit 4025031), hostile.

1. The source's word that its ETag is no MD5 (SSE-KMS / SSE-C) is taken from each read's reply
   (x->sse), but the read that is finally stored (C_REREAD) is accepted without looking at it:
   one reply that says SSE-KMS is enough for later replies that do not say it to be stored
   "as two reads agree", although their bytes do not hash to the plain source ETag.
   Fixed: the stored read's own reply must say it."""
import hashlib
import random

from e2e import for_each_kind, proxied_conf
from faultproxy import Proxy

MiB = 1024 * 1024


def flip(data):
    k = len(data) // 2
    return data[:k] + bytes([data[k] ^ 1]) + data[k + 1:] if data else data


@for_each_kind
class Review4XferTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "r4src")
        self.db = self.bucket(self.dst, "r4dst")
        self.proxy = Proxy(self.sto2.endpoint)
        self.proxy.keys = (self.sto2.access_key, self.sto2.secret_key)
        self.addCleanup(self.proxy.stop)

    def sync(self, *extra, check=None):
        conf = proxied_conf(self.conf, "flaky", self.sto2, self.proxy.endpoint)
        return self.s3m("sync", "flaky:" + self.sb, "osl1:" + self.db, "--log-level", "info",
                        *extra, check=check, conf=conf)

    def test_sse_said_by_the_first_read_only_does_not_vouch_for_the_later_ones(self):
        """A plain-ETag object (its ETag IS its MD5); every read carries the same flipped byte;
        only the first reply says SSE-KMS. The bytes stored come from a read whose reply does
        not say its ETag is no MD5: they must be an integrity error, not stored with exit 0."""
        data = random.Random(41).randbytes(MiB + 5)
        self.src.put_object(Bucket=self.sb, Key="k", Body=data)
        self.proxy.add("listing", method="GET", path="/k$", times=1, edit=flip,
                       set_headers={"x-amz-server-side-encryption": "aws:kms"})
        self.proxy.add("listing", method="GET", path="/k$", edit=flip)
        p = self.sync("--retries", "2")
        try:
            got = self.dst.get_object(Bucket=self.db, Key="k")["Body"].read()
        except self.dst.exceptions.NoSuchKey:
            got = None
        if got is not None and got != data:
            self.assertNotEqual(p.returncode, 0, "bytes with MD5 %s stored for plain ETag %s, "
                                "exit 0\n%s" % (hashlib.md5(got).hexdigest(),
                                                hashlib.md5(data).hexdigest(), p.stderr[-2500:]))
        self.assertNotEqual(p.returncode, 0, p.stderr[-2500:])

