#!/usr/bin/env python3
"""bench/cpu_per_gib.py - client CPU per GiB copied, and syscalls per MiB, for large objects:
single-part and multipart (8 MiB parts) sources, two builds of s3mirror and rclone side by
side on the same two servers and data, in one run (issue 16).

    bench/cpu_per_gib.py [--servers ceph|moto] [--objects 3] [--mib 96] [--rounds 3]
                         [--tools s3mirror,s3mirror-base,rclone] [--strace]

S3MIRROR_BASE_BIN names the other build (s3mirror-base). Each run copies into an empty
destination bucket; CPU is user+sys of the tool's process tree (getrusage of the children).
--strace runs each tool once more under `strace -c -f` and reports system calls per MiB.
Every server is started here and stopped at the end."""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import s3servers  # noqa: E402
from boto3.s3.transfer import TransferConfig  # noqa: E402

MiB = 1024 * 1024
BIN = os.path.join(ROOT, "build", "s3mirror")


def cmd(tool, conf, a, b):
    if tool == "rclone":
        return ["rclone", "--config", conf, "sync", a, b, "-q"]
    bin_ = os.environ["S3MIRROR_BASE_BIN"] if tool == "s3mirror-base" else BIN
    return [bin_, "--config", conf, "sync", a, b, "-q"]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def fill(site, shape, n, mib):
    """A source bucket of n objects of mib MiB: single-part, or multipart of 8 MiB parts."""
    c = site.client()
    bucket = "src-" + shape
    c.create_bucket(Bucket=bucket)
    cfg = TransferConfig(multipart_threshold=8 * MiB if shape == "multipart" else 6 << 30,
                         multipart_chunksize=8 * MiB)
    for i in range(n):
        data = os.urandom(mib * MiB)
        path = tempfile.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        c.upload_file(path, bucket, "obj%02d" % i, Config=cfg)
        os.unlink(path)
    return bucket


def one_run(tool, conf, src, dst_site, bucket, n, strace=False):
    """Copy the bucket into a new empty one; (CPU seconds, syscalls or None)."""
    c = dst_site.client()
    dst = "dst-%d-%s" % (int(time.time() * 1000), tool)
    c.create_bucket(Bucket=dst)
    argv = cmd(tool, conf, "sto2:" + src, "osl1:" + dst)
    out = None
    if strace:
        out = tempfile.mktemp()
        argv = ["strace", "-c", "-f", "-o", out] + argv
    t0 = children_cpu()
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # old rclone chokes
    p = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    cpu = children_cpu() - t0
    if p.returncode != 0:
        sys.exit("%s failed: %s" % (tool, p.stderr[-2000:]))
    got = s3servers.list_all(c, dst)
    if len(got) != n:
        sys.exit("%s copied %d of %d" % (tool, len(got), n))
    s3servers.empty_bucket(c, dst)
    c.delete_bucket(Bucket=dst)
    calls = None
    if out:
        with open(out) as f:  # the summary's last line: % seconds usecs/call calls [errors] total
            total = [ln.split() for ln in f if ln.rstrip().endswith(" total")]
        os.unlink(out)
        calls = int(total[-1][3]) if total else None
    return cpu, calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default="ceph")
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--mib", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tools", default="s3mirror,s3mirror-base,rclone")
    ap.add_argument("--shapes", default="single,multipart")
    ap.add_argument("--strace", action="store_true")
    a = ap.parse_args()
    tools = a.tools.split(",")
    gib = a.objects * a.mib / 1024
    with s3servers.sites([a.servers]) as all_sites:
        s = all_sites[a.servers]
        conf = tempfile.mktemp(suffix=".conf")
        with open(conf, "w") as f:
            f.write(s["sto2"].remote_conf() + s["osl1"].remote_conf())
        rows = []
        for shape in a.shapes.split(","):
            bucket = fill(s["sto2"], shape, a.objects, a.mib)
            cpu = {t: [] for t in tools}
            for _ in range(a.rounds):
                for t in tools:  # in alternation: A B C A B C
                    cpu[t].append(one_run(t, conf, bucket, s["osl1"], bucket, a.objects)[0])
            calls = {t: one_run(t, conf, bucket, s["osl1"], bucket, a.objects, True)[1]
                     for t in tools} if a.strace else {}
            for t in tools:
                med = statistics.median(cpu[t]) / gib
                rows.append((shape, t, med, calls.get(t)))
        print("| shape | tool | CPU s/GiB (median of %d) | vs rclone | syscalls/MiB |" % a.rounds)
        print("|---|---|---|---|---|")
        for shape, t, med, calls in rows:
            ref = next((r[2] for r in rows if r[0] == shape and r[1] == "rclone"), None)
            per_mib = "%.1f" % (calls / (gib * 1024)) if calls else "-"
            print("| %s | %s | %.3f | %s | %s |" % (shape, t, med,
                                                     "%.2f" % (med / ref) if ref else "-",
                                                     per_mib))


if __name__ == "__main__":
    main()
