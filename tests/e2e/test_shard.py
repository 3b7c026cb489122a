"""Parallel listing of key ranges and --shard INDEX/COUNT: the union of COUNT shard runs is one
full sync (same copies, same deletes, each key in exactly one shard), and a failed shard
deletes nothing."""
import json
import os
import subprocess

from e2e import BIN, conf_with, for_each_kind, snapshot, unique
from faultproxy import Proxy


@for_each_kind
class ShardTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "ssrc")
        self.db = self.bucket(self.dst, "sdst")
        keys = ["%s/obj-%02d" % (p, i) for p in ("alpha", "beta", "gamma", "delta", "eps", "zeta")
                for i in range(12)] + ["top-%d" % i for i in range(5)] + ["beta/deep/x", "é/utf8"]
        self.put_many(self.src, self.sb, keys)
        # the destination: some already there, some stale, some extra in every range
        self.put_many(self.dst, self.db, keys[::3])
        self.put_many(self.dst, self.db, keys[1::7], body=lambda k: b"stale " + k.encode())
        self.extra = ["alpha/zz-extra", "delta/zz-extra", "zeta/zz-extra", "top-9", "zzz"]
        self.put_many(self.dst, self.db, self.extra)

    def plan(self, *extra):
        path = os.path.join(self.tmp, unique("plan.jsonl"))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run", "--plan", path,
                 "--max-keys", "7", *extra, check=0)
        with open(path) as f:
            return [(d["action"], d["key"]) for d in list(map(json.loads, f))[1:-1]]

    def assert_mirrored(self):
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.src, self.sb, content=True))

    def test_parallel_listing_decides_the_same(self):
        one = self.plan("--list-concurrency", "1")
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run", "-v",
                     "--list-concurrency", "4", "--max-keys", "7", check=0)
        self.assertIn("listing 4 key ranges at once", p.stderr)
        many = self.plan("--list-concurrency", "4")
        self.assertEqual(one, many)  # the same decisions, reported in the same (key) order
        out1 = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run",
                        "--list-concurrency", "1", check=0).stdout.splitlines()[:-1]
        out4 = p.stdout.splitlines()[:-1]
        self.assertEqual(out1, out4)
        self.assertGreater(len(out4), 50)
        self.assertEqual(len(set(many)), len(many))  # no key twice
        self.assertEqual(sorted(k for a, k in one if a == "delete"), sorted(self.extra))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--list-concurrency", "4",
                 "--max-keys", "7", check=0)
        self.assert_mirrored()

    def shards_union(self, count, *plan_args):
        full = self.plan("--list-concurrency", "1")
        parts = [self.plan("--shard", "%d/%d" % (i, count), *plan_args) for i in range(count)]
        seen = [x for part in parts for x in part]
        self.assertEqual(len(seen), len(set(seen)), "a key in two shards")
        self.assertEqual(sorted(seen), sorted(full))
        self.assertGreater(sum(1 for part in parts if part), 1)  # really split
        # the shards run at once, as an Indexed Job's pods would
        procs = [subprocess.Popen([BIN, "--config", self.conf, "sync", "sto2:" + self.sb,
                                   "osl1:" + self.db, "--shard", "%d/%d" % (i, count),
                                   "--max-keys", "7"] + list(plan_args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(count)]
        for pr in procs:
            out, err = pr.communicate(timeout=120)
            self.assertEqual(pr.returncode, 0, err)
        self.assert_mirrored()

    def test_shards_by_key_ranges(self):
        planf = os.path.join(self.tmp, unique("shards.txt"))
        p = self.s3m("shard-plan", "sto2:" + self.sb, "3", "--output", planf, check=0)
        self.assertIn("79 keys in 3 shards", p.stderr)
        lines = [l for l in open(planf) if not l.startswith("#")]
        self.assertEqual(len(lines), 2)
        self.shards_union(3, "--shard-boundaries", planf)
        # the plan without --shard: its ranges listed at once in one run, same decisions
        self.src.put_object(Bucket=self.sb, Key="gamma/new", Body=b"n")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--shard-boundaries", planf, check=0)
        self.assert_mirrored()

    def test_shards_by_hash(self):
        self.shards_union(4)

    def test_failed_shard_deletes_nothing(self):
        planf = os.path.join(self.tmp, unique("shards.txt"))
        self.s3m("shard-plan", "sto2:" + self.sb, "2", "-o", planf, check=0)
        proxy = Proxy(self.osl1.endpoint)
        try:
            conf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                             "secret_access_key = %s\nendpoint = %s\n\n" % (
                                 self.osl1.access_key, self.osl1.secret_key, proxy.endpoint))
            proxy.add("status", method="GET", query="list-type=2", status=500)
            p = self.s3m("sync", "sto2:" + self.sb, "flaky:" + self.db, "--shard", "0/2",
                         "--shard-boundaries", planf, "--low-level-retries", "1", conf=conf)
        finally:
            proxy.stop()
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("listing failed, nothing deleted", p.stderr)
        metrics = os.path.join(self.tmp, unique("shard.prom"))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--shard", "1/2",
                 "--shard-boundaries", planf, "--metrics-file", metrics, check=0)
        self.assertIn('s3mirror_last_run_exit_code{src="sto2:%s",dst="osl1:%s",shard="1/2"} 0' % (
            self.sb, self.db), open(metrics).read())
        got = snapshot(self.dst, self.db)
        self.assertIn("alpha/zz-extra", got)  # shard 0 failed: its extra key stays
        self.assertNotIn("zzz", got)          # shard 1 did its deletes

    def test_stale_upload_sweep_keeps_to_its_own_keys(self):
        """A shard aborts only leftover uploads of its own keys: another shard's upload may be
        live, and an excluded key's upload belongs to somebody else."""
        import time
        planf = os.path.join(self.tmp, unique("shards.txt"))
        self.s3m("shard-plan", "sto2:" + self.sb, "2", "-o", planf, check=0)
        (boundary,) = [l.strip() for l in open(planf) if not l.startswith("#")]
        self.assertTrue("alpha/" < boundary < "zeta/")
        for k in ("alpha/zz-upload", "zeta/zz-upload", "alpha/skip.tmp"):
            self.dst.create_multipart_upload(Bucket=self.db, Key=k)
        uploads = lambda: sorted(u["Key"] for u in
                                 self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []))
        time.sleep(1.2)  # initiated before the runs start
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--shard", "0/2",
                     "--shard-boundaries", planf, "--exclude", "*.tmp", check=0)
        self.assertIn("aborted 1 multipart upload(s)", p.stdout)
        self.assertEqual(uploads(), ["alpha/skip.tmp", "zeta/zz-upload"])
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--shard", "1/2",
                 "--shard-boundaries", planf, "--exclude", "*.tmp", check=0)
        self.assertEqual(uploads(), ["alpha/skip.tmp"])

    def test_bad_shard_arguments(self):
        planf = os.path.join(self.tmp, unique("shards.txt"))
        self.s3m("shard-plan", "sto2:" + self.sb, "2", "-o", planf, check=0)
        for extra, want in ((["--shard", "2/2"], "INDEX/COUNT"), (["--shard", "a/b"], "INDEX/COUNT"),
                            (["--shard", "$(SHARD_INDEX)/4"], "INDEX/COUNT"),
                            (["--shard", "0/3", "--shard-boundaries", planf], "boundaries of 2 shards"),
                            (["--shard-boundaries", "/nonexistent"], "cannot read")):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, *extra, check=1)
            self.assertIn(want, p.stderr)
        self.s3m("shard-plan", "sto2:" + self.sb, "0", check=1)
