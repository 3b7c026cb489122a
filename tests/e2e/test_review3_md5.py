"""Review of the md5 branch (hostile). A plain source ETag that IS the MD5 of the object, but
reads that return the same wrong bytes two or three times in a row (bit rot, a caching
middlebox, a bad link): the "ETag is no MD5" path (two reads agree) stores them, exit 0, and
overwrites the destination's good copy. Before the md5 branch a server that checks Content-MD5
(radosgw, AWS) refused them (BadDigest) and the run failed, keeping the good copy; moto ignores
Content-MD5 (it stores what it is sent and answers its MD5), so there the old binary stored them
too. Fixed: without the source's own word that its ETag is no MD5 (SSE-KMS, SSE-C), bytes that do
not hash to the source ETag are an integrity failure on every read, never stored as good."""
import hashlib
import random

from e2e import for_each_kind, proxied_conf
from faultproxy import Proxy

MiB = 1024 * 1024


def flip(data):
    k = len(data) // 2
    return data[:k] + bytes([data[k] ^ 1]) + data[k + 1:] if data else data


@for_each_kind
class Review3Md5Test:
    def setUp(self):
        self.sb = self.bucket(self.src, "r3src")
        self.db = self.bucket(self.dst, "r3dst")
        self.proxy = Proxy(self.sto2.endpoint)
        self.proxy.keys = (self.sto2.access_key, self.sto2.secret_key)
        self.addCleanup(self.proxy.stop)

    def sync(self, *extra, check=None):
        conf = proxied_conf(self.conf, "flaky", self.sto2, self.proxy.endpoint)
        return self.s3m("sync", "flaky:" + self.sb, "osl1:" + self.db, "--log-level", "info",
                        *extra, check=check, conf=conf)

    def skip_on_moto(self):
        if self.kind == "moto":
            self.skipTest("moto ignores Content-MD5: it stores a PUT's bytes before anyone can "
                          "check them (the run still fails: the stored ETag is not the source's)")

    def test_same_flip_on_every_read_of_a_plain_etag_source_is_never_stored(self):
        self.skip_on_moto()
        data = random.Random(3).randbytes(MiB + 7)
        self.src.put_object(Bucket=self.sb, Key="rot", Body=data)
        self.proxy.add("listing", method="GET", path="/rot$", edit=flip)  # every read
        p = self.sync("--retries", "2")
        keys = [o["Key"] for o in self.dst.list_objects_v2(Bucket=self.db).get("Contents", [])]
        if keys:
            got = self.dst.get_object(Bucket=self.db, Key="rot")["Body"].read()
            self.assertTrue(got == data, "corrupted bytes stored (exit %d)\n%s" % (
                p.returncode, p.stderr[-2500:]))
        self.assertNotEqual(p.returncode, 0, p.stderr[-3000:])

    def test_same_flip_on_every_read_keeps_the_destinations_good_copy(self):
        """The destination holds an older good copy (other size); the source's new version reads
        corrupted every time: the good copy must stay."""
        self.skip_on_moto()
        old = random.Random(4).randbytes(1000)
        self.dst.put_object(Bucket=self.db, Key="rot", Body=old)
        data = random.Random(3).randbytes(MiB + 7)
        self.src.put_object(Bucket=self.sb, Key="rot", Body=data)
        self.proxy.add("listing", method="GET", path="/rot$", edit=flip)
        p = self.sync("--retries", "2")
        got = self.dst.get_object(Bucket=self.db, Key="rot")["Body"].read()
        self.assertTrue(got in (old, data), "destination overwritten with corrupted bytes (exit %d)\n%s"
                      % (p.returncode, p.stderr[-2500:]))
        self.assertNotEqual(p.returncode, 0, p.stderr[-3000:])

    def test_three_reads_with_the_same_flip_then_good_ones(self):
        """A transient fault (a caching middlebox, a bad link) that returns the same wrong bytes
        for three reads in a row, then the right ones: the run may fail or land the source's
        bytes, never store the wrong ones."""
        data = random.Random(4).randbytes(MiB + 9)
        self.src.put_object(Bucket=self.sb, Key="t", Body=data)
        self.proxy.add("listing", method="GET", path="/t$", times=3, edit=flip)
        p = self.sync()
        self.check_never_corrupt("t", data, p)

    def test_two_no_md5_objects_then_two_reads_with_the_same_flip(self):
        """After two objects of the job whose ETags are no MD5, an honest object whose first two
        reads carry the same flipped byte: never stored wrong."""
        for i in range(2):
            d = random.Random(10 + i).randbytes(MiB + i)
            real = self.src.put_object(Bucket=self.sb, Key="a%d" % i, Body=d)["ETag"].strip('"')
            self.proxy.etag_alias[real] = hashlib.md5(b"not " + d).hexdigest()
        data = random.Random(5).randbytes(MiB + 11)
        self.src.put_object(Bucket=self.sb, Key="z", Body=data)
        self.proxy.add("listing", method="GET", path="/z$", times=2, edit=flip)
        p = self.sync("--transfers", "1")
        self.check_never_corrupt("z", data, p)

    def check_never_corrupt(self, key, data, p):
        try:
            got = self.dst.get_object(Bucket=self.db, Key=key)["Body"].read()
        except self.dst.exceptions.NoSuchKey:
            self.assertNotEqual(p.returncode, 0, p.stderr[-3000:])
            return
        self.assertTrue(got == data, "wrong bytes stored (MD5 %s, source %s), exit %d\n%s" % (
            hashlib.md5(got).hexdigest(), hashlib.md5(data).hexdigest(), p.returncode,
            p.stderr[-2500:]))
