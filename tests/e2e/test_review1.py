"""Hostile review of the deletion and safety paths (review1): each test is a reproduction of a
defect found by the review and FAILS on the code it was written against. Checked with boto3."""
from e2e import for_each_kind, snapshot
from test_sync import body


@for_each_kind
class Review1Test:
    def setUp(self):
        self.sb = self.bucket(self.src, "r1src")
        self.db = self.bucket(self.dst, "r1dst")

    def test_max_delete_percent_counts_own_shard_keys(self):
        """--shard by hash: each shard "applies the safety rules to its own keys" (man page), but
        the percentage of --max-delete is taken of every destination key the shard listed, the
        other shards' (excluded) keys included. Shard 0 of 4 deletes all of its ~10 keys (100% of
        its own keys, 25% of the bucket) under --max-delete 30%; four shards run in parallel (the
        Kubernetes Indexed Job) delete ~97% of the destination under a 30% cap."""
        keys = ["k%03d" % i for i in range(40)]
        self.put_many(self.src, self.sb, ["k000"], body=body)
        self.put_many(self.dst, self.db, keys, body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--max-delete", "30%",
                     "--shard", "0/4", "--no-lock")
        self.assertEqual(len(snapshot(self.dst, self.db)), 40, p.stdout + p.stderr)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_max_delete_percent_ignores_excluded_keys(self):
        """--include '*.db': the mirror is the 10 .db keys; 9 of them (90%) go under
        --max-delete 50% because the 90 excluded .log keys count in the percentage's base.
        (Same root as the shard case: excluded keys are counted as destination objects.)"""
        self.put_many(self.src, self.sb, ["a.db"], body=body)
        dst_keys = (["a.db"] + ["d%02d.db" % i for i in range(9)] +
                    ["l%02d.log" % i for i in range(90)])
        self.put_many(self.dst, self.db, dst_keys, body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--include", "*.db",
                     "--max-delete", "50%", "--no-lock")
        self.assertEqual(len(snapshot(self.dst, self.db)), 100, p.stdout + p.stderr)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
