"""Review of 35fb80f (--json's stats object, the per-endpoint metrics): read as the man page
says. --json: "one JSON object per line ... The last object is of type stats: what the whole run
asked of each endpoint ..., as -v logs it". A sync that deletes and sweeps after its job (the
deletions, the multipart sweep, run last) must show in the -v lines what the stats object and
the metrics file say; every stdout line of a --json check or dry run must be a JSON object."""
import json
import os
import re

from e2e import for_each_kind, proxied_conf, snapshot
from faultproxy import Proxy

REQS = re.compile(r"stats: (source|destination) requests:([^;]*);")
RETRIES = re.compile(r"stats: (source|destination) requests:[^;]*; retries (\d+) \(transport "
                     r"(\d+), 429 (\d+), 500 (\d+), 503 (\d+)\)")
CONNS = re.compile(r"stats: (source|destination) connections (\d+);")


def v_stats(stderr):
    """{"source"|"destination": ({op: n}, connections)} from the LAST -v stats lines"""
    reqs = {m.group(1): dict((kv.split("=")[0], int(kv.split("=")[1]))
                             for kv in m.group(2).split()) for m in REQS.finditer(stderr)}
    conns = {m.group(1): int(m.group(2)) for m in CONNS.finditer(stderr)}
    return {side: (reqs.get(side), conns.get(side)) for side in ("source", "destination")}


@for_each_kind
class ReviewStatsTest:
    def source_and_dest(self, name):
        sb, db = self.bucket(self.src, name), self.bucket(self.dst, name + "-d")
        self.put_many(self.src, sb, ["k%d" % i for i in range(5)])
        self.put_many(self.dst, db, ["gone%d" % i for i in range(3)])  # deleted by the sync
        return sb, db

    def test_review_json_stats_as_v_logs_it_with_deletions(self):
        sb, db = self.source_and_dest("jsv")
        prom = os.path.join(self.tmp, "jsv.prom")
        p = self.s3m("sync", "sto2:" + sb, "osl1:" + db, "-v", "--json", "--metrics-file", prom,
                     check=0)
        out = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([o["type"] for o in out], ["summary", "stats"], p.stdout)
        self.assertEqual(out[0]["deleted"]["objects"], 3)
        v = v_stats(p.stderr)
        for side in ("source", "destination"):
            js = out[1][side]
            # the man page: the stats object is what the run asked "as -v logs it"
            self.assertEqual((js["requests"], js["connections"]), v[side],
                             "%s: --json %s, -v %s" % (side, (js["requests"], js["connections"]),
                                                       v[side]))

    def objects(self, p):
        """every stdout line as a JSON object (the man page: one object per line)"""
        bad = []
        out = []
        for line in p.stdout.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                bad.append(line)
        self.assertEqual(bad, [], "--json: 'one JSON object per line'")
        return out

    def test_review_json_check_every_line_is_json(self):
        sb, db = self.source_and_dest("jck")
        self.put_many(self.dst, db, ["k0"], body=lambda k: b"other bytes")
        p = self.s3m("check", "--json", "sto2:" + sb, "osl1:" + db)
        self.assertEqual(p.returncode, 10, p.stderr[-2000:])
        out = self.objects(p)
        self.assertEqual([o["type"] for o in out][-2:], ["summary", "stats"])
        diffs = sorted((o["difference"], o["key"]) for o in out if o["type"] == "difference")
        self.assertEqual(diffs, [("differs", "k0")] + [("only on destination", "gone%d" % i)
                                                       for i in range(3)]
                         + [("only on source", "k%d" % i) for i in range(1, 5)])
        self.assertTrue(all(o["bucket"] in (sb, db) and "why" in o and "size" in o
                            for o in out if o["type"] == "difference"), out)

    def test_review_json_dry_run_every_line_is_json(self):
        sb, db = self.source_and_dest("jdr")
        p = self.s3m("sync", "--json", "--dry-run", "sto2:" + sb, "osl1:" + db, check=0)
        out = self.objects(p)
        acts = sorted((o["action"], o["key"]) for o in out if o["type"] == "action")
        self.assertEqual(acts, [("copy", "k%d" % i) for i in range(5)]
                         + [("delete", "gone%d" % i) for i in range(3)])
        self.assertEqual([o["type"] for o in out][-2:], ["summary", "stats"])
        # a destination bucket that is not there yet: the dry run says it would create it
        missing = "jdr-missing-%s" % self.kind
        p = self.s3m("sync", "--json", "--dry-run", "sto2:" + sb, "osl1:" + missing, check=0)
        out = self.objects(p)
        self.assertIn({"type": "action", "action": "create-bucket", "remote": "osl1",
                       "bucket": missing}, out)
        self.assertEqual(len([o for o in out if o["type"] == "action"]), 6, out)

    def test_review_json_apply_changed_lines(self):
        """apply --json: an action skipped because its object changed since the plan is an
        object of type changed"""
        sb, db = self.source_and_dest("jap")
        plan = os.path.join(self.tmp, "jap-%s.jsonl" % self.kind)
        self.s3m("sync", "sto2:" + sb, "osl1:" + db, "--dry-run", "--plan", plan, check=0)
        self.src.put_object(Bucket=sb, Key="k1", Body=b"rewritten since the plan")
        p = self.s3m("apply", plan, "--no-lock", "--json", check=14)
        out = self.objects(p)
        changed = [o for o in out if o["type"] == "changed"]
        self.assertEqual([o["key"] for o in changed], ["k1"], out)
        self.assertEqual([o["type"] for o in out][-2:], ["summary", "stats"])

    def test_retry_causes_count_retries(self):
        """-v's "retries N (transport X, 429 .., 500 .., 503 Y)" breaks N down by cause: a 503
        on a GET before its body is a request sent again (counted); a 503 on a streamed PUT is
        the object's next try (its own "try N failed" line), no request retry, so not counted
        under 503 either (it was: the causes added up to more than the retries)"""
        sb, db = self.bucket(self.src, "rcause"), self.bucket(self.dst, "rcause-d")
        self.put_many(self.src, sb, ["k%d" % i for i in range(4)])
        sp, dp = Proxy(self.sto2.endpoint), Proxy(self.osl1.endpoint)
        self.addCleanup(sp.stop)
        self.addCleanup(dp.stop)
        sp.add("status", method="GET", path=r"^/%s/k" % sb, status=503, times=2)
        dp.add("status", method="PUT", path=r"^/%s/k" % db, status=503, times=2)
        conf = proxied_conf(self.conf, "psrc", self.sto2, sp.endpoint)
        conf = proxied_conf(conf, "pdst", self.osl1, dp.endpoint)
        p = self.s3m("sync", "psrc:" + sb, "pdst:" + db, "-v", "--transfers", "1", conf=conf,
                     check=0)
        self.assertEqual(snapshot(self.dst, db, content=True), snapshot(self.src, sb, content=True))
        got = {m.group(1): [int(x) for x in m.groups()[1:]] for m in RETRIES.finditer(p.stderr)}
        self.assertEqual(got["source"], [2, 0, 0, 0, 2], p.stderr[-3000:])
        self.assertEqual(got["destination"], [0, 0, 0, 0, 0], p.stderr[-3000:])
        self.assertEqual(len(re.findall(r"try \d+ failed", p.stderr)), 2, p.stderr[-3000:])
