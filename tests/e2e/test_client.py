"""The S3 client through `ls` and `lsd`, checked against boto3: paging, tricky keys, prefixes,
and clear errors (wrong secret, unknown bucket/remote, unreachable endpoint, TLS)."""
import os
import re
import socket
import ssl
import subprocess
import threading

from e2e import for_each_kind, s3servers, unique

TRICKY = [
    "sp ace.txt", "a+b", "100%", "50%25done", "~tilde", "eq=ual", "amp&er", "q?mark",
    "hash#tag", "\u00f1/\u65e5\u672c\u8a9e.txt", "emoji\U0001F600", "a//b", "/leading",
    "trailing/", "trailing ", "a/../b", "./x/./y", "semi;colon", "quote\"s'", "back\\slash",
    "caret^pipe|", "{braces}[]", "`tick`", "@at:colon,", "star*", "(paren)!", "$dollar",
    "deep/" + "/".join("d%d" % i for i in range(20)) + "/f",
]


@for_each_kind
class ListingTest:
    def check_listing(self, bucket, prefix=""):
        want = s3servers.list_all(self.src, bucket, prefix)
        spec = "sto2:%s/%s" % (bucket, prefix) if prefix else "sto2:" + bucket
        got = [(o["key"], o["size"], o["etag"]) for o in self.ls_json(spec)]
        self.assertEqual(got, want)
        return got

    def test_counts_and_paging(self):
        for n in (0, 1, 999, 1000, 1001, 2500):
            b = self.bucket(self.src, "n%d" % n)
            self.put_many(self.src, b, ["k%05d" % i for i in range(n)])
            got = self.check_listing(b)
            self.assertEqual(len(got), n)
            if n == 1001:  # small pages exercise the read-ahead paging
                small = self.ls_json("sto2:" + b, "--max-keys", "7")
                self.assertEqual([o["key"] for o in small], [k for k, _, _ in got])

    def test_tricky_keys(self):
        b = self.bucket(self.src, "tricky")
        self.put_many(self.src, b, TRICKY)
        got = self.check_listing(b)
        self.assertEqual(sorted(k for k, _, _ in got), sorted(TRICKY))

    def test_prefix_and_zero_byte(self):
        b = self.bucket(self.src, "prefix")
        keys = ["a/1", "a/2", "a/b/3", "ab", "b/1", "empty"]
        self.put_many(self.src, b, keys, body=lambda k: b"" if k == "empty" else k.encode())
        self.assertEqual([k for k, _, _ in self.check_listing(b, "a/")], ["a/1", "a/2", "a/b/3"])
        # a path names a folder: "a" is "a/", never "ab"
        self.assertEqual([o["key"] for o in self.ls_json("sto2:%s/a" % b)], ["a/1", "a/2", "a/b/3"])
        objs = {o["key"]: o for o in self.ls_json("sto2:" + b)}
        self.assertEqual(objs["empty"]["size"], 0)
        self.assertEqual(objs["empty"]["etag"], "d41d8cd98f00b204e9800998ecf8427e")

    def test_lsd(self):
        b = self.bucket(self.src, "lsd")
        p = self.s3m("lsd", "sto2:", check=0)
        names = [line.split()[-1] for line in p.stdout.splitlines()]
        self.assertIn(b, names)
        want = [x["Name"] for x in self.src.list_buckets()["Buckets"]]
        self.assertEqual(sorted(names), sorted(want))

    def test_unknown_bucket(self):
        p = self.s3m("ls", "sto2:no-such-bucket-here", check=3)
        self.assertRegex(p.stderr, r"^s3mirror: error: remote sto2: listing bucket "
                                   r"no-such-bucket-here: NoSuchBucket \(HTTP 404\)")
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_unknown_remote(self):
        p = self.s3m("ls", "nowhere:bucket", check=1)
        self.assertIn("no remote 'nowhere'", p.stderr)

    def test_unreachable_endpoint(self):
        p = self.s3m("lsd", "down:", "--low-level-retries", "2", check=5)
        self.assertRegex(p.stderr, r"remote down: listing buckets: .*(onnect|refused)")

    def test_wrong_secret(self):
        p = self.s3m("lsd", "sto2bad:")
        if self.kind == "moto":  # moto does not verify signatures: nothing to refuse
            return
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertIn("remote sto2bad", p.stderr)
        self.assertIn("SignatureDoesNotMatch", p.stderr)
        self.assertNotIn(self.sto2.secret_key[5:], p.stderr + p.stdout)




import unittest  # noqa: E402  (the TLS test needs no S3 server)


class TLSFailureTest(unittest.TestCase):
    """An HTTPS endpoint with a self-signed certificate: refused by default (exit 7),
    accepted with no_check_certificate (then the fake server's 403 is reported)."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="s3m-tls-")
        key, crt = os.path.join(cls.tmp, "k.pem"), os.path.join(cls.tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        cls.sock = socket.socket()
        cls.sock.bind(("127.0.0.1", 0))
        cls.sock.listen(8)
        cls.port = cls.sock.getsockname()[1]
        cls.stop = False

        def serve():
            while not cls.stop:
                try:
                    c, _ = cls.sock.accept()
                except OSError:
                    return
                try:
                    with ctx.wrap_socket(c, server_side=True) as s:
                        s.recv(65536)
                        body = b"<Error><Code>AccessDenied</Code><Message>fake</Message></Error>"
                        s.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n"
                                  b"Connection: close\r\n\r\n%s" % (len(body), body))
                except (ssl.SSLError, OSError):
                    pass
        cls.thread = threading.Thread(target=serve, daemon=True)
        cls.thread.start()
        cls.conf = os.path.join(cls.tmp, "rclone.conf")
        with open(cls.conf, "w") as f:
            for name, nocheck in (("tls", "false"), ("tlsno", "true")):
                f.write("[%s]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                        "endpoint = https://127.0.0.1:%d\nno_check_certificate = %s\n\n"
                        % (name, cls.port, nocheck))

    @classmethod
    def tearDownClass(cls):
        cls.stop = True
        cls.sock.close()

    def run_s3m(self, *args):
        from e2e import BIN
        return subprocess.run([BIN, "--config", self.conf] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_self_signed_refused(self):
        p = self.run_s3m("lsd", "tls:")
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertTrue(re.search(r"remote tls: listing buckets: .*(certificate|SSL)", p.stderr),
                        p.stderr)

    def test_no_check_certificate(self):
        p = self.run_s3m("lsd", "tlsno:")
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertIn("not checked", p.stderr)   # the warning
        self.assertIn("AccessDenied (HTTP 403): fake", p.stderr)
