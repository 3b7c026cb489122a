"""sync over HTTPS: each site behind an nginx TLS front (tests/harness/tlsfront.py) with a CA the
test makes. With --ca-file the run works (checked with boto3 through the fronts, verifying the
same CA) and reuses its connections and TLS sessions; without the CA, or with another CA, it
stops with a certificate error, exit 7 (man page: TLS failure), and deletes nothing.
The config file has no CA key (rclone's has none either: its --ca-cert is a flag), so --ca-file
is the one way in; its companion no_check_certificate is tested in test_client.py."""
import json
import os
import re

import tlsfront
from e2e import conf_with, for_each_kind, put_multipart, snapshot

MiB = 1024 * 1024
STATS = re.compile(r"(source|destination) connections (\d+); TLS handshakes (\d+) \((\d+) resumed\)")


def body(key, n=None):
    import hashlib
    seed = hashlib.sha256(key.encode()).digest()
    n = len(key) * 11 + 5 if n is None else n
    return (seed * (n // len(seed) + 1))[:n]


def conn_stats(stderr):
    """{"source"|"destination": (connections, handshakes, resumed)} from a -v run's stats lines"""
    return {m[0]: tuple(int(x) for x in m[1:]) for m in STATS.findall(stderr)}


@for_each_kind
class TLSTest:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca = tlsfront.make_ca(cls.tmp)
        cls.other_ca = tlsfront.make_ca(cls.tmp, "other")  # a valid CA, not the fronts' one
        cls.tsto2 = tlsfront.tls_site(cls.sto2, cls.tmp, cls.ca)
        cls.tosl1 = tlsfront.tls_site(cls.osl1, cls.tmp, cls.ca)
        cls.tsrc, cls.tdst = cls.tsto2.client(), cls.tosl1.client()
        cls.tconf = conf_with(cls.conf, cls.tsto2.remote_conf("tsto2") +
                              cls.tosl1.remote_conf("tosl1"))

    @classmethod
    def tearDownClass(cls):
        for s in ("tsto2", "tosl1"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def setUp(self):
        self.sb = self.bucket(self.tsrc, "tsrc")  # made through the fronts: they work for boto3
        self.db = self.bucket(self.tdst, "tdst")

    def sync(self, *extra, check=0, src=None):
        return self.s3m("sync", src or "tsto2:" + self.sb, "tosl1:" + self.db, "-v", *extra,
                        check=check, conf=self.tconf)

    def assert_mirrored(self, content=True):
        """the same keys, sizes, ETags (and bytes) on both sides, as boto3 reads them over TLS"""
        self.assertEqual(snapshot(self.tsrc, self.sb, content=content),
                         snapshot(self.tdst, self.db, content=content))

    def test_sync_with_ca_file_reuses_connections(self):
        keys = ["k%04d" % i for i in range(200)] + ["big/%d" % i for i in range(2)]
        self.put_many(self.tsrc, self.sb, keys,
                      body=lambda k: body(k, 2 * MiB) if k.startswith("big/") else body(k))
        self.put_many(self.tdst, self.db, ["only-on-dst/%d" % i for i in range(5)])
        offs = (self.tsto2.front.log_offset(), self.tosl1.front.log_offset())
        p = self.sync("--ca-file", self.ca.ca_file, "--transfers", "8")
        self.assertRegex(p.stdout, r"copied 202 .*deleted 5 .*errors 0")
        self.assert_mirrored(content=False)  # single-part: the servers' ETags are the MD5s
        st = conn_stats(p.stderr)
        self.assertEqual(set(st), {"source", "destination"}, p.stderr[-2000:])
        for side, (conns, hs, resumed) in st.items():
            # every connection over https is one TLS handshake, never more; the 202 objects
            # (about 200 requests on each side) travel on kept-alive connections
            self.assertGreaterEqual(conns, 1, side)
            self.assertEqual(hs, conns, (side, st))
            self.assertLessEqual(resumed, hs, side)
            self.assertLess(conns, 202 // 5, (side, st))
        # the connections opened after the first handshake resume its session (one share)
        self.assertGreater(sum(r for _, _, r in st.values()), 0, st)
        # and the servers saw the same: nginx's log of s3mirror's requests, per connection
        for side, site, off in (("source", self.tsto2, offs[0]),
                                ("destination", self.tosl1, offs[1])):
            seen = site.front.connections(off)
            self.assertEqual((len(seen), sum(1 for c in seen.values() if c[1])),
                             (st[side][0], st[side][2]), (side, seen))
        # nothing to do the second time, still over TLS; --json and the metrics file count the
        # connections and handshakes as the -v lines do, and as the servers saw them
        offs = (self.tsto2.front.log_offset(), self.tosl1.front.log_offset())
        prom = os.path.join(self.tmp, "tls-%s.prom" % self.db)
        p = self.sync("--ca-file", self.ca.ca_file, "--json", "--metrics-file", prom)
        out = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([o["type"] for o in out], ["summary", "stats"], p.stdout)
        self.assertEqual((out[0]["copy"]["objects"], out[0]["skip"]["objects"]), (0, 202))
        st = conn_stats(p.stderr)
        with open(prom) as f:
            metrics = f.read()
        for side, site, off in (("source", self.tsto2, offs[0]),
                                ("destination", self.tosl1, offs[1])):
            seen = site.front.connections(off)
            js = out[1][side]
            self.assertEqual((js["connections"], js["tls_handshakes"], js["tls_resumed"]),
                             st[side], (side, js, st))
            self.assertEqual((js["connections"], js["tls_resumed"]),
                             (len(seen), sum(1 for c in seen.values() if c[1])), (side, seen))
            self.assertGreaterEqual(js["connections"], 1)
            self.assertEqual(js["requests"].get("ListObjectsV2", 0) >= 1, True, js)
            for name, key in (("connections", "connections"), ("tls_handshakes", "tls_handshakes"),
                              ("tls_resumed", "tls_resumed")):
                self.assertRegex(metrics, r'(?m)^s3mirror_last_run_%s\{[^}]*endpoint="%s"\} %d$'
                                 % (name, side, js[key]))
            self.assertRegex(metrics, r'(?m)^s3mirror_last_run_requests\{[^}]*endpoint="%s"\} %d$'
                             % (side, sum(js["requests"].values())))

    def assert_refused(self, p, dst_before):
        self.assertEqual(p.returncode, 7, p.stderr[-2000:])  # man page: TLS failure is fatal, 7
        self.assertRegex(p.stderr, r"(?i)certificate")
        self.assertEqual(snapshot(self.tdst, self.db, content=True), dst_before)

    def test_without_or_with_another_ca_fails_and_deletes_nothing(self):
        self.put_many(self.tsrc, self.sb, ["a", "b", "c"])
        self.put_many(self.tdst, self.db, ["b", "only-on-dst", "x/y"],
                      body=lambda k: b"old " + k.encode())
        before = snapshot(self.tdst, self.db, content=True)
        self.assert_refused(self.sync(check=None), before)  # the system bundle: unknown issuer
        self.assert_refused(self.sync("--ca-file", self.other_ca.ca_file, check=None), before)
        # the source over plain HTTP is fine, the destination's certificate is not: its listing
        # fails, so nothing is copied and nothing deleted
        self.assert_refused(self.sync("--ca-file", self.other_ca.ca_file, check=None,
                                      src="sto2:" + self.sb), before)
        # and with the right CA the same run goes through
        self.sync("--ca-file", self.ca.ca_file)
        self.assert_mirrored()

    def test_large_multipart_over_tls(self):
        data = body("mp", 4 * 5 * MiB + 12345)  # 5 parts, the smallest S3 allows but the last
        put_multipart(self.tsrc, self.sb, "mp/obj", data, 5 * MiB)
        self.tsrc.put_object(Bucket=self.sb, Key="single", Body=data[:9 * MiB])
        p = self.sync("--ca-file", self.ca.ca_file)
        self.assertRegex(p.stdout, r"copied 2 .*errors 0")
        self.assert_mirrored()
        # the source's layout, part for part: the same composite ETag, of 5 parts
        etag = self.tdst.head_object(Bucket=self.db, Key="mp/obj")["ETag"].strip('"')
        self.assertTrue(etag.endswith("-5"), etag)
