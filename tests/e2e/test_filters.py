"""Filters as rclone has them: --max-size 0 is "empty objects only" and --max-age 0 a limit (not
"no limit"); `?` and `[...]` in globs match one character (UTF-8), not one byte. And key ranges:
a key with a control character never breaks the listing (moto echoes start-after unescaped in its
XML, where such a byte is not allowed), whether we chose the boundary or the user's plan did.
Everything is checked with boto3."""
import os
import time
import urllib.parse

from e2e import for_each_kind, snapshot, unique


@for_each_kind
class FiltersTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "fsrc")

    def keys(self, bucket, prefix=""):
        return sorted(snapshot(self.dst, bucket, prefix))

    def sync_into_new(self, *extra, src=None):
        db = self.bucket(self.dst, "fdst")
        self.s3m("sync", src or "sto2:" + self.sb, "osl1:" + db, *extra, check=0)
        return db

    def test_max_size_zero_means_empty_objects_only(self):
        self.put_many(self.src, self.sb, ["empty", "one", "big"],
                      body=lambda k: {"empty": b"", "one": b"x", "big": b"y" * 100}[k])
        db = self.bucket(self.dst, "fdst")
        # on the destination: an empty stale object (in scope: deleted), a non-empty one (kept)
        self.put_many(self.dst, db, ["old-empty", "old-full"],
                      body=lambda k: b"" if k == "old-empty" else b"12345")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + db, "--max-size", "0", check=0)
        self.assertEqual(self.keys(db), ["empty", "old-full"])
        self.assertEqual(snapshot(self.dst, db)["empty"][0], 0)
        # --min-size 0 is no lower limit: everything
        db2 = self.sync_into_new("--min-size", "0")
        self.assertEqual(self.keys(db2), ["big", "empty", "one"])
        # --max-size 1 and --min-size 1 still as before
        self.assertEqual(self.keys(self.sync_into_new("--max-size", "1")), ["empty", "one"])
        self.assertEqual(self.keys(self.sync_into_new("--min-size", "1")), ["big", "one"])

    def test_age_zero_is_a_limit(self):
        self.put_many(self.src, self.sb, ["a", "b/c"])
        time.sleep(2.2)  # every object at least 2 s old
        # --max-age 0: only objects younger than 0 s, that is none
        self.assertEqual(self.keys(self.sync_into_new("--max-age", "0")), [])
        # --min-age 0: objects older than 0 s, that is all of them
        self.assertEqual(self.keys(self.sync_into_new("--min-age", "0")), ["a", "b/c"])
        self.assertEqual(self.keys(self.sync_into_new("--max-age", "1h")), ["a", "b/c"])

    def test_glob_question_mark_and_class_match_one_utf8_character(self):
        keys = ["é", "e", "ab", "日本", "dir/ü", "ñx", "ex"]
        self.put_many(self.src, self.sb, keys)
        cases = [
            (["--exclude", "?"], ["ab", "ex", "ñx", "日本"]),
            (["--exclude", "[é]"], ["ab", "dir/ü", "e", "ex", "ñx", "日本"]),
            (["--exclude", "[à-ÿ]"], ["ab", "e", "ex", "ñx", "日本"]),
            (["--include", "[!a-z]?"], ["ñx", "日本"]),
            (["--include", "[à-ÿ]x"], ["ñx"]),
            (["--include", "/??"], ["ab", "ex", "ñx", "日本"]),
            (["--include", "/dir/?"], ["dir/ü"]),
        ]
        for extra, want in cases:
            with self.subTest(filt=extra):
                self.assertEqual(self.keys(self.sync_into_new(*extra)), sorted(want))

    # ---- key-range boundaries with control characters ----

    CTL_KEYS = ["p/ctl\x01x", "p/b", "p/c/d", "p/tab\tx", "p/a\x1fz/k", "p/m", "p/zz"]

    def put_ctl(self):
        try:
            self.put_many(self.src, self.sb, self.CTL_KEYS)
        except Exception as e:  # a server that refuses such keys has nothing to test here
            self.skipTest("%s refuses keys with control characters: %s" % (self.kind, e))

    def test_control_char_in_discovered_boundaries(self):
        """The ranges found under '/' (names with \\x01, \\t, \\x1f) list in parallel, every run."""
        self.put_ctl()
        want = sorted(k[2:] for k in self.CTL_KEYS)
        for conc in ("4", "8"):
            db = self.sync_into_new("--list-concurrency", conc, src="sto2:" + self.sb + "/p/")
            self.assertEqual(self.keys(db), want)
            p = self.s3m("sync", "sto2:" + self.sb + "/p/", "osl1:" + db, "--list-concurrency",
                         conc, check=0)  # and again: nothing to do
            self.assertRegex(p.stdout, r"copied 0 .*updated 0 .*deleted 0 ")

    def test_control_char_in_shard_plan_and_user_boundaries(self):
        self.put_ctl()
        want = sorted(k[2:] for k in self.CTL_KEYS)
        planf = os.path.join(self.tmp, unique("plan.txt"))
        self.s3m("shard-plan", "sto2:" + self.sb + "/p", "4", "-o", planf, check=0)
        with open(planf) as f:
            lines = [l.rstrip("\n") for l in f if not l.startswith("#")]
        self.assertEqual(len(lines), 3)
        bounds = [urllib.parse.unquote(l) for l in lines]
        self.assertEqual(bounds, sorted(bounds))
        self.assertFalse(any(c < " " for b in bounds for c in b), bounds)
        # a plan written by hand, with control characters in its keys: still correct
        userf = os.path.join(self.tmp, unique("user.txt"))
        with open(userf, "w") as f:
            f.write("a%1Fz/k\nctl%01x\ntab%09x\n")
        for plan in (planf, userf):
            db = self.bucket(self.dst, "fdst")
            for i in range(4):
                self.s3m("sync", "sto2:" + self.sb + "/p", "osl1:" + db, "--shard", "%d/4" % i,
                         "--shard-boundaries", plan, check=0)
            self.assertEqual(self.keys(db), want)
            db = self.bucket(self.dst, "fdst")  # without --shard: the plan's ranges at once
            self.s3m("sync", "sto2:" + self.sb + "/p", "osl1:" + db, "--shard-boundaries", plan,
                     check=0)
            self.assertEqual(self.keys(db), want)
