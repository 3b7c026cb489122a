"""`s3mirror apply PLAN`: a dry run's plan applied exactly. Only the plan's copies, updates and
deletes run, each on the objects the plan saw (the same ETags); what changed since is skipped,
reported and logged, and the run exits 14. A plan whose checksum does not match (edited,
truncated) or that a real run wrote is refused with exit 1 and nothing done. The plan file's
format is checked here with Python's own JSON and SHA-256, the buckets with boto3."""
import hashlib
import json
import os
import re

from e2e import for_each_kind, proxied_conf, put_multipart, snapshot, unique
from faultproxy import Proxy, keep_buckets
from test_client import TRICKY
from test_sync import body


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


@for_each_kind
class ApplyTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "apsrc")
        self.db = self.bucket(self.dst, "apdst")

    def spec(self, side, bucket=None):
        return ("sto2:" if side == "src" else "osl1:") + (bucket or (self.sb if side == "src" else self.db))

    def dry_run(self, *extra, cmd="sync", src=None, dst=None, conf=None, check=0):
        path = os.path.join(self.tmp, unique("plan.jsonl"))
        self.s3m(cmd, src or self.spec("src"), dst or self.spec("dst"), "--dry-run", "--plan",
                 path, *extra, check=check, conf=conf)
        return path

    def apply(self, plan, *extra, check=0, conf=None):
        return self.s3m("apply", plan, "--no-lock", *extra, check=check, conf=conf)

    def actions(self, plan):
        return sorted((a["action"], a["key"]) for a in map(json.loads, read_lines(plan)[1:-1])
                      if a["action"] != "skip")

    def changed(self, p):
        """{key: why} of the run's report lines for skipped actions"""
        out = {}
        for l in p.stdout.splitlines():
            m = re.match(r"^changed +- (.*)  \((.*)\)$", l)
            if m:
                out[m.group(1)] = m.group(2)
        return out

    def test_plan_format(self):
        """header (format 1, the command line that shaped it), action lines with the ETags they
        saw, and a trailer with the SHA-256 of every byte before it"""
        self.put_many(self.src, self.sb, ["a", "b"], body=body)
        self.put_many(self.dst, self.db, ["b", "z"], body=lambda k: b"old" + body(k))
        plan = self.dry_run("--exclude", "*.tmp", "--max-delete", "10", "--transfers", "3", "-v")
        lines = read_lines(plan)
        head, trailer = json.loads(lines[0]), json.loads(lines[-1])
        self.assertEqual(head["s3mirror_plan"], 1)
        self.assertTrue(head["dry_run"])
        self.assertRegex(head["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # what shapes the plan, not how it runs (--transfers, -v, --plan, --dry-run)
        self.assertEqual(head["args"], ["sync", self.spec("src"), self.spec("dst"),
                                        "--exclude=*.tmp", "--max-delete=10"])
        data = open(plan, "rb").read()
        cut = data.rindex(b"\n", 0, len(data) - 1) + 1
        self.assertEqual(trailer, {"sha256": hashlib.sha256(data[:cut]).hexdigest(),
                                   "lines": len(lines) - 1})
        etag = lambda c, b, k: c.head_object(Bucket=b, Key=k)["ETag"].strip('"')
        acts = {a["key"]: a for a in map(json.loads, lines[1:-1])}
        self.assertEqual(acts["a"]["src_etag"], etag(self.src, self.sb, "a"))
        self.assertNotIn("dst_etag", acts["a"])
        self.assertEqual((acts["b"]["action"], acts["b"]["src_etag"], acts["b"]["dst_etag"],
                          acts["b"]["dst_size"]),
                         ("update", etag(self.src, self.sb, "b"), etag(self.dst, self.db, "b"),
                          3 + len(body("b"))))
        self.assertEqual((acts["z"]["action"], acts["z"]["dst_etag"]),
                         ("delete", etag(self.dst, self.db, "z")))
        self.assertNotIn("src_etag", acts["z"])

    def test_unchanged_world_does_exactly_the_plan(self):
        """nothing changed since the dry run: apply does what a sync does, and a sync after it
        has nothing left to do"""
        self.put_many(self.src, self.sb, ["k%02d" % i for i in range(20)] + ["dir/x"], body=body)
        put_multipart(self.src, self.sb, "big", os.urandom(11 * 1024 * 1024), 5 * 1024 * 1024)
        self.put_many(self.dst, self.db, ["k03", "k04", "gone1", "dir/gone2"],
                      body=lambda k: b"old" + body(k))
        before = snapshot(self.dst, self.db, content=True)
        plan = self.dry_run()
        self.assertEqual(snapshot(self.dst, self.db, content=True), before)
        p = self.apply(plan, "--transfers", "4", "-v")
        self.assertEqual(self.changed(p), {})
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.src, self.sb, content=True))
        self.assertRegex(p.stdout, r"copied 20 .*updated 2 .*deleted 2 ")
        p = self.s3m("sync", self.spec("src"), self.spec("dst"), "--no-lock", check=0)
        self.assertRegex(p.stdout, r"copied 0 .*updated 0 .*deleted 0 ")

    def test_tricky_keys_round_trip(self):
        """every key the plan writes reads back as the same key: the apply copies them all"""
        keys = TRICKY + ["ctl\x01\x1f\x7fkey", "tab\there"]
        try:
            self.put_many(self.src, self.sb, keys[-2:], body=body)
        except Exception:  # a server that refuses control bytes in keys: the others still
            keys = TRICKY
        self.put_many(self.src, self.sb, keys, body=body)
        self.put_many(self.dst, self.db, ["old-" + k for k in keys[:5]], body=body)
        plan = self.dry_run()
        self.apply(plan)
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.src, self.sb, content=True))

    def test_source_changed_since_the_plan(self):
        """a rewritten object's copy and update are skipped (the old destination version kept),
        a copy of an object deleted at the source is skipped, a new object is not copied; the
        rest of the plan runs; exit 14, each key reported"""
        self.put_many(self.src, self.sb, ["rewritten", "deleted", "same", "upd"], body=body)
        self.put_many(self.dst, self.db, ["upd", "extra"], body=lambda k: b"old" + body(k))
        plan = self.dry_run()
        self.assertEqual(self.actions(plan), [("copy", "deleted"), ("copy", "rewritten"),
                                              ("copy", "same"), ("delete", "extra"),
                                              ("update", "upd")])
        self.src.put_object(Bucket=self.sb, Key="rewritten", Body=b"new bytes")
        self.src.put_object(Bucket=self.sb, Key="upd", Body=b"newer bytes")
        self.src.delete_object(Bucket=self.sb, Key="deleted")
        self.src.put_object(Bucket=self.sb, Key="new", Body=b"new object")
        old_upd = self.dst.get_object(Bucket=self.db, Key="upd")["Body"].read()
        p = self.apply(plan, check=14)
        self.assertEqual(set(snapshot(self.dst, self.db)), {"same", "upd"})
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="upd")["Body"].read(), old_upd)
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="same")["Body"].read(),
                         body("same"))
        why = self.changed(p)
        self.assertEqual(sorted(why), ["deleted", "new", "rewritten", "upd"], p.stdout)
        self.assertIn("source ETag was", why["rewritten"])
        self.assertIn("source ETag was", why["upd"])
        self.assertIn("gone", why["deleted"])
        self.assertIn("not have", why["new"])
        for k in why:  # a log line names each key
            self.assertRegex(p.stderr, r"%s: skipped, changed since the plan" % re.escape(k))

    def test_immutable_plan_and_metrics(self):
        """a plan with --immutable's refuse lines is applied (the refusal again: exit 13, the
        new object copied, nothing deleted); a skipped action's 14 reaches --metrics-file"""
        self.put_many(self.src, self.sb, ["changed", "new"], body=body)
        self.put_many(self.dst, self.db, ["changed", "gone"], body=lambda k: b"old" + body(k))
        plan = self.dry_run("--immutable", check=13)
        self.assertIn(("refuse", "changed"),
                      [(a["action"], a["key"]) for a in map(json.loads, read_lines(plan)[1:-1])])
        self.apply(plan, check=13)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(set(got), {"changed", "new", "gone"})
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="changed")["Body"].read(),
                         b"old" + body("changed"))
        # a plan whose copy the world changed since: exit 14, and the metrics say 14
        self.put_many(self.src, self.sb, ["later"], body=body)
        plan = self.dry_run()
        self.src.put_object(Bucket=self.sb, Key="later", Body=b"rewritten")
        prom = os.path.join(self.tmp, unique("m.prom"))
        self.apply(plan, "--metrics-file", prom, check=14)
        with open(prom) as f:
            text = f.read()
        self.assertRegex(text, r"s3mirror_last_run_exit_code\{[^}]*\} 14")

    def test_destination_changed_since_the_plan(self):
        """an object the plan deletes was rewritten: not deleted; a destination object that
        appeared where the plan copies: left alone; exit 14"""
        self.put_many(self.src, self.sb, ["a", "b"], body=body)
        self.put_many(self.dst, self.db, ["del-me", "del-rewritten", "del-gone"], body=body)
        plan = self.dry_run()
        self.dst.put_object(Bucket=self.db, Key="del-rewritten", Body=b"precious new version")
        self.dst.delete_object(Bucket=self.db, Key="del-gone")
        self.dst.put_object(Bucket=self.db, Key="b", Body=b"appeared")
        p = self.apply(plan, check=14)
        self.assertEqual(sorted(self.changed(p)), ["b", "del-gone", "del-rewritten"], p.stdout)
        self.assertIn("destination ETag was", self.changed(p)["del-rewritten"])
        snap = snapshot(self.dst, self.db)
        self.assertEqual(sorted(snap), ["a", "b", "del-rewritten"])
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="del-rewritten")["Body"].read(),
                         b"precious new version")
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="b")["Body"].read(), b"appeared")

    def test_edited_or_truncated_plan_is_refused(self):
        """one key or one action changed (old trailer kept), lines cut, the trailer missing, a
        trailer recomputed for lines in another order: exit 1, nothing done"""
        self.put_many(self.src, self.sb, ["a", "b", "c"], body=body)
        self.put_many(self.dst, self.db, ["z"], body=body)
        plan = self.dry_run()
        before = snapshot(self.dst, self.db, content=True)
        lines = read_lines(plan)
        variants = {
            "key": [l.replace(b'"key":"a"', b'"key":"q"') for l in lines],
            "action": [l.replace(b'"action":"copy"', b'"action":"delete"', 1) for l in lines],
            "no trailer": lines[:-1],
            "truncated": lines[:2],
            "cut line": lines[:-2] + [lines[-2][:10]],
            "empty": [],
        }
        for name, ls in variants.items():
            path = os.path.join(self.tmp, unique("edited.jsonl"))
            with open(path, "wb") as f:
                f.write(b"".join(l + b"\n" for l in ls))
            p = self.apply(path, check=1)
            self.assertRegex(p.stderr, r"refusing to apply it", name)
            self.assertRegex(p.stderr, r"checksum|truncated", name)
        with open(plan, "rb") as f:  # the plan itself but its last byte
            data = f.read()
        path = os.path.join(self.tmp, unique("cut.jsonl"))
        with open(path, "wb") as f:
            f.write(data[:-1])
        self.apply(path, check=1)
        self.assertEqual(snapshot(self.dst, self.db, content=True), before)
        self.apply(plan)  # the plan itself still applies
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.src, self.sb, content=True))

    def test_refused_plans_and_options(self):
        """a real run's plan (it records what was done), a check's plan, an option on apply's
        line that changes what is done, --dry-run: exit 1, nothing done"""
        self.put_many(self.src, self.sb, ["a"], body=body)
        self.put_many(self.dst, self.db, ["z"], body=body)
        plan = self.dry_run()
        before = snapshot(self.dst, self.db, content=True)
        p = self.apply(plan, "--exclude", "a", check=1)
        self.assertIn("--exclude=a changes what is done", p.stderr)
        self.apply(plan, "--max-delete", "0", check=1)
        self.apply(plan, "--dry-run", check=1)
        self.apply(plan, "--plan", plan, check=1)  # the record would overwrite the plan
        self.apply(os.path.join(self.tmp, "no-such-plan"), check=1)
        check_plan = self.dry_run(cmd="check", check=10)
        self.assertIn("not of a sync or a copy", self.apply(check_plan, check=1).stderr)
        self.assertEqual(snapshot(self.dst, self.db, content=True), before)
        # a dry run that did not list everything (here: no such source bucket) leaves a plan
        # without its trailer
        partial = self.dry_run(src="sto2:" + unique("absent"), check=3)
        self.assertNotIn(b"sha256", read_lines(partial)[-1])
        self.assertIn("truncated, unfinished", self.apply(partial, check=1).stderr)
        real = os.path.join(self.tmp, unique("real.jsonl"))
        self.s3m("copy", self.spec("src"), self.spec("dst"), "--plan", real, "--no-lock", check=0)
        self.assertEqual(json.loads(read_lines(real)[0])["dry_run"], False)
        self.assertIn("only a dry run's plan", self.apply(real, check=1).stderr)

    def test_options_come_from_the_plan(self):
        """the filters of the dry run hold in apply; a copy plan deletes nothing; apply's own
        output options work (--log-file gets the skipped keys, --plan records what was done)"""
        self.put_many(self.src, self.sb, ["a.db", "b.log", "c.db"], body=body)
        self.put_many(self.dst, self.db, ["x.db", "y.log"], body=body)
        plan = self.dry_run("--exclude", "*.log")
        self.src.put_object(Bucket=self.sb, Key="c.db", Body=b"changed")
        log = os.path.join(self.tmp, unique("apply.log"))
        done = os.path.join(self.tmp, unique("done.jsonl"))
        p = self.apply(plan, "--log-file", log, "--plan", done, "--transfers", "2", check=14)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["a.db", "y.log"])
        self.assertIn("c.db: skipped, changed since the plan", open(log).read())
        self.assertEqual(p.stderr, "")
        head = json.loads(read_lines(done)[0])
        self.assertEqual((head["dry_run"], head["args"][3:]), (False, ["--exclude=*.log"]))
        self.assertEqual(self.actions(done), [("copy", "a.db"), ("delete", "x.db")])
        # copy: no deletion in the plan, none in apply
        self.dst.put_object(Bucket=self.db, Key="x.db", Body=b"x")
        plan = self.dry_run(cmd="copy")
        self.apply(plan, check=0)
        self.assertIn("x.db", snapshot(self.dst, self.db))

    def test_whole_remote_plan(self):
        """REMOTE: plans name each bucket: bucket 1 applied whole, bucket 2 without the object
        rewritten since the plan, a new bucket's objects not copied"""
        names = [unique("apr%d" % i) for i in range(3)]
        for b in names[:2]:
            self.src.create_bucket(Bucket=b)
            self.dst.create_bucket(Bucket=b)
            self.put_many(self.src, b, ["k1", "k2"], body=body)
            self.put_many(self.dst, b, ["old"], body=body)
        proxy = Proxy(self.sto2.endpoint)
        proxy.add("listing", method="GET", path="^/$", edit=keep_buckets(set(names)))
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "flaky", self.sto2, proxy.endpoint)
        plan = self.dry_run(src="flaky:", dst="osl1:", conf=conf)
        buckets = {json.loads(l)["bucket"] for l in read_lines(plan)[1:-1]}
        self.assertEqual(buckets, set(names[:2]))
        self.src.put_object(Bucket=names[1], Key="k2", Body=b"rewritten")
        self.src.create_bucket(Bucket=names[2])
        self.src.put_object(Bucket=names[2], Key="n", Body=b"n")
        p = self.apply(plan, conf=conf, check=14)
        self.assertEqual(sorted(self.changed(p)), ["k2", "n"], p.stdout)
        self.assertEqual(sorted(snapshot(self.dst, names[0])), ["k1", "k2"])
        self.assertEqual(sorted(snapshot(self.dst, names[1])), ["k1"])  # "old": as planned
        self.assertEqual(snapshot(self.dst, names[2]) if names[2] in
                         [b["Name"] for b in self.dst.list_buckets()["Buckets"]] else {}, {})

    def test_checksum_verified_updates(self):
        """--compare checksum: a pair whose ETags cannot be compared (multipart source, single-
        part destination of the same size) is settled by reading both; the update it decides
        carries the ETags the plan saw, and apply's gate holds it to them too"""
        data = os.urandom(6 * 1024 * 1024)
        for k in ("same-size", "rewritten-dst"):
            put_multipart(self.src, self.sb, k, data, 5 * 1024 * 1024)
            self.dst.put_object(Bucket=self.db, Key=k, Body=bytes(reversed(data)))
        plan = self.dry_run("--compare", "checksum")
        self.assertEqual(self.actions(plan), [("update", "rewritten-dst"), ("update", "same-size")])
        self.dst.put_object(Bucket=self.db, Key="rewritten-dst", Body=b"y" * len(data))
        p = self.apply(plan, check=14)
        self.assertEqual(sorted(self.changed(p)), ["rewritten-dst"], p.stdout)
        self.assertIn("destination ETag was", self.changed(p)["rewritten-dst"])
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="same-size")["Body"].read(), data)
        self.assertEqual(self.dst.get_object(Bucket=self.db, Key="rewritten-dst")["Body"].read(),
                         b"y" * len(data))
