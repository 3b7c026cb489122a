"""REMOTE:BUCKET/PATH names a folder, as in rclone: `b/backup` is the keys under `backup/`, never
`backup-2023/...`, `backup.old` or `backupX/...`, in every command and every part of a sync
(listing, mapping, filters, the stale-upload sweep, key ranges and shards). The folder's own
marker object (`dir/` under `b/dir/`) is the folder itself: never copied, never deleted.
Everything is checked with boto3."""
import json
import os
import re
import time

from e2e import for_each_kind, snapshot, unique

# keys that share the folder's first letters but are not in it (sorted around "backup/")
SIBLINGS = ["backup-2023/archive.tar", "backup.old", "backupX/keep", "backup", "backuq"]


@for_each_kind
class PrefixTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "psrc")
        self.db = self.bucket(self.dst, "pdst")

    def spec(self, side, path=""):
        return ("sto2:" + self.sb if side == "src" else "osl1:" + self.db) + ("/" + path if path else "")

    def plan(self, cmd, src, dst, *extra, check=0, env=None):
        path = os.path.join(self.tmp, unique("plan.jsonl"))
        p = self.s3m(cmd, src, dst, "--dry-run", "--plan", path, *extra, check=check, env=env)
        with open(path) as f:
            return p, [json.loads(l) for l in f][1:-1]  # no header, trailer

    def uploads(self):
        return sorted(u["Key"] for u in
                      self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []))

    def test_same_prefix_leaves_siblings_alone(self):
        """sync sto2:b/backup osl1:b/backup: nothing outside backup/ is listed, copied, deleted,
        checked; `b/backup/` is the same folder."""
        self.put_many(self.src, self.sb, ["backup/a", "backup/sub/b", "backup-2023/x", "backupX/y"])
        self.put_many(self.dst, self.db, ["backup/stale"] + SIBLINGS)
        src, dst = self.spec("src", "backup"), self.spec("dst", "backup")
        p = self.s3m("check", src, dst, check=10)
        lines = [re.match(r"(only on source|only on destination|differs|unverified) +\d+ (.*)  \(",
                          l) for l in p.stdout.splitlines()[:-1]]
        self.assertEqual(sorted((m.group(1), m.group(2)) for m in lines),
                         [("only on destination", "stale"), ("only on source", "a"),
                          ("only on source", "sub/b")])
        self.s3m("copy", src, dst, check=0)  # copy: never a key of another folder
        self.assertEqual(sorted(snapshot(self.dst, self.db)),
                         sorted(["backup/a", "backup/stale", "backup/sub/b"] + SIBLINGS))
        p, acts = self.plan("sync", src, dst)
        self.assertEqual([(a["action"], a["key"]) for a in acts if a["action"] != "skip"],
                         [("delete", "stale")])
        self.assertNotIn("backup-2023", p.stdout)
        self.assertRegex(p.stdout, r"would be deleted 1 ")
        self.s3m("sync", src, dst, check=0)
        want = sorted(["backup/a", "backup/sub/b"] + SIBLINGS)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), want)
        p = self.s3m("sync", src + "/", dst + "/", check=0)  # the same folder: nothing to do
        self.assertRegex(p.stdout, r"copied 0 .*updated 0 .*deleted 0 ")
        self.assertEqual(sorted(snapshot(self.dst, self.db)), want)
        self.s3m("check", src, dst, check=0)
        self.s3m("check", "sto2:/%s/backup/" % self.sb, dst, check=0)  # rclone's remote:/bucket

    def test_different_prefixes_map_the_folder(self):
        self.put_many(self.src, self.sb, ["data/k", "data/sub/k2", "data-2023/k", "datum"])
        self.put_many(self.dst, self.db, ["mirror-old/keep", "mirrors", "mirror/gone"])
        p, acts = self.plan("sync", self.spec("src", "data"), self.spec("dst", "mirror"))
        self.assertEqual(sorted((a["action"], a["key"]) for a in acts),
                         [("copy", "k"), ("copy", "sub/k2"), ("delete", "gone")])
        self.s3m("sync", self.spec("src", "data"), self.spec("dst", "mirror"), check=0)
        got = snapshot(self.dst, self.db, content=True)
        self.assertEqual(sorted(got), ["mirror-old/keep", "mirror/k", "mirror/sub/k2", "mirrors"])
        srcs = snapshot(self.src, self.sb, content=True)
        self.assertEqual(got["mirror/k"], srcs["data/k"])
        self.assertEqual(got["mirror/sub/k2"], srcs["data/sub/k2"])

    def test_filters_see_keys_relative_to_the_folder(self):
        """An anchored glob is anchored at the folder, whether the path ends in '/' or not."""
        self.put_many(self.src, self.sb, ["backup/a", "backup/sub/b", "backup/c.tmp"])
        for path in ("backup", "backup/"):
            p, acts = self.plan("sync", self.spec("src", path), self.spec("dst", "backup"),
                                "--exclude", "/sub/**", "--exclude", "*.tmp")
            self.assertEqual([(a["action"], a["key"]) for a in acts], [("copy", "a")])
            p, acts = self.plan("sync", self.spec("src", path), self.spec("dst", "backup"),
                                "--include", "/a")
            self.assertEqual([(a["action"], a["key"]) for a in acts], [("copy", "a")])

    def test_ls_lists_only_the_folder(self):
        keys = ["backup/a", "backup/sub/b"] + SIBLINGS
        self.put_many(self.src, self.sb, keys)
        for path in ("backup", "backup/", "/backup"):
            spec = "sto2:%s/%s" % (self.sb, path) if path[0] != "/" else "sto2:/%s%s" % (self.sb, path)
            self.assertEqual([o["key"] for o in self.ls_json(spec)], ["backup/a", "backup/sub/b"])
        self.assertEqual(sorted(o["key"] for o in self.ls_json("sto2:" + self.sb + "/")), sorted(keys))
        # lsd REMOTE:BUCKET[/PATH]: the folders directly inside, not the buckets of the remote
        lsd = lambda spec: [json.loads(l)["name"] for l in
                            self.s3m("lsd", "--json", spec, check=0).stdout.splitlines()]
        self.assertEqual(lsd("sto2:%s/backup" % self.sb), ["backup/sub/"])
        self.assertEqual(lsd("sto2:%s/backup/sub/" % self.sb), [])
        self.assertEqual(lsd("sto2:" + self.sb), ["backup-2023/", "backup/", "backupX/"])
        self.put_many(self.src, self.sb, ["backup/d%02d/x" % i for i in range(12)])
        p = self.s3m("lsd", "sto2:%s/backup" % self.sb, "--max-keys", "5", check=0)
        self.assertEqual([l.split()[-1] for l in p.stdout.splitlines()],
                         ["backup/d%02d/" % i for i in range(12)] + ["backup/sub/"])

    def test_sweep_leaves_uploads_of_other_folders(self):
        self.put_many(self.src, self.sb, ["backup/a"])
        for k in ("backup-2023/x", "backup/y", "backupX/z", "backup.old"):
            self.dst.create_multipart_upload(Bucket=self.db, Key=k)
        time.sleep(1.2)  # initiated before the runs start
        p = self.s3m("sync", self.spec("src", "backup"), self.spec("dst", "backup"), "--dry-run",
                     check=0)
        self.assertEqual([l.split()[2] for l in p.stdout.splitlines() if l.startswith("abort")],
                         ["y"])
        p = self.s3m("sync", self.spec("src", "backup"), self.spec("dst", "backup"), check=0)
        self.assertIn("aborted 1 multipart upload(s)", p.stdout)
        self.assertEqual(self.uploads(), ["backup-2023/x", "backup.old", "backupX/z"])
        for k in ("backup-2023/x", "backup.old", "backupX/z"):
            for u in self.dst.list_multipart_uploads(Bucket=self.db, Prefix=k).get("Uploads", []):
                self.dst.abort_multipart_upload(Bucket=self.db, Key=u["Key"], UploadId=u["UploadId"])

    def test_shards_and_key_ranges_with_a_prefix(self):
        """shard-plan, --shard-boundaries, --shard by hash, and the ranges found under '/' (and
        learned for the next run) all cut the folder's keys, relative to it."""
        inside = ["backup/%s/obj-%02d" % (p, i) for p in ("alpha", "beta", "gamma", "delta")
                  for i in range(6)] + ["backup/top"]
        outside = ["backup-2023/%s/o" % p for p in ("a", "b", "c")] + ["backup.old", "backupX/k"]
        self.put_many(self.src, self.sb, inside + outside)
        self.put_many(self.dst, self.db, SIBLINGS + ["backup/zz-extra"])
        src, dst = self.spec("src", "backup"), self.spec("dst", "backup")
        planf = os.path.join(self.tmp, unique("shards.txt"))
        self.s3m("shard-plan", src, "3", "-o", planf, check=0)
        bounds = [l.strip() for l in open(planf) if not l.startswith("#")]
        self.assertEqual(len(bounds), 2)
        rel = sorted(k[len("backup/"):] for k in inside)
        for b in bounds:
            self.assertIn(b, rel)  # a key of the folder, relative to it
        self.assertIn("%d keys" % len(inside), open(planf).readline())
        full = sorted((a["action"], a["key"]) for a in self.plan("sync", src, dst)[1])
        self.assertEqual(len(full), len(inside) + 1)
        for extra in (["--shard-boundaries", planf], []):
            seen = []
            for i in range(3):
                seen += [(a["action"], a["key"]) for a in
                         self.plan("sync", src, dst, "--shard", "%d/3" % i, *extra)[1]]
            self.assertEqual(sorted(seen), full)
        # ranges under '/' of the folder: alpha/ beta/ delta/ gamma/ top
        p = self.s3m("sync", src, dst, "--list-concurrency", "4", "--max-keys", "3", "-v", check=0)
        self.assertIn("listing 4 key ranges at once", p.stderr)
        for i in range(3):
            self.s3m("sync", src, dst, "--shard", "%d/3" % i, "--shard-boundaries", planf, check=0)
        got = snapshot(self.dst, self.db)
        self.assertEqual(sorted(got), sorted(inside + SIBLINGS))

    def test_learned_ranges_with_a_prefix(self):
        """Without '/' structure the ranges come from the last run's sample: keys of the folder
        only, relative to it."""
        inside = ["backup/k%05d" % i for i in range(10050)]
        self.put_many(self.src, self.sb, inside + ["backup-2023", "backup0", "backupX"])
        cache = os.path.join(self.tmp, unique("cache"))
        os.makedirs(cache)
        env = {"S3MIRROR_CACHE_DIR": cache}
        src, dst = self.spec("src", "backup"), self.spec("dst", "backup")
        self.s3m("sync", src, dst, "--dry-run", check=0, env=env)
        files = os.listdir(cache)
        self.assertEqual(len(files), 1)
        bounds = [l.strip() for l in open(os.path.join(cache, files[0])) if not l.startswith("#")]
        self.assertTrue(bounds)
        for b in bounds:
            self.assertRegex(b, r"^k\d{5}$")
        p, acts = self.plan("sync", src, dst, "-v", env=env)
        self.assertIn("key ranges at once", p.stderr)
        self.assertEqual(sorted(a["key"] for a in acts if a["action"] == "copy"),
                         [k[len("backup/"):] for k in inside])
        self.assertEqual(len(acts), len(inside))

    def test_one_page_source_listed_in_one_range(self):
        """A source whose last listing fit in one page is listed in one range (no discovery, no
        ranges: they would only add requests); once it outgrows the page, the next run splits
        it again. The decisions are the same either way."""
        keys = ["%s/k%02d" % (d, i) for d in ("alpha", "beta", "delta", "gamma") for i in range(3)]
        self.put_many(self.src, self.sb, keys)
        cache = os.path.join(self.tmp, unique("cache"))
        os.makedirs(cache)
        env = {"S3MIRROR_CACHE_DIR": cache}
        args = ("sync", self.spec("src"), self.spec("dst"), "--list-concurrency", "4",
                "--max-keys", "20", "-v")
        runs = [self.s3m(*args, check=0, env=env) for _ in range(2)]
        self.assertIn("listing 4 key ranges at once", runs[0].stderr)
        self.assertIn("listing in one range: the last run listed 12 source keys", runs[1].stderr)
        self.assertNotIn("key ranges at once", runs[1].stderr)
        more = ["%s/m%02d" % (d, i) for d in ("alpha", "beta", "delta", "gamma") for i in range(5)]
        self.put_many(self.src, self.sb, more)
        runs = [self.s3m(*args, check=0, env=env) for _ in range(2)]
        self.assertIn("the last run listed 12 source keys", runs[0].stderr)  # what it knew
        self.assertIn("listing 4 key ranges at once", runs[1].stderr)  # 32 keys: two pages
        for p in runs:
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertEqual(sorted(snapshot(self.dst, self.db)), sorted(keys + more))

    def test_folder_marker_on_the_source(self):
        """sync src:b/dir/ dst:b2 with a 0-byte dir/ on the source: the marker is the folder
        itself; nothing is written at the bucket root, and every run exits 0."""
        self.src.put_object(Bucket=self.sb, Key="dir/", Body=b"")
        self.put_many(self.src, self.sb, ["dir/a", "dir/sub/b", "dir-x/c"])
        self.src.put_object(Bucket=self.sb, Key="dir/sub/", Body=b"")  # an inner marker: an object
        for path in ("dir/", "dir"):
            p, acts = self.plan("sync", self.spec("src", path), self.spec("dst"))
            self.assertIn({"action": "skip", "bucket": self.sb, "key": "", "size": 0,
                           "why": "source folder marker %s/dir/: the folder itself, not copied"
                           % self.sb}, acts)
            self.assertEqual(sorted(a["key"] for a in acts if a["action"] == "copy"),
                             ["a", "sub/", "sub/b"])
            self.assertIn("source folder marker %s/dir/: the folder itself, not copied" % self.sb,
                          p.stdout)
        # shards by hash: the marker is said once, by one shard
        said = [a for i in range(3) for a in
                self.plan("sync", self.spec("src", "dir"), self.spec("dst"), "--shard", "%d/3" % i)[1]
                if a["key"] == ""]
        self.assertEqual(len(said), 1)
        for _ in range(2):
            p = self.s3m("sync", self.spec("src", "dir/"), self.spec("dst"), check=0)
            self.assertNotIn("NOT deleted", p.stdout)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["a", "sub/", "sub/b"])
        self.s3m("check", self.spec("src", "dir/"), self.spec("dst"), check=0)
        # into a folder of the destination: dst/dir/ is not created from the marker either
        self.s3m("sync", self.spec("src", "dir"), self.spec("dst", "copy"), check=0)
        self.assertNotIn("copy/", snapshot(self.dst, self.db))

    def test_folder_marker_on_the_destination(self):
        """The destination folder's own marker is kept: not "not on source", not the empty key."""
        self.put_many(self.src, self.sb, ["data/a"])
        self.dst.put_object(Bucket=self.db, Key="mirror/", Body=b"")
        self.put_many(self.dst, self.db, ["mirror/stale"])
        for path in ("mirror/", "mirror"):
            p, acts = self.plan("sync", self.spec("src", "data"), self.spec("dst", path))
            self.assertEqual(sorted((a["action"], a["key"]) for a in acts),
                             [("copy", "a"), ("delete", "stale"), ("skip", "")])
            self.assertIn("destination folder marker %s/mirror/: the folder itself, kept" % self.db,
                          p.stdout)
        for _ in range(2):
            self.s3m("sync", self.spec("src", "data"), self.spec("dst", "mirror/"), check=0)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["mirror/", "mirror/a"])
        self.s3m("check", self.spec("src", "data"), self.spec("dst", "mirror/"), check=0)
        # markers on both sides: each stays where it is
        self.src.put_object(Bucket=self.sb, Key="data/", Body=b"")
        self.s3m("sync", self.spec("src", "data/"), self.spec("dst", "mirror"), check=0)
        self.assertEqual(sorted(snapshot(self.dst, self.db)), ["mirror/", "mirror/a"])
        # the sweep does not abort an upload of the marker either (no key the job writes)
        self.dst.create_multipart_upload(Bucket=self.db, Key="mirror/")
        time.sleep(1.2)
        p = self.s3m("sync", self.spec("src", "data"), self.spec("dst", "mirror"), check=0)
        self.assertNotIn("aborted", p.stdout)
        self.assertEqual(self.uploads(), ["mirror/"])
        for u in self.dst.list_multipart_uploads(Bucket=self.db).get("Uploads", []):
            self.dst.abort_multipart_upload(Bucket=self.db, Key=u["Key"], UploadId=u["UploadId"])

    def test_key_slash_at_the_bucket_root(self):
        """At a bucket's root the folder marker would be the key "", which cannot exist; a key
        "/" is an ordinary object there and is mirrored to "/"."""
        try:
            self.src.put_object(Bucket=self.sb, Key="/", Body=b"slash")
        except Exception as e:  # a server that refuses the key has nothing to mirror
            self.skipTest("server refuses the key '/': %s" % e)
        if "/" not in snapshot(self.src, self.sb):
            self.skipTest("server does not list the key '/'")
        self.put_many(self.src, self.sb, ["a"])
        for _ in range(2):
            self.s3m("sync", self.spec("src"), self.spec("dst"), check=0)
        self.assertEqual(snapshot(self.dst, self.db, content=True),
                         snapshot(self.src, self.sb, content=True))

    def test_paths_that_name_no_folder_are_refused(self):
        """S3 keys are not normalised: an empty, '.' or '..' segment is refused, not guessed."""
        for path, want in (("/x", "empty segment"), ("x//y", "empty segment"),
                           ("x//", "empty segment"), ("/", "empty segment"),
                           ("./x", "'.' segment"), ("x/..", "'..' segment"),
                           ("a/../b/", "'..' segment"), ("..", "'..' segment")):
            spec = "sto2:%s/%s" % (self.sb, path)
            for argv in (("sync", spec, self.spec("dst")), ("sync", self.spec("src"), spec),
                         ("ls", spec), ("shard-plan", spec, "2")):
                p = self.s3m(*argv, check=1)
                self.assertIn(want, p.stderr, argv)
        self.assertEqual(snapshot(self.dst, self.db), {})

    def test_one_folder_one_lock(self):
        """b/x, b/x/ and remote:/b/x are one job: a run under any spelling is turned away (exit 11)
        while another spelling holds the default lock, and the metrics name the job one way."""
        import fcntl
        import hashlib
        self.put_many(self.src, self.sb, ["x/a"])
        key = "%s\n%s" % (self.spec("src", "x"), self.spec("dst", "x"))
        lock = os.path.join(os.environ["XDG_RUNTIME_DIR"],
                            "s3mirror-%s.lock" % hashlib.sha256(key.encode()).hexdigest()[:16])
        with open(lock, "w") as held:  # a run of `sync b/x b/x` holds the job's lock
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            for src, dst in ((self.spec("src", "x/"), self.spec("dst", "x")),
                             ("sto2:/%s/x" % self.sb, self.spec("dst", "x/"))):
                self.s3m("sync", src, dst, check=11)
        self.assertEqual(snapshot(self.dst, self.db), {})
        prom = os.path.join(self.tmp, unique("m.prom"))
        self.s3m("sync", self.spec("src", "x/"), self.spec("dst", "x/"), "--metrics-file", prom,
                 check=0)
        with open(prom) as f:
            self.assertIn('src="%s",dst="%s"' % (self.spec("src", "x"), self.spec("dst", "x")),
                          f.read())
