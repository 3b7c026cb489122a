"""Unit tests of the model itself, on hand-written tables taken from the documents
(run.py --oracle-only, or python3 -m unittest test_model in tests/model)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MiB, Ambiguous, etag, folder, glob_regex, included, model  # noqa: E402


def o(n=3, c="x", parts=None, **kw):
    return dict({"n": n, "c": c, "parts": parts}, **kw)


def case(src, dst, sp="", dp="", cmd="sync", **opts):
    return {"cmd": cmd, "src_spec": {"bucket": "s", "path": sp}, "dst_spec": {"bucket": "d", "path": dp},
            "src": {"s": src}, "dst": {"d": dst} if dst is not None else {}, "opts": opts}


class ModelTest(unittest.TestCase):
    def test_docs_prefix_mapping(self):
        # docs/how-sync-decides.md: `sync a:b/x/ c:d/y/` maps `x/k` to `y/k`
        r = model(case({"x/k": o()}, {}, "x/", "y/"))
        self.assertEqual(r["actions"], [("copy", "s", "k")])
        self.assertIn("y/k", r["dst"]["d"])

    def test_path_is_a_folder(self):
        # DESIGN.md: `b/backup` is `backup/`; backup-2023/x and backup.old are outside it
        src = {"backup/a": o(), "backup-2023/x": o(), "backup.old": o()}
        dst = {"backup-2023/archive.tar": o(), "backup.old": o(), "backupX/keep": o(), "backup/z": o()}
        r = model(case(src, dst, "backup", "backup"))
        self.assertEqual(r["actions"], [("copy", "s", "a"), ("delete", "d", "z")])
        self.assertEqual(sorted(r["dst"]["d"]), ["backup-2023/archive.tar", "backup.old", "backup/a",
                                                  "backupX/keep"])
        r = model(case({"data-2023/k": o(), "data/k": o()}, {}, "data", "mirror"))
        self.assertEqual(sorted(r["dst"]["d"]), ["mirror/k"])
        self.assertEqual(folder({"path": "b/"}), folder({"path": "b"}))

    def test_folder_marker_of_the_prefix_is_skipped(self):
        r = model(case({"dir/": o(0), "dir/a": o()}, {}, "dir/", ""))
        self.assertEqual(r["actions"], [("copy", "s", "a")])
        self.assertEqual(sorted(r["dst"]["d"]), ["a"])
        # a deeper marker is an ordinary key
        r = model(case({"dir/sub/": o(0)}, {}, "dir/", ""))
        self.assertEqual(r["actions"], [("copy", "s", "sub/")])
        with self.assertRaises(Ambiguous):
            model(case({"dir/": o(5), "dir/a": o()}, {}, "dir/", ""))

    def test_table_of_how_sync_decides(self):
        src = {"new": o(), "same": o(c="s"), "changed": o(c="a"), "excl.tmp": o()}
        dst = {"same": o(c="s"), "changed": o(c="b"), "gone": o(), "old.tmp": o()}
        r = model(case(src, dst, filters=[["-", "*.tmp"]]))
        self.assertEqual(r["actions"], [("copy", "s", "new"), ("delete", "d", "gone"),
                                        ("update", "s", "changed")])
        self.assertIn("old.tmp", r["dst"]["d"])  # excluded: never deleted
        self.assertNotIn("excl.tmp", r["dst"]["d"])
        self.assertEqual(r["exit"], 0)
        r = model(case(src, dst, cmd="copy"))
        self.assertNotIn("delete", [a for a, _, _ in r["actions"]])
        self.assertIn("gone", r["dst"]["d"])
        r = model(case(src, dst, cmd="check"))
        self.assertEqual(r["exit"], 10)
        self.assertEqual(r["dst"]["d"], dst)
        self.assertEqual(model(case({"a": o()}, {"a": o()}, cmd="check"))["exit"], 0)

    def test_compare_modes(self):
        src, dst = {"k": o(c="a")}, {"k": o(c="b")}  # same size, other bytes
        self.assertEqual(len(model(case(src, dst))["actions"]), 1)
        self.assertEqual(model(case(src, dst, compare="size"))["actions"], [])
        self.assertEqual(model(case(src, dst, compare="size-mtime"))["actions"], [])
        self.assertEqual(len(model(case(src, dst, compare="checksum"))["actions"]), 1)
        # plain vs multipart ETag of the same bytes: not comparable; size and time (source older)
        big = 12 * MiB
        src = {"m": o(big, "m", [5 * MiB, 5 * MiB, 2 * MiB])}
        for d in (o(big, "m"), o(big, "m", [6 * MiB, 6 * MiB])):
            self.assertEqual(model(case(src, {"m": d}))["actions"], [])
            self.assertEqual(model(case(src, {"m": d}, compare="checksum"))["actions"], [])
        # other bytes, not comparable: only checksum sees it
        d = o(big, "other")
        self.assertEqual(model(case(src, {"m": d}))["actions"], [])
        self.assertEqual(len(model(case(src, {"m": d}, compare="checksum"))["actions"]), 1)
        # sizes differ: always an update
        self.assertEqual(len(model(case({"k": o(4)}, {"k": o(3)}, compare="size"))["actions"]), 1)

    def test_etags(self):
        import hashlib
        from model import content
        self.assertEqual(etag(o(3, "x")), hashlib.md5(content(o(3, "x"))).hexdigest())
        self.assertTrue(etag(o(6 * MiB, "m", [3 * MiB, 3 * MiB])).endswith("-2"))

    def test_copy_keeps_etag_and_second_run_does_nothing(self):
        src = {"u": o(12 * MiB, "u", [6 * MiB, 5 * MiB, 1 * MiB])}
        r = model(case(src, {}), {"part_sizes": False})
        self.assertNotIn(("d", "u"), r["etag_equal"])
        again = model(dict(case(src, r["dst"]["d"]), dry_run=True))
        self.assertEqual(again["actions"], [])  # an unchanged pair is never re-copied
        r = model(case(src, {}), {"part_sizes": True})
        self.assertIn(("d", "u"), r["etag_equal"])
        r = model(case({"s": o(12 * MiB, "u", [5 * MiB, 5 * MiB, 2 * MiB])}, {}))
        self.assertIn(("d", "s"), r["etag_equal"])

    def test_max_delete_whole_run(self):
        c = {"cmd": "sync", "src_spec": {"bucket": None, "path": ""}, "dst_spec": {"bucket": None, "path": ""},
             "src": {b: {"keep": o()} for b in ("b1", "b2", "b3")},
             "dst": {b: {"keep": o(), "x1": o(), "x2": o(), "x3": o()} for b in ("b1", "b2", "b3")},
             "opts": {"max_delete": "5"}}
        r = model(c)
        self.assertEqual(r["exit"], 2)
        self.assertTrue(all(len(v) == 4 for v in r["dst"].values()))  # nothing deleted anywhere
        c["opts"]["max_delete"] = "9"
        r = model(c)
        self.assertEqual(r["exit"], 0)
        self.assertTrue(all(len(v) == 1 for v in r["dst"].values()))

    def test_missing_destination_bucket(self):
        r = model(case({"a": o()}, None))
        self.assertEqual(r["created"], ["d"])
        r = model(dict(case({"a": o()}, None), dry_run=True))
        self.assertEqual(r["created"], [])
        self.assertNotIn("d", r["dst"])

    def test_empty_source_refused(self):
        r = model(case({}, {"a": o()}))
        self.assertEqual(r["exit"], 2)
        self.assertIn("a", r["dst"]["d"])
        r = model(case({}, {"a": o()}, allow_empty_source=True))
        self.assertEqual(r["exit"], 0)
        self.assertNotIn("a", r["dst"]["d"])

    def test_globs(self):
        # man page: * and ? do not cross /, ** does; a leading / anchors; otherwise end of key
        self.assertTrue(glob_regex("*.tmp").search("a/b.tmp"))
        self.assertFalse(glob_regex("/*.tmp").search("a/b.tmp"))
        self.assertTrue(glob_regex("/a/**").search("a/b/c"))
        self.assertFalse(glob_regex("a*").search("ba"))
        self.assertTrue(glob_regex("{x,y}*").search("q/yz"))
        self.assertTrue(glob_regex("[bc]*").search("c1"))
        self.assertFalse(glob_regex("?").search("ab"))
        self.assertTrue(included("x", 1, {"filters": [["-", "y"]]}))
        self.assertFalse(included("x", 1, {"filters": [["+", "y"]]}))
        self.assertTrue(included("y", 1, {"filters": [["+", "y"], ["-", "*"]]}))
        self.assertFalse(included("x", 1, {"min_size": 2}))


if __name__ == "__main__":
    unittest.main()
