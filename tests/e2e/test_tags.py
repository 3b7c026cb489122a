"""Object tags: read from the source and written with the object (x-amz-tagging on PutObject,
PutObjectTagging once a multipart upload is complete; CopyObject copies them itself), a tag-only difference updated by
PutObjectTagging under --compare MODE,tags, --no-tags. boto3's get_object_tagging checks."""
import json
import os
import unittest  # noqa: F401  (the runner collects TestCase classes)
from urllib.parse import quote, urlencode

from e2e import conf_with, for_each_kind, proxied_conf, put_multipart, remote_section
from faultproxy import Proxy

MIB = 1024 * 1024
# values that need URL-encoding in x-amz-tagging: spaces, '=', '+', '/', ':', '@', unicode
# letters (moto refuses what AWS's pattern [\p{L}\p{Z}\p{N}_.:/=+-@] does not allow, '&' and '%'
# among them; radosgw takes those too: setUp adds them on Ceph)
TAGS = {"env": "prod", "note": "a b=c+d/e:f@g", "owner": "Ålesund", "ключ": "значение",
        "empty": ""}
OTHER = {"env": "test", "k2": "v 2"}
MOVED = "moved = ÿ"


def tagset(client, bucket, key):
    r = client.get_object_tagging(Bucket=bucket, Key=key)
    return {t["Key"]: t["Value"] for t in r.get("TagSet", [])}  # radosgw: no TagSet for none


def px_dst(test):
    """a fault proxy before test's destination (remote px), its provider as the server is (the
    provider says how tags are removed: see clear); (proxy, config file)"""
    proxy = Proxy(test.osl1.endpoint)
    test.addCleanup(proxy.stop)
    provider = "Ceph" if test.kind == "ceph" else "Other"
    return proxy, conf_with(test.conf, remote_section("px", test.osl1, proxy.endpoint, provider))


