"""Ordered copies and the change guard (issue 15): --copy-last tiers, --layout NAME|auto and
--max-change. The order is observed at a fault proxy in front of the destination, which records
when each request starts and when its answer came back from the server (before the client got
it); every result is checked with boto3."""
import re
import signal
import subprocess
import time

from e2e import BIN, for_each_kind, proxied_conf, snapshot, unique
from faultproxy import Proxy, keep_buckets
from test_sync import body

TIERS = ["--copy-last", "/idx/**", "--copy-last", "/snap/**"]


def tier_of(key):
    return 2 if key.startswith("snap/") else 1 if key.startswith("idx/") else 0


@for_each_kind
class OrderingTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "osrc")
        self.db = self.bucket(self.dst, "odst")

    def proxied(self, site, rules=(), remote="flaky"):
        """(proxy, config): remote `remote` reaches site through a fault proxy."""
        proxy = Proxy(site.endpoint)
        for action, kw in rules:
            proxy.add(action, **kw)
        conf = proxied_conf(self.conf, remote, site, proxy.endpoint)
        self.addCleanup(proxy.stop)
        return proxy, conf

    def key_of(self, path):
        return path.split("/", 2)[2] if path.count("/") >= 2 else ""

    def puts(self, proxy):
        """[(phase, key)] of the object PUTs at the proxy, in the order they happened."""
        return [(ev[0], self.key_of(ev[2])) for ev in list(proxy.events)
                if ev[1] == "PUT" and self.key_of(ev[2])]

    def deletes(self, proxy):
        """[(phase, [keys])] of the DeleteObjects requests, in order."""
        out = []
        for ev in list(proxy.events):
            if ev[1] == "POST" and "delete" in ev[3]:
                out.append((ev[0], re.findall(r"<Key>([^<]*)</Key>", ev[4].decode())))
        return out

    def assert_tier_order(self, events):
        """every start of a tier-n event comes after the end of every event of the tiers below"""
        for i, (phase, key) in enumerate(events):
            if phase != "start":
                continue
            for later, (ph2, k2) in enumerate(events):
                if ph2 == "end" and tier_of(k2) < tier_of(key):
                    self.assertLess(later, i, "%s started before %s ended" % (key, k2))

    def test_tiers_in_order_and_deletes_reversed(self):
        keys = ["data/d%02d" % i for i in range(12)] + ["idx/i0", "idx/i1", "snap/s0"]
        self.put_many(self.src, self.sb, keys, body=lambda k: body(k, 3000))
        self.put_many(self.dst, self.db, ["data/x0", "idx/x1", "snap/x2"], body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run", *TIERS, check=0)
        lines = [line for line in p.stdout.splitlines() if line.startswith("copy")]
        self.assertEqual([tier_of(line.split()[2]) for line in lines], [0] * 12 + [1, 1, 2])
        self.assertIn("(not on destination; tier 2)", lines[-1])
        self.assertRegex(p.stdout, r"tiers .*tier 0 12 .*tier 1 2 .*tier 2 1 ")
        proxy, conf = self.proxied(self.osl1)
        self.s3m("sync", "sto2:" + self.sb, "flaky:" + self.db, *TIERS, conf=conf, check=0)
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, self.db, content=True))
        puts = self.puts(proxy)
        self.assertEqual(sorted(k for ph, k in puts if ph == "end"), sorted(keys))
        self.assert_tier_order(puts)
        dels = self.deletes(proxy)  # one batch per tier, the highest first, each done first
        self.assertEqual(dels, [("start", ["snap/x2"]), ("end", ["snap/x2"]),
                                ("start", ["idx/x1"]), ("end", ["idx/x1"]),
                                ("start", ["data/x0"]), ("end", ["data/x0"])])

    def test_failed_data_copy_holds_later_tiers(self):
        keys = ["data/d%02d" % i for i in range(6)] + ["idx/i0", "snap/s0"]
        self.put_many(self.src, self.sb, keys, body=body)
        self.put_many(self.dst, self.db, ["data/old", "snap/old"], body=body)
        proxy, conf = self.proxied(self.osl1, [("status", dict(method="PUT", path="/data/d03$",
                                                              status=500))])
        p = self.s3m("sync", "sto2:" + self.sb, "flaky:" + self.db, *TIERS, "--retries", "1",
                     "--low-level-retries", "1", conf=conf, check=6)
        got = snapshot(self.dst, self.db)
        self.assertFalse([k for k in got if tier_of(k) > 0 and k not in ("snap/old",)], got)
        self.assertIn("data/old", got)  # nothing deleted
        self.assertIn("snap/old", got)
        self.assertEqual(len([k for k in got if k.startswith("data/d")]), 5)
        self.assertIn("NOT copied or updated 2", p.stdout)
        self.assertIn("tier 1 did not start (1 object(s) failed to copy)", p.stdout)
        self.assertEqual(self.deletes(proxy), [])

    # ---- --max-change ----

    def change_setup(self, bucket_src, bucket_dst, n_new=3, n_upd=3, n_del=2, n_same=5):
        self.put_many(self.src, bucket_src, ["new%d" % i for i in range(n_new)], body=body)
        upd = ["upd%d" % i for i in range(n_upd)]
        self.put_many(self.src, bucket_src, upd, body=lambda k: body(k, 200))
        self.put_many(self.dst, bucket_dst, upd, body=lambda k: body(k + "old", 100))
        self.put_many(self.dst, bucket_dst, ["del%d" % i for i in range(n_del)], body=body)
        same = ["same%d" % i for i in range(n_same)]
        self.put_many(self.src, bucket_src, same, body=body)
        self.put_many(self.dst, bucket_dst, same, body=body)

    def assert_only_new_copied(self, sb, db, n_new=3, n_upd=3, n_del=2):
        got = snapshot(self.dst, db)
        src = snapshot(self.src, sb)
        for i in range(n_new):
            self.assertEqual(got["new%d" % i], src["new%d" % i])
        for i in range(n_upd):
            self.assertEqual(got["upd%d" % i][0], 100)  # not updated
        for i in range(n_del):
            self.assertIn("del%d" % i, got)  # not deleted

    def test_max_change_over_and_under_the_cap(self):
        self.change_setup(self.sb, self.db)  # 3 updates + 2 deletions = 5 changes of 10
        src, dst = "sto2:" + self.sb, "osl1:" + self.db
        p = self.s3m("sync", src, dst, "--max-change", "4", "--dry-run", check=0)
        self.assertIn("exceed --max-change 4", p.stdout + p.stderr)
        self.assertEqual(len(snapshot(self.dst, self.db)), 10)  # a dry run changes nothing
        p = self.s3m("sync", src, dst, "--max-change", "4", check=12)
        self.assertIn("5 changes (3 updated, 2 deleted) exceed --max-change 4", p.stdout)
        self.assert_only_new_copied(self.sb, self.db)
        # the new objects are there now: 5 changes of 13 destination objects, 38.5%
        p = self.s3m("sync", src, dst, "--max-change", "35%", check=12)
        self.assertIn("are 38.5% of the destination, over --max-change 35%", p.stdout)
        self.assert_only_new_copied(self.sb, self.db)
        self.s3m("sync", src, dst, "--max-change", "40%", check=0)
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, self.db, content=True))

    def test_max_change_with_checksum_and_tiers(self):
        """updates decided by reading both sides wait for the decision too"""
        self.change_setup(self.sb, self.db, n_upd=2, n_del=0)
        self.put_many(self.src, self.sb, ["idx/a"], body=lambda k: body(k, 50))
        self.put_many(self.dst, self.db, ["idx/a"], body=lambda k: body(k + "x", 50))
        src, dst = "sto2:" + self.sb, "osl1:" + self.db
        self.s3m("sync", src, dst, "--max-change", "2", "--compare", "checksum", *TIERS,
                 check=12)
        self.assert_only_new_copied(self.sb, self.db, n_upd=2, n_del=0)
        self.assertNotEqual(snapshot(self.dst, self.db)["idx/a"],
                            snapshot(self.src, self.sb)["idx/a"])
        self.s3m("sync", src, dst, "--max-change", "3", "--compare", "checksum", *TIERS, check=0)
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, self.db, content=True))

    def test_held_or_refused_update_holds_later_tiers(self):
        """a data update held back by --max-change (or refused by --immutable) leaves the data as
        it was: a new pointer of a later tier might name its new version, so it is not copied
        either; new data objects are"""
        self.put_many(self.src, self.sb, ["data/new", "idx/new"], body=body)
        self.put_many(self.src, self.sb, ["data/upd"], body=lambda k: body(k, 200))
        self.put_many(self.dst, self.db, ["data/upd"], body=lambda k: body(k + "old", 100))
        src, dst = "sto2:" + self.sb, "osl1:" + self.db
        for flags, rc in ((["--max-change", "0"], 12), (["--immutable"], 13)):
            p = self.s3m("sync", src, dst, *flags, *TIERS, check=rc)
            got = snapshot(self.dst, self.db)
            self.assertIn("data/new", got, p.stdout)
            self.assertNotIn("idx/new", got, p.stdout)
            self.assertEqual(got["data/upd"][0], 100)
            self.assertIn("tier 1 and later not started", p.stderr)
            self.dst.delete_object(Bucket=self.db, Key="data/new")
        self.s3m("sync", src, dst, *TIERS, check=0)
        self.assertEqual(snapshot(self.src, self.sb, content=True),
                         snapshot(self.dst, self.db, content=True))

    def test_max_change_counts_the_whole_run(self):
        names = [unique("mc%d" % i) for i in range(2)]
        for b in names:  # 2 updates + 1 deletion each: 3 per bucket, 6 for the run
            self.src.create_bucket(Bucket=b)
            self.dst.create_bucket(Bucket=b)
            self.change_setup(b, b, n_new=1, n_upd=2, n_del=1, n_same=1)
        _, conf = self.proxied(self.sto2, [("listing", dict(method="GET", path="^/$",
                                                            edit=keep_buckets(set(names))))])
        p = self.s3m("sync", "flaky:", "osl1:", "--max-change", "5", conf=conf, check=12)
        self.assertIn("6 changes (4 updated, 2 deleted) exceed --max-change 5", p.stdout)
        for b in names:
            self.assert_only_new_copied(b, b, n_new=1, n_upd=2, n_del=1)
        self.s3m("sync", "flaky:", "osl1:", "--max-change", "6", conf=conf, check=0)
        for b in names:
            self.assertEqual(snapshot(self.src, b, content=True),
                             snapshot(self.dst, b, content=True))

    # ---- --layout auto ----

    def test_layout_auto_restic(self):
        keys = ["config", "keys/k1", "data/00/p1", "data/01/p2", "index/i1", "snapshots/s1",
                "locks/l1"]
        self.put_many(self.src, self.sb, keys, body=body)
        src = "sto2:" + self.sb
        p = self.s3m("sync", src, "osl1:" + self.db, "--layout", "auto", "--dry-run", check=0)
        self.assertIn("layout auto: %s looks like restic" % src, p.stdout)
        copies = [line.split()[2] for line in p.stdout.splitlines() if line.startswith("copy")]
        self.assertEqual(copies[-2:], ["index/i1", "snapshots/s1"])
        self.assertNotIn("locks/l1", copies)
        proxy, conf = self.proxied(self.osl1)
        p = self.s3m("sync", src, "flaky:" + self.db, "--layout", "auto", conf=conf, check=0)
        self.assertIn("looks like restic", p.stdout)
        puts = [k for ph, k in self.puts(proxy) if ph == "end"]
        self.assertEqual(puts[-2:], ["index/i1", "snapshots/s1"])
        self.assertEqual(sorted(snapshot(self.dst, self.db)), sorted(set(keys) - {"locks/l1"}))

    def test_layout_auto_elasticsearch_and_none(self):
        keys = ["index-3", "index.latest", "meta-u1.dat", "snap-u1.dat", "indices/x/0/__a",
                "indices/x/0/snap-u1.dat", "indices/x/0/index-7", "indices/x/meta-m.dat"]
        self.put_many(self.src, self.sb + "", keys, body=body)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--layout", "auto", check=0)
        self.assertIn("looks like elasticsearch", p.stdout)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), sorted(keys))
        other = self.bucket(self.src, "plain")
        self.put_many(self.src, other, ["a", "b/c"], body=body)
        p = self.s3m("sync", "sto2:" + other, "osl1:" + unique("plaindst"), "--layout", "auto",
                     "--dry-run", check=0)
        self.assertIn("looks like no known layout: copied without tiers", p.stdout)
        self.assertNotIn("tier", "\n".join(line for line in p.stdout.splitlines()
                                            if line.startswith("copy")))

    # ---- a stop ----

    def test_sigterm_during_tier_one(self):
        keys = ["data/d%d" % i for i in range(4)] + ["idx/i0", "snap/s0"]
        self.put_many(self.src, self.sb, keys, body=body)
        proxy, conf = self.proxied(self.osl1, [("stall", dict(method="PUT", path="/idx/i0$",
                                                             seconds=30))])
        pr = subprocess.Popen([BIN, "--config", conf, "sync", "sto2:" + self.sb,
                               "flaky:" + self.db] + TIERS, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 60
            while ("start", "idx/i0") not in self.puts(proxy) and time.time() < deadline:
                if pr.poll() is not None:
                    break
                time.sleep(0.05)  # polling for an event with a deadline, not a wait for it
            self.assertIn(("start", "idx/i0"), self.puts(proxy))
            pr.send_signal(signal.SIGTERM)
            out, err = pr.communicate(timeout=60)
        finally:
            if pr.poll() is None:
                pr.kill()
                pr.communicate()
        self.assertEqual(pr.returncode, 143, err[-2000:])
        got = snapshot(self.dst, self.db)
        self.assertEqual(sorted(k for k in got if k.startswith("data/")),
                         ["data/d%d" % i for i in range(4)])
        self.assertNotIn("snap/s0", got)
        self.assertNotIn(("start", "snap/s0"), self.puts(proxy))
