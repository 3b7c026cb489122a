"""Real S3 servers on 127.0.0.1 for s3mirror's tests: two sites (sto2, osl1) per implementation.

moto_server (pyenv python3) starts in about a second; Ceph radosgw (Debian packages, installed
by ceph-rgw.sh when missing) is what the seed's provider runs and verifies SigV4 signatures.
Every server gets a free port, its own data directory and pid file, and is stopped by pid.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {
    "sto2": ("STO2TESTACCESSKEY001", "sto2TestSecretKey00000000000000000000001"),
    "osl1": ("OSL1TESTACCESSKEY001", "osl1TestSecretKey00000000000000000000001"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with code %s" % proc.returncode)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("port %d did not open in %ss" % (port, timeout))


class Site:
    """One S3 endpoint with its credentials."""

    def __init__(self, kind, name, endpoint, access_key, secret_key, stop):
        self.kind, self.name, self.endpoint = kind, name, endpoint
        self.access_key, self.secret_key = access_key, secret_key
        self._stop = stop

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))

    def stop(self):
        self._stop()

    def remote_conf(self, remote=None, secret=None):
        return ("[%s]\ntype = s3\nprovider = %s\naccess_key_id = %s\nsecret_access_key = %s\n"
                "endpoint = %s\n\n" % (remote or self.name,
                                       "Ceph" if self.kind == "ceph" else "Other",
                                       self.access_key, secret or self.secret_key, self.endpoint))


def start_moto(name, workdir):
    port = free_port()
    d = os.path.join(workdir, "moto-" + name)
    os.makedirs(d, exist_ok=True)
    logf = open(os.path.join(d, "server.log"), "wb")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=logf,
                            stderr=subprocess.STDOUT, cwd=d, start_new_session=True)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write(str(proc.pid))
    wait_port(port, 30, proc)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logf.close()

    ak, sk = KEYS[name]
    return Site("moto", name, "http://127.0.0.1:%d" % port, ak, sk, stop)


def start_ceph(name, workdir):
    d = os.path.join(workdir, "ceph-" + name)
    ak, sk = KEYS[name]
    env = dict(os.environ, RGW_PORT=str(free_port()), MON_PORT=str(free_port()),
               S3_ACCESS_KEY=ak, S3_SECRET_KEY=sk,
               MEMSTORE_GB=os.environ.get("S3M_MEMSTORE_GB", "3"))
    script = os.path.join(HERE, "ceph-rgw.sh")
    subprocess.run([script, "start", d], env=env, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "s3.env")) as f:
        vals = dict(line.strip().split("=", 1) for line in f if "=" in line)

    def stop():
        subprocess.run([script, "stop", d], check=False, env=dict(os.environ, FAST="1"))

    site = Site("ceph", name, vals["S3_ENDPOINT"], ak, sk, stop)
    site.dir = d  # its ceph.conf, for radosgw-admin (the lifecycle test)
    return site


STARTERS = {"moto": start_moto, "ceph": start_ceph}


@contextlib.contextmanager
def sites(kinds, workdir=None):
    """Yield {kind: {"sto2": Site, "osl1": Site}}, stopping everything afterwards."""
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="s3m-servers-")
    started = []

    def start(kind, name):
        t0 = time.time()
        s = STARTERS[kind](name, workdir)
        started.append(s)
        print("[harness] %s %s at %s (%.1fs)" % (kind, name, s.endpoint, time.time() - t0),
              file=sys.stderr)
        return s

    try:
        out = {}
        for kind in kinds:
            # the two sites of a kind start side by side (a Ceph cluster takes its time)
            with ThreadPoolExecutor(2) as ex:
                futs = {name: ex.submit(start, kind, name) for name in ("sto2", "osl1")}
            out[kind] = {name: f.result() for name, f in futs.items()}
        yield out
    finally:
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(lambda s: s.stop(), reversed(started)))
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def empty_bucket(client, bucket):
    """Delete every object and multipart upload of bucket (test setup)."""
    pag = client.get_paginator("list_objects_v2")
    for page in pag.paginate(Bucket=bucket):
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
    for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])


def list_all(client, bucket, prefix=""):
    """[(key, size, etag)] of a bucket via boto3 (the independent reader)."""
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out.append((o["Key"], o["Size"], o["ETag"].strip('"')))
    return out
