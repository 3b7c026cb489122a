"""Review of object tags (issue 17): failures around tag requests, edge values, caps, resume.
boto3's get_object_tagging and the object bytes are the checker."""
import hashlib
import os
import unittest  # noqa: F401  (the runner collects TestCase classes)
from urllib.parse import quote, urlencode

from e2e import conf_with, for_each_kind, proxied_conf, put_multipart
from faultproxy import Proxy
from test_tags import px_dst

MIB = 1024 * 1024
TAGS = {"env": "prod", "note": "a b=c+d/e:f@g", "owner": "Ålesund", "empty": ""}


def tagset(client, bucket, key):
    r = client.get_object_tagging(Bucket=bucket, Key=key)
    return {t["Key"]: t["Value"] for t in r.get("TagSet", [])}


def md5(client, bucket, key):
    return hashlib.md5(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def tagging(tags):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


@for_each_kind
class ReviewTagsTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "rtsrc")
        self.db = self.bucket(self.dst, "rtdst")

    def test_review_mpu_tag_write_failed_then_next_run_writes_them(self):
        """PutObjectTagging after a multipart Complete fails (the run exits 6): the object is on
        the destination with its source's ETag (radosgw ignores x-amz-tagging on Create). The
        error says so and names the repair, a run with --compare etag,tags (man: TAGS), which
        writes them; an ordinary run cannot see a tag-only difference."""
        data = os.urandom(5 * MIB + 1000)
        put_multipart(self.src, self.sb, "big", data, 5 * MIB)
        self.src.put_object_tagging(Bucket=self.sb, Key="big", Tagging=tagging(TAGS))
        proxy, conf = px_dst(self)
        proxy.add("status", method="PUT", query=r"(^|&)tagging", status=500)
        p = self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--retries", "1", check=6,
                     conf=conf)
        self.assertIn("--compare etag,tags writes them", p.stderr)
        proxy.clear()
        self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--compare", "etag,tags", check=0,
                 conf=conf)
        self.assertEqual(md5(self.dst, self.db, "big"), hashlib.md5(data).hexdigest())
        self.assertEqual(tagset(self.dst, self.db, "big"), TAGS)

    def test_review_resumed_upload_gets_the_current_tags(self):
        """an earlier run's upload (created with the tags the source had then) is resumed after
        the source's tags were removed: the completed object must carry none"""
        data = os.urandom(10 * MIB + 1000)
        put_multipart(self.src, self.sb, "big", data, 5 * MIB)
        mp = self.dst.create_multipart_upload(Bucket=self.db, Key="big", Tagging="old=1")
        self.dst.upload_part(Bucket=self.db, Key="big", UploadId=mp["UploadId"], PartNumber=1,
                             Body=data[:5 * MIB])
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "-v", check=0)
        self.assertIn("resumed", p.stderr)
        self.assertEqual(md5(self.dst, self.db, "big"), hashlib.md5(data).hexdigest())
        self.assertEqual(tagset(self.dst, self.db, "big"), {})
        # and with ',tags' the difference is seen and settled
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                 check=0)
        self.assertEqual(tagset(self.dst, self.db, "big"), {})

    def test_review_edge_values(self):
        """exactly 10 tags, a 128-character key and a 256-character value, unicode (radosgw
        refuses a 128-character key of 2-byte characters: it counts bytes),
        '+', '=', '/', ':', '@', spaces, empty values: streamed single-part, multipart,
        server-side; then --compare etag,tags finds nothing to update"""
        tags = {"k" * 128: "v" * 256, "é" * 20: "ж" * 40, "a+b": "1+2", "a=b": "x=y",
                "p/q": "/r/", "sp ace": " lead and trail ", "e": "", "at@": "m:n@o",
                "n.u_m-9": "0", "Z": "z"}
        self.assertEqual(len(tags), 10)
        enc = urlencode(tags, quote_via=quote)
        self.src.put_object(Bucket=self.sb, Key="one", Body=b"1" * 100, Tagging=enc)
        data = os.urandom(5 * MIB + 10)
        put_multipart(self.src, self.sb, "mp", data, 5 * MIB)
        self.src.put_object_tagging(Bucket=self.sb, Key="mp", Tagging=tagging(tags))
        # what the source holds (moto strips the blanks around a value in a PutObjectTagging
        # body, boto3's too: the source's own tags are the reference)
        self.assertEqual(tagset(self.src, self.sb, "one"), tags)
        want = {key: tagset(self.src, self.sb, key) for key in ("one", "mp")}
        self.assertEqual(len(want["mp"]), 10)
        other = self.bucket(self.src, "rtss")
        for spec, client, b in (("osl1:" + self.db, self.dst, self.db),
                                ("sto2:" + other, self.src, other)):
            self.s3m("sync", "sto2:" + self.sb, spec, check=0)
            for key in ("one", "mp"):
                self.assertEqual(tagset(client, b, key), want[key], (spec, key))
            self.assertEqual(md5(client, b, "mp"), hashlib.md5(data).hexdigest())
            p = self.s3m("sync", "sto2:" + self.sb, spec, "--compare", "etag,tags", "--dry-run",
                         check=0)
            self.assertIn("would update 0", p.stdout, p.stdout)

    def tag_diffs(self, n=3):
        for i in range(n):
            self.src.put_object(Bucket=self.sb, Key="k%d" % i, Body=b"x%d" % i, Tagging="a=1")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        for i in range(n):
            self.src.put_object_tagging(Bucket=self.sb, Key="k%d" % i,
                                        Tagging=tagging({"a": "2"}))

    def test_review_max_change_counts_tag_updates(self):
        """three tag-only differences under --max-change 1: refused (exit 12), no tag written"""
        self.tag_diffs()
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                 "--max-change", "1", check=12)
        for i in range(3):
            self.assertEqual(tagset(self.dst, self.db, "k%d" % i), {"a": "1"})

    def test_review_immutable_refuses_tag_updates(self):
        self.tag_diffs(1)
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                     "--immutable", check=13)
        self.assertIn("k0", p.stdout + p.stderr)
        self.assertEqual(tagset(self.dst, self.db, "k0"), {"a": "1"})

    def test_review_bad_tag_replies_fail_safely(self):
        """GetObjectTagging answered 200 with an empty body, a truncated document, another
        document, 500 and 403: the object is not copied (streamed) and a ',tags' check writes or
        removes nothing; nothing is deleted"""
        self.src.put_object(Bucket=self.sb, Key="t", Body=b"t" * 10, Tagging="a=1")
        self.dst.put_object(Bucket=self.db, Key="zz", Body=b"z")
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "spx", self.sto2, proxy.endpoint)
        faults = [("listing", {"edit": lambda d: b""}),
                  ("listing", {"edit": lambda d: d[: len(d) // 2]}),
                  ("listing", {"edit": lambda d: b"<?xml version=\"1.0\"?><Foo/>"}),
                  ("status", {"status": 500}), ("status", {"status": 403, "code": "AccessDenied"})]
        for action, kw in faults:
            proxy.clear()
            proxy.add(action, method="GET", query=r"(^|&)tagging", **kw)
            p = self.s3m("sync", "spx:" + self.sb, "osl1:" + self.db, "--retries", "1",
                         conf=conf)
            self.assertIn(p.returncode, (6, 7), (action, kw, p.stderr[-2000:]))
            keys = sorted(o["Key"] for o in self.dst.list_objects_v2(Bucket=self.db)
                          .get("Contents", []))
            self.assertEqual(keys, ["zz"], (action, p.stderr[-2000:]))
        # the pair copied, the source's tags changed; a ',tags' check with bad source replies
        proxy.clear()
        self.s3m("sync", "spx:" + self.sb, "osl1:" + self.db, check=0, conf=conf)
        self.src.put_object_tagging(Bucket=self.sb, Key="t", Tagging=tagging({"a": "2"}))
        for action, kw in faults:
            proxy.clear()
            proxy.add(action, method="GET", query=r"(^|&)tagging", **kw)
            p = self.s3m("sync", "spx:" + self.sb, "osl1:" + self.db, "--retries", "1",
                         "--compare", "etag,tags", conf=conf)
            self.assertIn(p.returncode, (6, 7), (action, kw, p.stderr[-2000:]))
            self.assertEqual(tagset(self.dst, self.db, "t"), {"a": "1"}, action)

    def test_review_cutoff_between_complete_and_tags(self):
        """--max-duration (hard) runs out while the PutObjectTagging after a multipart Complete
        waits: the run exits 15. The object is there with its source's ETag; a run with
        --compare etag,tags writes its tags (man: TAGS)"""
        data = os.urandom(5 * MIB + 1000)
        put_multipart(self.src, self.sb, "big", data, 5 * MIB)
        self.src.put_object_tagging(Bucket=self.sb, Key="big", Tagging=tagging(TAGS))
        proxy, conf = px_dst(self)
        proxy.add("stall", method="PUT", query=r"(^|&)tagging", seconds=20)
        p = self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--max-duration", "3s",
                     "--cutoff-mode", "hard", conf=conf)
        self.assertNotEqual(p.returncode, 0, p.stderr[-2000:])
        proxy.clear()
        self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--compare", "etag,tags", check=0,
                 conf=conf)
        self.assertEqual(md5(self.dst, self.db, "big"), hashlib.md5(data).hexdigest())
        self.assertEqual(tagset(self.dst, self.db, "big"), TAGS)

    def test_review_odd_keys(self):
        """keys that need encoding in the ?tagging request (space, '+', '=', unicode, '?', '&'):
        streamed, multipart, and a ',tags' update"""
        keys = ["a b+c=d", "dir/ü ñ", "q?x&y=1", "p%41"]
        for k in keys:
            self.src.put_object(Bucket=self.sb, Key=k, Body=k.encode(), Tagging="t=v")
        put_multipart(self.src, self.sb, "m p+ü", os.urandom(5 * MIB + 5), 5 * MIB)
        self.src.put_object_tagging(Bucket=self.sb, Key="m p+ü", Tagging=tagging({"m": "1"}))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        for k in keys:
            self.assertEqual(tagset(self.dst, self.db, k), {"t": "v"}, k)
        self.assertEqual(tagset(self.dst, self.db, "m p+ü"), {"m": "1"})
        for k in keys + ["m p+ü"]:
            self.src.put_object_tagging(Bucket=self.sb, Key=k, Tagging=tagging({"n": "2"}))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "tags", check=0)
        for k in keys + ["m p+ü"]:
            self.assertEqual(tagset(self.dst, self.db, k), {"n": "2"}, k)

    def test_review_backup_dir_keeps_tags(self):
        """an overwritten single-part and multipart object, and a deleted one, keep their tags
        in --backup-dir"""
        self.dst.put_object(Bucket=self.db, Key="s", Body=b"old", Tagging="o=1")
        put_multipart(self.dst, self.db, "m", os.urandom(5 * MIB + 7), 5 * MIB)
        self.dst.put_object_tagging(Bucket=self.db, Key="m", Tagging=tagging({"o": "2"}))
        self.dst.put_object(Bucket=self.db, Key="gone", Body=b"g", Tagging="o=3")
        self.src.put_object(Bucket=self.sb, Key="s", Body=b"new!", Tagging="n=1")
        self.src.put_object(Bucket=self.sb, Key="m", Body=b"new multipart")
        bk = self.bucket(self.dst, "rtbk")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--backup-dir", "osl1:" + bk,
                 check=0)
        self.assertEqual(tagset(self.dst, self.db, "s"), {"n": "1"})
        self.assertEqual(tagset(self.dst, self.db, "m"), {})
        for k, t in (("s", {"o": "1"}), ("m", {"o": "2"}), ("gone", {"o": "3"})):
            self.assertEqual(tagset(self.dst, bk, k), t, k)

    def test_review_no_tags_clear_failed_on_ceph(self):
        """--no-tags, a server-side copy on a provider = Ceph remote: removing the tags radosgw
        copied fails (exit 6): the error says the object keeps them and how to remove them
        (man: TAGS)"""
        if self.kind != "ceph":
            self.skipTest("radosgw copies tags whatever the directive")
        self.src.put_object(Bucket=self.sb, Key="k", Body=b"k", Tagging="a=1")
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = conf_with(self.conf, "[cpx]\ntype = s3\nprovider = Ceph\naccess_key_id = %s\n"
                         "secret_access_key = %s\nendpoint = %s\n\n" % (
                             self.sto2.access_key, self.sto2.secret_key, proxy.endpoint))
        other = self.bucket(self.src, "rtnt")
        proxy.add("status", method=("PUT", "DELETE"), query=r"(^|&)tagging", status=500)
        p = self.s3m("sync", "cpx:" + self.sb, "cpx:" + other, "--no-tags", "--retries", "1",
                     check=6, conf=conf)
        self.assertIn("the object keeps them", p.stderr)
        self.assertEqual(tagset(self.src, other, "k"), {"a": "1"})

    def test_review_tag_update_with_backup_dir_and_max_change(self):
        """a tag-only update under --backup-dir and under a --max-change that holds it: the
        object stays (bytes, ETag), its tags become the source's"""
        self.tag_diffs(2)
        before = {k: md5(self.dst, self.db, k) for k in ("k0", "k1")}
        bk = self.bucket(self.dst, "rtbk2")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                 "--backup-dir", "osl1:" + bk, check=0)
        for k in ("k0", "k1"):
            self.assertEqual(md5(self.dst, self.db, k), before[k], k)
            self.assertEqual(tagset(self.dst, self.db, k), {"a": "2"}, k)
            self.src.put_object_tagging(Bucket=self.sb, Key=k, Tagging=tagging({"a": "3"}))
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                 "--max-change", "100%", check=0)
        for k in ("k0", "k1"):
            self.assertEqual(md5(self.dst, self.db, k), before[k], k)
            self.assertEqual(tagset(self.dst, self.db, k), {"a": "3"}, k)

    def test_review_check_and_cutoff_in_tag_read(self):
        """`check --compare etag,tags` reports a tag-only difference (exit 10; 0 without the
        mode); a cut-off while the source's tags are read stores no untagged copy"""
        self.tag_diffs(1)
        self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        p = self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tags",
                     check=10)
        self.assertIn("k0", p.stdout + p.stderr)
        self.assertEqual(tagset(self.dst, self.db, "k0"), {"a": "1"})
        self.src.put_object(Bucket=self.sb, Key="new", Body=b"n" * 1000, Tagging="b=2")
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "spx", self.sto2, proxy.endpoint)
        proxy.add("stall", method="GET", query=r"(^|&)tagging", seconds=15)
        for mode in ("hard",):
            p = self.s3m("sync", "spx:" + self.sb, "osl1:" + self.db, "--max-duration", "2s",
                         "--cutoff-mode", mode, conf=conf)
            self.assertIn(p.returncode, (6, 15), p.stderr[-2000:])
            keys = [o["Key"] for o in self.dst.list_objects_v2(Bucket=self.db)["Contents"]]
            if "new" in keys:
                self.assertEqual(tagset(self.dst, self.db, "new"), {"b": "2"}, mode)

    def test_review_stalled_tag_read_does_not_crash(self):
        """the source's GetObjectTagging stalls (no answer for 4 s, then the connection closes)
        until the client gives up, while the GET waits paused: the object fails (exit 5), the
        run must not abort ('the loop ran out of work in the middle of a job (a bug)', SIGABRT;
        the same with --max-duration 2s --cutoff-mode soft)"""
        self.src.put_object(Bucket=self.sb, Key="new", Body=b"n" * 1000, Tagging="b=2")
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "spx", self.sto2, proxy.endpoint)
        proxy.add("stall", method="GET", query=r"(^|&)tagging", seconds=4)
        p = self.s3m("sync", "spx:" + self.sb, "osl1:" + self.db, "--retries", "1", conf=conf)
        self.assertIn(p.returncode, (5, 6), p.stderr[-2000:])
        self.assertNotIn("Contents", self.dst.list_objects_v2(Bucket=self.db))
