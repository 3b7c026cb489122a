"""Shared helpers of the end-to-end tests: the built binary, the running sites, configs."""
import itertools
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import s3servers  # noqa: E402

BIN = os.environ.get("S3MIRROR_BIN") or os.path.join(ROOT, "build", "s3mirror")
SITES = {}  # kind -> {"sto2": Site, "osl1": Site}, filled by run.py
_counter = itertools.count(1)


def unique(name):
    return "t%d-%s" % (next(_counter), name)


class SiteTest(unittest.TestCase):
    """Base class: one subclass per server implementation (self.kind)."""
    kind = None

    @classmethod
    def setUpClass(cls):
        if cls.kind is None or cls.kind not in SITES:
            raise unittest.SkipTest("no %s servers in this run" % cls.kind)
        cls.sto2 = SITES[cls.kind]["sto2"]
        cls.osl1 = SITES[cls.kind]["osl1"]
        cls.src = cls.sto2.client()
        cls.dst = cls.osl1.client()
        cls.tmp = tempfile.mkdtemp(prefix="s3m-e2e-")
        cls.conf = os.path.join(cls.tmp, "rclone.conf")
        with open(cls.conf, "w") as f:
            f.write(cls.sto2.remote_conf())
            f.write(cls.osl1.remote_conf())
            f.write(cls.sto2.remote_conf("sto2bad", secret="WRONG" + cls.sto2.secret_key[5:]))
            f.write("[down]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                    "endpoint = http://127.0.0.1:%d\n\n" % s3servers.free_port())

    def s3m(self, *args, check=None, env=None, timeout=300, input=None, conf=None):
        """Run s3mirror with our config; returns CompletedProcess (text)."""
        cmd = [BIN, "--config", conf or self.conf] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                           env=dict(os.environ, **(env or {})))
        if check is not None and p.returncode != check:
            self.fail("%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(args), p.returncode, check, p.stdout[-3000:], p.stderr[-3000:]))
        return p

    def ls_json(self, spec, *extra):
        p = self.s3m("ls", "--json", spec, *extra, check=0)
        return [json.loads(line) for line in p.stdout.splitlines()]

    def bucket(self, client, name):
        """A new bucket for this test, emptied and deleted when the test ends."""
        b = unique(name)
        client.create_bucket(Bucket=b)
        self.addCleanup(empty_bucket, client, b)
        return b

    def put_many(self, client, bucket, keys, body=lambda k: k.encode()):
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body(k)), keys))


def for_each_kind(cls):
    """Make one concrete TestCase per server kind from a SiteTest mixin class."""
    mod = sys.modules[cls.__module__]
    for kind in ("moto", "ceph"):
        name = "%s_%s" % (cls.__name__, kind)
        setattr(mod, name, type(name, (cls, SiteTest), {"kind": kind, "__module__": cls.__module__}))
    return cls


def empty_bucket(client, bucket):
    """Delete a test's bucket with its objects and uploads. The servers run for the whole suite and
    Ceph's memstore OSD keeps every byte in RAM up to a fixed size (S3M_MEMSTORE_GB): a run that
    kept every test's data filled it (the OSD's failsafe then refused all writes). Best effort: a
    test's outcome is its own, not its cleanup's."""
    try:
        for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001  (the server may be gone, the bucket already deleted)
        pass


def snapshot(client, bucket, prefix="", content=False):
    """{key: (size, etag[, sha256 of the bytes])} as boto3 sees it."""
    import hashlib
    out = {}
    for k, size, etag in s3servers.list_all(client, bucket, prefix):
        v = (size, etag)
        if content:
            body = client.get_object(Bucket=bucket, Key=k)["Body"].read()
            v = v + (hashlib.sha256(body).hexdigest(),)
        out[k] = v
    return out


def put_multipart(client, bucket, key, data, part, **extra):
    """Upload data with boto3 as a multipart object of `part`-byte parts (the last the rest);
    extra: CreateMultipartUpload's arguments (metadata, content type, ...)."""
    mp = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    parts = []
    for i in range(0, len(data), part):
        r = client.upload_part(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                               PartNumber=len(parts) + 1, Body=data[i:i + part])
        parts.append({"PartNumber": len(parts) + 1, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})


def remote_section(name, site, endpoint, provider="Other"):
    """A config section: remote `name` with site's keys at endpoint (a fault proxy)."""
    return ("[%s]\ntype = s3\nprovider = %s\naccess_key_id = %s\nsecret_access_key = %s\n"
            "endpoint = %s\n\n" % (name, provider, site.access_key, site.secret_key, endpoint))


def proxied_conf(base_conf, name, site, endpoint):
    """A config file: base plus remote `name` with site's keys at endpoint (a fault proxy)."""
    return conf_with(base_conf, remote_section(name, site, endpoint))


def conf_with(base_conf, extra):
    """A config file: base plus extra remote sections."""
    path = base_conf + ".%d" % next(_counter)
    with open(base_conf) as f, open(path, "w") as g:
        g.write(f.read() + extra)
    return path