@for_each_kind
class TagsTest:
    def setUp(self):
        # per test, never the module's: the Ceph classes run in the same process as moto's
        self.tags = dict(TAGS, amp="x&y=z%41", mark="✓ ok") if self.kind == "ceph" else TAGS
        self.sb = self.bucket(self.src, "tgsrc")
        self.db = self.bucket(self.dst, "tgdst")

    def fill(self, client, bucket):
        """small (tagged), plain (none), empty (tagged, 0 bytes), big (multipart, tagged)"""
        client.put_object(Bucket=bucket, Key="small", Body=b"s" * 1000, Tagging=urlencode(self.tags, quote_via=quote))
        client.put_object(Bucket=bucket, Key="plain", Body=b"p" * 100)
        client.put_object(Bucket=bucket, Key="empty", Body=b"", Tagging=urlencode(OTHER, quote_via=quote))
        put_multipart(client, bucket, "big", os.urandom(5 * MIB + 1000), 5 * MIB)
        client.put_object_tagging(Bucket=bucket, Key="big", Tagging={
            "TagSet": [{"Key": k, "Value": v} for k, v in self.tags.items()]})

    def clear(self, client, bucket, key):
        """remove every tag as s3mirror does: radosgw blanks the object's listed ETag on
        DeleteObjectTagging and takes an empty PutObjectTagging, which moto answers with 500"""
        if self.kind == "ceph":
            client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": []})
        else:
            client.delete_object_tagging(Bucket=bucket, Key=key)

    def expect(self, client, bucket, tags=True):
        want = {"small": self.tags, "plain": {}, "empty": OTHER, "big": self.tags}
        for key, t in want.items():
            self.assertEqual(tagset(client, bucket, key), t if tags else {}, key)

    def test_streamed(self):
        """(1) between endpoints: single-part, empty and multipart objects carry their tags"""
        self.fill(self.src, self.sb)
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        self.assertEqual(self.dst.head_object(Bucket=self.db, Key="big")["ETag"],
                         self.src.head_object(Bucket=self.sb, Key="big")["ETag"])
        self.expect(self.dst, self.db)

    def test_server_side(self):
        """(2) within one endpoint: CopyObject and UploadPartCopy copies carry the tags; with
        --no-tags (4) they carry none"""
        self.fill(self.src, self.sb)
        other = self.bucket(self.src, "tgss")
        p = self.s3m("sync", "sto2:" + self.sb, "sto2:" + other, "-v", check=0)
        self.expect(self.src, other)
        none = self.bucket(self.src, "tgssn")
        self.s3m("sync", "sto2:" + self.sb, "sto2:" + none, "--no-tags", check=0)
        self.expect(self.src, none, tags=False)
        # CopyObject copies the tags itself; the multipart copy reads them once (for
        # CreateMultipartUpload: UploadPartCopy copies none)
        self.assertRegex(p.stderr, r"GetObjectTagging=1\b")

    def test_chunked(self):
        """a single-part source above --multipart-threshold, copied in parts of the chunk size
        (streamed and server-side): its tags and metadata (one HEAD) go with it"""
        self.src.put_object(Bucket=self.sb, Key="one", Body=os.urandom(5 * MIB + 10),
                            ContentType="application/x-tags", Tagging=urlencode(self.tags, quote_via=quote))
        other = self.bucket(self.src, "tgch")
        for dst, client, bucket in (("osl1:" + self.db, self.dst, self.db),
                                    ("sto2:" + other, self.src, other)):
            self.s3m("sync", "sto2:" + self.sb, dst, "--multipart-threshold", "5M",
                     "--multipart-chunk-size", "5M", check=0)
            self.assertEqual(tagset(client, bucket, "one"), self.tags, dst)
            h = client.head_object(Bucket=bucket, Key="one")
            self.assertEqual(h["ContentType"], "application/x-tags", dst)
            self.assertTrue(h["ETag"].endswith('-2"'), h["ETag"])

    def test_no_tags_streamed(self):
        """(4) --no-tags: the copies carry no tags, and no GetObjectTagging is sent"""
        self.fill(self.src, self.sb)
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "px", self.sto2, proxy.endpoint)
        self.s3m("sync", "px:" + self.sb, "osl1:" + self.db, "--no-tags", check=0, conf=conf)
        self.expect(self.dst, self.db, tags=False)
        self.assertEqual(proxy.count("GET", r"(^|&)tagging"), 0)

    def test_reads_only_tagged(self):
        """GetObjectTagging only for the objects whose GET / HEAD said x-amz-tagging-count > 0"""
        self.fill(self.src, self.sb)
        proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(proxy.stop)
        conf = proxied_conf(self.conf, "px", self.sto2, proxy.endpoint)
        self.s3m("sync", "px:" + self.sb, "osl1:" + self.db, check=0, conf=conf)
        self.expect(self.dst, self.db)
        self.assertEqual(proxy.count("GET", r"(^|&)tagging"), 3)  # small, empty, big
        # a no-change run without the tags mode reads no tags at all
        proxy.clear()
        self.s3m("sync", "px:" + self.sb, "osl1:" + self.db, check=0, conf=conf)
        self.assertEqual(proxy.count("GET", r"(^|&)tagging"), 0)

    def test_compare_tags(self):
        """(3) a tag-only change (and a removal): nothing without the tags mode; with it the
        destination's tags are written (PutObjectTagging / DeleteObjectTagging), no data;
        (5) the dry run shows the updates and changes nothing"""
        self.fill(self.src, self.sb)
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        self.src.put_object_tagging(Bucket=self.sb, Key="small", Tagging={
            "TagSet": [{"Key": "env", "Value": MOVED}]})
        self.src.put_object_tagging(Bucket=self.sb, Key="plain", Tagging={
            "TagSet": [{"Key": "new", "Value": "1"}]})
        self.clear(self.src, self.sb, "big")
        want = {"small": {"env": MOVED}, "plain": {"new": "1"}, "empty": OTHER,
                "big": {}}
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run", check=0)
        self.assertNotIn("tags", p.stdout)  # documented: without the mode tags are not compared
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--dry-run", "--compare",
                     "etag,tags", check=0)
        for key in ("small", "plain", "big"):
            self.assertRegex(p.stdout, r"(?m)^update\s.*%s.*tags" % key, p.stdout)
        self.assertNotIn("empty", p.stdout)
        self.expect(self.dst, self.db)  # unchanged
        proxy, conf = px_dst(self)
        self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--compare", "etag,tags", check=0,
                 conf=conf)
        for key, t in want.items():
            self.assertEqual(tagset(self.dst, self.db, key), t, key)
        removed = "PUT" if self.kind == "ceph" else "DELETE"  # big's tags (see clear)
        self.assertEqual(proxy.count(removed, r"(^|&)tagging"), 3 if self.kind == "ceph" else 1,
                         [x for x in proxy.log if x[0] != "GET"])
        self.assertEqual(proxy.count("PUT", r"(^|&)tagging"), 3 if self.kind == "ceph" else 2)
        self.assertEqual(proxy.count("PUT"), proxy.count("PUT", r"(^|&)tagging"))  # no data
        self.assertEqual(self.dst.head_object(Bucket=self.db, Key="big")["ETag"],
                         self.src.head_object(Bucket=self.sb, Key="big")["ETag"])
        self.assertEqual(proxy.count("POST"), 0)  # no multipart upload
        # settled: the next run with the mode reads the tags again and changes nothing
        proxy.clear()
        p = self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--compare", "size,tags",
                     "--dry-run", check=0, conf=conf)
        self.assertNotRegex(p.stdout, r"(?m)^update", p.stdout)
        self.assertIn("would update 0", p.stdout)
        self.assertEqual(proxy.count("GET", r"(^|&)tagging"), 4)
        # checksum,tags: what the checksum mode settles as equal has its tags compared too
        self.src.put_object_tagging(Bucket=self.sb, Key="big", Tagging={
            "TagSet": [{"Key": "late", "Value": "1"}]})
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "checksum,tags",
                     "--dry-run", check=0)
        self.assertRegex(p.stdout, r"(?m)^update\s.*big\s+\(tags\)", p.stdout)
        self.assertIn("would update 1", p.stdout)

    def test_plan_apply(self):
        """a dry run's plan carries the tag update; apply writes the tags and nothing else"""
        self.src.put_object(Bucket=self.sb, Key="k", Body=b"x", Tagging="a=1")
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, check=0)
        self.src.put_object_tagging(Bucket=self.sb, Key="k",
                                    Tagging={"TagSet": [{"Key": "a", "Value": "2"}]})
        plan = os.path.join(self.tmp, "tags-%s.plan" % self.sb)
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "tags",
                 "--dry-run", "--plan", plan, check=0)
        with open(plan) as f:
            lines = [json.loads(x) for x in f if '"action"' in x]
        self.assertEqual([(x["action"], x["key"], x["why"]) for x in lines],
                         [("update", "k", "tags")])
        self.assertEqual(tagset(self.dst, self.db, "k"), {"a": "1"})
        self.s3m("apply", plan, "--no-lock", check=0)
        self.assertEqual(tagset(self.dst, self.db, "k"), {"a": "2"})

    def test_bad_args(self):
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "etag,tag",
                     check=1)
        self.assertIn("--compare", p.stderr)
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--compare", "tags",
                 "--no-tags", check=1)

    def test_refused_tags_fail_the_object(self):
        """tags the destination refuses (or the source's that cannot be read) fail that object
        (exit 6; 7 for AccessDenied; nothing deleted), never a copy said done without them"""
        self.fill(self.src, self.sb)
        self.dst.put_object(Bucket=self.db, Key="zz-extra", Body=b"x")  # a deletion to refuse
        proxy, conf = px_dst(self)
        # the multipart copy's PutObjectTagging after Complete refused
        proxy.add("status", method="PUT", query=r"(^|&)tagging", status=400, code="InvalidTag")
        p = self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--retries", "1", check=6,
                     conf=conf)
        self.assertRegex(p.stderr, r"big failed: InvalidTag.*writing its tags")
        self.assertIn("zz-extra", [o["Key"] for o in self.dst.list_objects_v2(
            Bucket=self.db).get("Contents", [])])
        # a tag update refused
        proxy.clear()
        self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, check=0, conf=conf)
        self.src.put_object_tagging(Bucket=self.sb, Key="small", Tagging={
            "TagSet": [{"Key": "env", "Value": "x"}]})
        proxy.add("status", method="PUT", query=r"(^|&)tagging", status=400, code="InvalidTag")
        p = self.s3m("sync", "sto2:" + self.sb, "px:" + self.db, "--compare", "etag,tags",
                     check=6, conf=conf)
        self.assertRegex(p.stderr, r"small: tags not written.*InvalidTag")
        self.assertEqual(tagset(self.dst, self.db, "small"), self.tags)
        # the source's tags cannot be read: the object is not copied
        src_proxy = Proxy(self.sto2.endpoint)
        self.addCleanup(src_proxy.stop)
        conf2 = proxied_conf(self.conf, "spx", self.sto2, src_proxy.endpoint)
        src_proxy.add("status", method="GET", query=r"(^|&)tagging", status=403,
                      code="AccessDenied")
        other = self.bucket(self.dst, "tgref")
        p = self.s3m("sync", "spx:" + self.sb, "osl1:" + other, "--retries", "1", check=7,
                     conf=conf2)  # AccessDenied: exit 7, as any access refused
        self.assertRegex(p.stderr, r"small failed: AccessDenied.*reading source tags")
        keys = [o["Key"] for o in self.dst.list_objects_v2(Bucket=other).get("Contents", [])]
        self.assertEqual(sorted(keys), ["plain"], p.stderr)
