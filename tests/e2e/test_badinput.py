"""Bad input: each case gives a one-line error naming what is wrong, its documented exit code,
no change on the destination and no secret in any output."""
import os
import socket
import ssl
import subprocess
import threading
import time

from e2e import BIN, ROOT, conf_with, for_each_kind, s3servers, snapshot, unique


def tls_server(tmp, name):
    """An HTTPS listener on 127.0.0.1 whose self-signed certificate is for `name`."""
    key, crt = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".crt")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "2", "-subj", "/CN=" + name,
                        "-addext", "subjectAltName=DNS:" + name], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve():
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(c, server_side=True) as s:
                    s.recv(1024)
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except (ssl.SSLError, OSError):
                pass
    threading.Thread(target=serve, daemon=True).start()
    return sock, crt


@for_each_kind
class BadInputTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "bsrc")
        self.db = self.bucket(self.dst, "bdst")
        self.put_many(self.src, self.sb, ["a", "b/c"])
        self.put_many(self.dst, self.db, ["old"])
        self.before = snapshot(self.dst, self.db, content=True)
        self.secrets = [self.sto2.secret_key, self.osl1.secret_key, "WRONG" + self.sto2.secret_key[5:]]

    def bad(self, code, want, *args, conf=None, env=None, lines=1):
        p = self.s3m(*args, conf=conf, env=env, timeout=120)
        self.assertEqual(p.returncode, code, "%s\n%s%s" % (args, p.stdout, p.stderr))
        errs = [l for l in p.stderr.splitlines() if l.startswith("s3mirror: error: ")]
        self.assertEqual(len(errs), lines, p.stderr)
        self.assertRegex(errs[0], want)
        self.assertLess(len(p.stderr.splitlines()), 6, p.stderr)  # short, not a dump
        for s in self.secrets + [v for v in (env or {}).values()]:
            self.assertNotIn(s, p.stdout + p.stderr)
        self.assertEqual(snapshot(self.dst, self.db, content=True), self.before)
        return p

    def sync_to(self, src, dst=None, *extra, **kw):
        return ("sync", src, dst or "osl1:" + self.db) + extra

    def test_wrong_secret(self):
        if self.kind == "moto":
            self.skipTest("moto does not verify signatures")
        self.bad(7, r"sto2bad.*SignatureDoesNotMatch", *self.sync_to("sto2bad:" + self.sb))

    def test_unknown_remote(self):
        self.bad(1, r"no remote 'nope'", *self.sync_to("nope:" + self.sb))

    def test_missing_source_bucket(self):
        self.bad(3, r"NoSuchBucket", *self.sync_to("sto2:" + unique("absent")))

    def test_missing_destination_bucket(self):
        missing = unique("absent")  # created, as rclone does (test_safety covers the details)
        self.s3m(*self.sync_to("sto2:" + self.sb, "osl1:" + missing), check=0)
        self.assertIn(missing, [b["Name"] for b in self.dst.list_buckets()["Buckets"]])

    def test_malformed_config(self):
        path = os.path.join(self.tmp, unique("broken.conf"))
        with open(path, "w") as f:
            f.write("[sto2\ntype = s3\n")
        self.bad(1, r"broken\.conf:1", *self.sync_to("sto2:" + self.sb), conf=path)
        with open(path, "w") as f:
            f.write("[sto2]\ntype = s3\nthis line has no equals sign\n")
        self.bad(1, r"broken\.conf:3", *self.sync_to("sto2:" + self.sb), conf=path)

    def test_unset_variable(self):
        conf = conf_with(self.conf, "[envr]\ntype = s3\naccess_key_id = X\n"
                         "secret_access_key = ${S3M_UNSET_SECRET_VAR}\nendpoint = %s\n\n" % self.sto2.endpoint)
        self.bad(1, r"S3M_UNSET_SECRET_VAR", *self.sync_to("envr:" + self.sb), conf=conf,
                 env={"S3M_UNSET_SECRET_VAR": ""} and None)

    def test_connection_refused(self):
        self.bad(5, r"remote down|down:|onnect", *self.sync_to("down:xyz"), "--low-level-retries", "1")

    def test_dns_name_that_does_not_resolve(self):
        conf = conf_with(self.conf, "[nodns]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                         "endpoint = http://no-such-host.invalid:9000\n\n")
        self.bad(5, r"resolve", *self.sync_to("nodns:xyz"), "--low-level-retries", "1", conf=conf)

    def test_tls_unknown_ca_and_name_mismatch(self):
        sock, crt = tls_server(self.tmp, "wrong.example")
        try:
            port = sock.getsockname()[1]
            conf = conf_with(self.conf, "[tls]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                             "endpoint = https://127.0.0.1:%d\n\n" % port)
            self.bad(7, r"TLS|certificate", *self.sync_to("tls:xyz"), conf=conf)
            # trusted CA, but the certificate names another host
            self.bad(7, r"TLS|certificate|name", *self.sync_to("tls:xyz"), "--ca-file", crt, conf=conf)
        finally:
            sock.close()

    def test_bad_flag_values(self):
        src = "sto2:" + self.sb
        for extra, want in ((["--transfers", "many"], r"--transfers"),
                            (["--max-delete", "lots"], r"--max-delete"),
                            (["--compare", "md5sum"], r"--compare"),
                            (["--min-size", "10q"], r"--min-size"),
                            (["--max-age", "yesterday"], r"--max-age"),
                            (["--multipart-chunk-size", "1k"], r"--multipart-chunk-size"),
                            (["--log-level", "loud"], r"--log-level"),
                            (["--log-format", "xml"], r"--log-format"),
                            (["--stats", "often"], r"--stats"),
                            (["--include", "[unclosed"], r"glob"),
                            (["--no-such-flag"], r"unknown option")):
            self.bad(1, want, *self.sync_to(src), *extra)

    def test_same_place_or_inside(self):
        self.bad(1, r"refusing", "sync", "sto2:" + self.sb, "sto2:" + self.sb)
        self.bad(1, r"refusing", "sync", "sto2:" + self.sb, "sto2:" + self.sb + "/sub")
        self.bad(1, r"refusing", "sync", "sto2:" + self.sb + "/sub", "sto2:" + self.sb)

    def test_1024_byte_keys(self):
        long_key = ("k/" + "x" * 1100)[:1024]
        utf8_key = "é" * 512  # 1024 bytes of UTF-8
        for k in (long_key, utf8_key):
            self.src.put_object(Bucket=self.sb, Key=k, Body=b"long")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(got, snapshot(self.src, self.sb, content=True))
        self.assertIn(long_key, got)
        self.assertIn(utf8_key, got)
        self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, check=0)


class HugeListingTest(__import__("unittest").TestCase):
    """Listings too big for a real server in a test's time, from the bench's synthetic listing
    endpoint (bench/listsrv: flat keys "keyNNNNNNNNNN", real paging, nothing stored)."""

    def listsrv_pair(self, nkeys, names):
        """Start one listsrv per remote name; returns a config path (servers stop at cleanup)."""
        srv = os.path.join(ROOT, "build", "bench", "listsrv")
        if not os.access(srv, os.X_OK):
            self.skipTest("build/bench/listsrv not built")
        tmp = __import__("tempfile").mkdtemp()
        conf = os.path.join(tmp, "listsrv.conf")
        with open(conf, "w") as f:
            for name in names:
                port = s3servers.free_port()
                pr = subprocess.Popen([srv, str(port), str(nkeys)])
                self.addCleanup(lambda pr=pr: (pr.kill(), pr.wait()))
                s3servers.wait_port(port, 10, pr)
                f.write("[%s]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                        "endpoint = http://127.0.0.1:%d\n\n" % (name, port))
        return conf, tmp

    def test_million_keys_one_prefix(self):
        """The no-change check of 1M keys under one prefix completes, counts every key, and
        stays in bounded memory."""
        conf, _ = self.listsrv_pair(1000000, ("hsrc", "hdst"))
        t0 = time.time()
        p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M", BIN, "--config", conf,
                            "check", "hsrc:huge", "hdst:huge"], capture_output=True,
                           text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertIn("1000000 identical", p.stdout)
        rss = int(p.stderr.rsplit("maxrss_kib=", 1)[1].split()[0])
        if "asan" not in BIN and "valgrind" not in BIN:  # sanitizers keep freed memory
            self.assertLess(rss, 64 * 1024, "max RSS %d KiB for a 1M-key listing" % rss)
        print("\n[huge] 1M keys: %.1f s, max RSS %.1f MiB" % (time.time() - t0, rss / 1024.0))

    def test_flat_keyspace_ranges_learned_by_the_first_run(self):
        """No '/' to split at: the first run lists one range and leaves boundaries in the cache
        directory; the second lists 8 ranges at once and decides the same."""
        conf, tmp = self.listsrv_pair(30000, ("fsrc", "fdst"))
        env = dict(os.environ, S3MIRROR_CACHE_DIR=os.path.join(tmp, "cache"))
        os.mkdir(env["S3MIRROR_CACHE_DIR"])
        runs = [subprocess.run([BIN, "--config", conf, "check", "fsrc:flat", "fdst:flat", "-v"],
                               capture_output=True, text=True, timeout=300, env=env)
                for _ in range(2)]
        for p in runs:
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            self.assertIn("30000 identical", p.stdout)
        self.assertNotIn("key ranges at once", runs[0].stderr)
        self.assertIn("7 key range boundaries learned for the next run", runs[0].stderr)
        self.assertIn("listing 8 key ranges at once", runs[1].stderr)
        (cached,) = os.listdir(env["S3MIRROR_CACHE_DIR"])
        lines = [l for l in open(os.path.join(env["S3MIRROR_CACHE_DIR"], cached))
                 if not l.startswith("#")]
        self.assertEqual(len(lines), 7)
        # about equal parts: boundary i near key 30000 * i / 8
        for i, l in enumerate(lines, 1):
            self.assertAlmostEqual(int(l.strip()[3:]), 30000 * i / 8, delta=600)
