"""Network and protocol fixes (fixnet): listings whose echoed request fields do not decode.
Checked with boto3."""
from e2e import for_each_kind, snapshot
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
