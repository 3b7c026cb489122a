"""Network and protocol fixes (fixnet): a streamed PUT that curl must send again on a new
connection; listings whose echoed request fields do not decode. Checked with boto3."""
from e2e import conf_with, for_each_kind, snapshot
from faultproxy import Proxy
from test_sync import body


@for_each_kind
class FixnetTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "fnsrc")
        self.db = self.bucket(self.dst, "fndst")

    def test_folder_with_percent_split_in_ranges(self):
        """A folder named with '%' holding subfolders: the default --list-concurrency splits its
        listing into key ranges, each starting mid-listing (start-after "a%b/s1..."). moto echoes
        <StartAfter> unencoded under encoding-type=url; the echo was decoded (never used) and the
        listing failed with "bad percent-escape". Both syncs exit 0, the copy is exact."""
        keys = ["a%%b/s%d/k%02d" % (s, i) for s in range(6) for i in range(5)]
        keys += ["a%b/top", "a%b/s3/%zz", "a%b/s4/%25 + x"]
        self.put_many(self.src, self.sb, keys, body=body)
        self.put_many(self.dst, self.db, ["a%b/s2/old", "a%b/zz/old"], body=body)
        for _ in range(2):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--no-lock")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(snapshot(self.dst, self.db, content=True),
                             snapshot(self.src, self.sb, content=True))

    def proxied_dst(self, rules):
        proxy = Proxy(self.osl1.endpoint)
        for action, kw in rules:
            proxy.add(action, **kw)
        self.addCleanup(proxy.stop)
        self.proxy = proxy
        return conf_with(self.conf, "[pdst]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.osl1.access_key, self.osl1.secret_key, proxy.endpoint))

    def test_streamed_put_resent_after_connection_closed(self):
        """The server closes a kept-alive connection without answering a PUT (or UploadPart)
        whose body streams from the source GET: curl must send the body again and cannot rewind
        a stream (curl code 65, CURLE_SEND_FAIL_REWIND). That is a retryable failure of the
        object or of the part alone: its range is read from the source again and sent again,
        within the same multipart upload (it was a failure of the whole object: the upload
        aborted and made again from part 1); exit 0."""
        big = bytes(range(256)) * (45 * 1024)  # 11.25 MiB: three 5 MiB parts
        self.src.put_object(Bucket=self.sb, Key="big", Body=big)
        self.put_many(self.src, self.sb, ["small%d" % i for i in range(3)], body=body)
        self.put_many(self.dst, self.db, ["old"], body=body)
        conf = self.proxied_dst([
            ("stall", dict(method="PUT", path="/small1$", times=1, seconds=1)),
            ("stall", dict(method="PUT", path="/big$", query="partNumber=2", times=1,
                           seconds=1))])
        p = self.s3m("sync", "sto2:" + self.sb, "pdst:" + self.db, "--no-lock",
                     "--multipart-threshold", "5M", "--multipart-chunk-size", "5M",
                     "--transfers", "1", "--multipart-concurrency", "1", conf=conf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["big", "small0", "small1", "small2"])
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="big")["Body"].read(), big)
        self.assertEqual(self.proxy.count("PUT", "partNumber=2"), 2)
        self.assertEqual(self.proxy.count("PUT", "partNumber=1"), 1)
        self.assertEqual(self.proxy.count("POST", "^uploads"), 1)
        self.assertEqual(self.proxy.count("DELETE", "uploadId"), 0)
