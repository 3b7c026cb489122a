#!/usr/bin/env python3
"""bench/fast.py - the client at its limit: s3mirror and rclone against bench/fastsrv, an S3
endpoint that generates its objects and serves more than either client can ask (see
`build/bench/fastsrv --help`), so a run measures the client, not the server.

Scenarios (called from bench/run --fast, or standalone):
  first  first sync of 10,000 x 4 KiB at 20 ms RTT (bench/delayproxy in front of both servers);
         prints the latency bound (objects x requests per object x RTT / concurrency, requests
         per object as counted by the servers) and each tool's wall time against it.
  large  4 x 1 GiB single-part sources and 4 x 1 GiB multipart sources (8 MiB parts), plain
         HTTP, no delay: client CPU (user+sys) per GiB, throughput against the endpoint's
         ceiling (1 core / the servers' CPU per GiB), peak RSS; then each tool once more under
         `strace -f -c` for its system calls per MiB copied (--no-syscalls: not).
  ceiling  the endpoint alone under wrk (GET 4 KiB, GET 1 GiB, PUT 4 KiB, PUT 64 MiB).

    bench/fast.py [--scenarios first,large,ceiling] [--scale F] [--rounds N] [--smoke]
                  [--tools s3mirror,rclone,rclone-tuned,s3mirror+transfers=64] [--no-syscalls]

A tool "s3mirror+opt=V" is s3mirror with --opt V (to find which default closes a gap);
"s3mirror-base" is the build S3MIRROR_BASE_BIN names (another commit, to show before and after).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import s3servers  # noqa: E402
import tls as benchtls  # noqa: E402  (bench/run --tls: an nginx TLS front before each server)

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
CORES = os.cpu_count() or 1  # the client and both servers share them
# objects in flight at each tool's defaults (s3mirror --help, rclone --transfers)
# (s3mirror-base: another build, assumed to have this one's default)
CONCURRENCY = {"s3mirror": 128, "s3mirror-base": 128, "rclone": 4, "rclone-tuned": 64}


def tool_cmd(t, bin_, conf, a, b):
    if t.startswith("s3mirror+"):  # s3mirror+transfers=64+connections=72
        extra = []
        for kv in t.split("+")[1:]:
            k, _, v = kv.partition("=")
            extra += ["--" + k, v]
        return [bin_, "--config", conf, "sync", a, b, "-q"] + extra
    if t == "s3mirror-base":
        return [os.environ["S3MIRROR_BASE_BIN"], "--config", conf, "sync", a, b, "-q"]
    if t == "s3mirror":
        return [bin_, "--config", conf, "sync", a, b, "-q"]
    if t not in ("rclone", "rclone-tuned"):
        sys.exit("bench: unknown tool %r (s3mirror, s3mirror+OPT=V, s3mirror-base, rclone, "
                 "rclone-tuned)" % t)
    cmd = ["rclone", "--config", conf, "sync", a, b, "-q"]
    return cmd + (["--transfers", "64", "--checkers", "64"] if t == "rclone-tuned" else [])


def check_tools(tools, bin_):
    """Ends the bench at once, not hours into it, on a misspelt tool, a missing other build
    (s3mirror-base) or a missing rclone."""
    if "s3mirror-base" in tools and not os.access(os.environ.get("S3MIRROR_BASE_BIN", ""), os.X_OK):
        sys.exit("bench: s3mirror-base needs S3MIRROR_BASE_BIN, the other build's binary")
    if any(t.startswith("rclone") for t in tools) and not shutil.which("rclone"):
        sys.exit("bench: rclone not installed (make deps installs it)")
    for t in tools:
        tool_cmd(t, bin_, "", "", "")


def concurrency(t):
    if t.startswith("s3mirror+transfers="):
        return int(t.split("+")[1].split("=")[1])
    return CONCURRENCY.get(t.split("+")[0], 64)


def measure(cmd, env):
    """Wall, user+sys CPU and peak RSS of the tool itself (GNU time)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%U %S %M"] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=3600)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:6]), p.returncode,
                                                       p.stderr.decode(errors="replace")[-2000:]))
        u, s, m = tf.read().split()[-3:]
    return {"wall": wall, "cpu": float(u) + float(s), "rss_mib": int(m) / 1024}


def syscalls(cmd, env):
    """The tool's system calls, all threads and children, by name (`strace -f -c`): a run of its
    own, as strace slows the tool down; the timed runs are not traced."""
    with tempfile.NamedTemporaryFile("r") as tf:
        p = subprocess.run(["strace", "-f", "-c", "-o", tf.name] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env, timeout=3600)
        if p.returncode != 0:
            raise RuntimeError("%s under strace failed (%d): %s" % (
                " ".join(cmd[:6]), p.returncode, p.stderr.decode(errors="replace")[-2000:]))
        calls = {}  # "% time  seconds  usecs/call  calls  [errors]  syscall" rows, then "total"
        for ln in tf.read().splitlines():
            f = ln.split()
            if len(f) >= 5 and f[0].replace(".", "", 1).isdigit() and f[-1] != "total":
                calls[f[-1]] = int(f[3])
    if not calls:
        raise RuntimeError("strace counted no system calls of %s" % " ".join(cmd[:6]))
    return calls


class Server:
    """One bench/fastsrv (optionally behind bench/delayproxy); stopped by stop()."""

    def __init__(self, exe, args, delayproxy=None, rtt=0, wait=True):
        self.port = s3servers.free_port()
        self.procs = [subprocess.Popen([exe, str(self.port)] + args)]
        if wait:
            self.wait()
        # --tls: the tools reach a front (right before the server, after the delay proxy)
        front = benchtls.endpoint("http://127.0.0.1:%d" % self.port)
        self.scheme, self.public = benchtls.scheme(front), int(front.rsplit(":", 1)[1])
        if rtt:
            inner, self.public = self.public, s3servers.free_port()
            self.procs.append(subprocess.Popen([delayproxy, str(self.public), str(inner),
                                                str(rtt)]))
            s3servers.wait_port(self.public, 10, self.procs[-1])

    def wait(self):
        s3servers.wait_port(self.port, 1200, self.procs[0])  # ETags are computed before listening

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/_fastsrv/stats" % self.port) as r:
            return json.loads(r.read())

    def cpu(self):
        f = open("/proc/%d/stat" % self.procs[0].pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def remote(self, name):
        return ("[%s]\ntype = s3\nprovider = Other\naccess_key_id = a\nsecret_access_key = b\n"
                "endpoint = %s://127.0.0.1:%d\n\n" % (name, self.scheme, self.public))

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % self.port,
                            aws_access_key_id="a", aws_secret_access_key="b",
                            region_name="us-east-1")

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait()


def diff_stats(a, b):
    return {k: b[k] - a[k] for k in b if b[k] - a[k] and not k.startswith("bytes")
            and k != "connections"}


def listing(client, bucket):
    out = []
    for pg in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        out += [(o["Key"], o["Size"]) for o in pg.get("Contents", [])]
    return out


def dest_bucket(name, t, tag):
    """A fresh destination bucket for one run of tool t (named so that any tool name fits)."""
    return "d-%s-%s-%s" % (name, t.replace("+", "-").replace("=", ""), tag)


def check_copy(dst, db, want, t):
    got = listing(dst.client(), db)
    if got != want:
        raise SystemExit("bench: %s left %s different from the source (%d vs %d keys)"
                         % (t, db, len(got), len(want)))


def traced_tools(name, tools, src, dst, sbucket, conf, bin_, env, nbytes):
    """Each tool once more under strace, into a fresh bucket: its system calls per MiB copied."""
    out, want = {}, listing(src.client(), sbucket)
    for t in tools:
        db = dest_bucket(name, t, "strace")
        calls = syscalls(benchtls.with_ca(tool_cmd(t, bin_, conf, "fsrc:" + sbucket,
                                                   "fdst:" + db)), env)
        check_copy(dst, db, want, t)
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:4]
        out[t] = {"calls": calls, "per_mib": sum(calls.values()) / (nbytes / MiB)}
        print("[fast] %s %s under strace: %.1f system calls per MiB (%s)" % (
            name, t, out[t]["per_mib"], ", ".join("%s %d" % kv for kv in top)), file=sys.stderr)
    return out


def run_tools(name, tools, rounds, src, dst, sbucket, conf, bin_, env, nobj, nbytes):
    """Each tool in alternation for `rounds` rounds, into a fresh destination bucket each time."""
    res = {t: [] for t in tools}
    want = listing(src.client(), sbucket)
    for r in range(rounds):
        for t in tools:
            db = dest_bucket(name, t, r)
            s0, d0, c0 = src.stats(), dst.stats(), src.cpu() + dst.cpu()
            cmd, f0 = benchtls.with_ca(tool_cmd(t, bin_, conf, "fsrc:" + sbucket, "fdst:" + db)), \
                benchtls.cpu()
            m = measure(cmd, env)
            if benchtls.enabled():  # the fronts' CPU, s3mirror's connections and handshakes
                m["tls_front_cpu"], m["tls"] = benchtls.cpu() - f0, benchtls.conn_stats(cmd)
            s1, d1 = src.stats(), dst.stats()
            m["server_cpu"] = src.cpu() + dst.cpu() - c0
            reqs = diff_stats(s0, s1)
            for k, v in diff_stats(d0, d1).items():
                reqs[k] = reqs.get(k, 0) + v
            m["requests"] = reqs
            m["connections"] = sum(y.get("connections", 0) - x.get("connections", 0)
                                   for x, y in ((s0, s1), (d0, d1)))
            m["per_object"] = sum(v for k, v in reqs.items() if k != "LIST") / max(1, nobj)
            m["cpu_per_gib"] = m["cpu"] / (nbytes / GiB) if nbytes else None
            m["mib_s"] = nbytes / MiB / m["wall"]
            check_copy(dst, db, want, t)
            res[t].append(m)
            print("[fast] %s %s round %d: %.2fs cpu %.2fs rss %.0f MiB srv-cpu %.2fs %.2f req/obj "
                  "%d connections %s" % (name, t, r + 1, m["wall"], m["cpu"], m["rss_mib"],
                                         m["server_cpu"], m["per_object"], m["connections"],
                                         json.dumps(reqs, sort_keys=True)), file=sys.stderr)
    return res


def med(ms, k):
    xs = sorted(m[k] for m in ms)
    return xs[len(xs) // 2] if xs else float("nan")


def summary(name, nobj, nbytes, rounds, res, scale):
    rows = {}
    for t, ms in res.items():
        reqs = {}
        for m in ms:
            for k, v in m["requests"].items():
                reqs.setdefault(k, []).append(v)
        rows[t] = {k: med(ms, k) for k in ("wall", "cpu", "rss_mib", "server_cpu", "per_object",
                                             "mib_s")}
        rows[t]["requests"] = {k: sorted(v)[len(v) // 2] for k, v in reqs.items()}
        rows[t]["runs"] = ms
        rows[t]["connections"] = med(ms, "connections")
    return {"dataset": name, "objects": nobj, "bytes": nbytes, "rounds": rounds,
            "servers": "fastsrv", "scale": scale, "scenarios": {"first": rows}}


def first_sync(a, tools, bin_, env, work):
    """(a): many small objects at an RTT: is the client bound by latency x concurrency?"""
    n = max(20, int(10000 * a.scale))
    exe, dp = os.path.join(a.build, "fastsrv"), os.path.join(a.build, "delayproxy")
    rtt = getattr(a, "fast_rtt", 20)
    src = Server(exe, ["--bucket", "small:%d:4096" % n], dp, rtt)
    dst = Server(exe, [], dp, rtt)
    try:
        conf = os.path.join(work, "fast-first.conf")
        with open(conf, "w") as f:
            f.write(src.remote("fsrc") + dst.remote("fdst"))
        res = run_tools("first", tools, a.rounds, src, dst, "small", conf, bin_, env, n, n * 4096)
    finally:
        src.stop()
        dst.stop()
    r = summary("fast-first-%d-x-4KiB" % n, n, n * 4096, a.rounds, res, a.scale)
    r["rtt_ms"] = rtt
    rows = r["scenarios"]["first"]
    r["latency_bound_s"] = {t: n * rows[t]["per_object"] * rtt / 1000.0 / concurrency(t)
                            for t in tools}
    base = rows.get("s3mirror")
    print("\n### fastsrv, first sync of %d x 4 KiB at %d ms RTT (median of %d)\n" % (
        n, rtt, a.rounds))
    print("| tool | wall s | CPU s | requests/object | concurrency | latency bound s | wall / bound "
          "| tool wall / s3mirror wall |")
    print("|---|---|---|---|---|---|---|---|")
    for t in tools:
        v, lb = rows[t], r["latency_bound_s"][t]
        print("| %s | %.2f | %.2f | %.2f | %d | %.2f | %.2fx | %s |" % (
            t, v["wall"], v["cpu"], v["per_object"], concurrency(t), lb, v["wall"] / lb if lb else 0,
            "%.2fx" % (v["wall"] / base["wall"]) if base else "-"))
    print()
    return r


def large(a, tools, bin_, env, work):
    """(b): big objects, plain HTTP: client CPU per GiB and throughput against the ceiling."""
    size = max(16 * MiB, int(GiB * a.scale))
    count = getattr(a, "large_count", 0) or (2 if a.smoke else 4)  # bench/run has no --large-count
    ps = 8 * MiB
    specs = ["--bucket", "single:%d:%d" % (count, size), "--bucket", "multi:%d:%d:%d" % (count, size, ps)]
    exe = os.path.join(a.build, "fastsrv")
    t0 = time.monotonic()
    src = Server(exe, specs, wait=False)
    dst = Server(exe, specs, wait=False)  # the same specs: the part MD5s are cached there too
    src.wait()
    dst.wait()
    print("[fast] large: servers ready in %.0fs (ETags of %d x %d MiB computed)" % (
        time.monotonic() - t0, 2 * count, size // MiB), file=sys.stderr)
    trace = getattr(a, "syscalls", True)  # bench/run and fast.py: --no-syscalls
    if trace and not shutil.which("strace"):
        print("[fast] large: strace not installed (make deps installs it), no system call counts",
              file=sys.stderr)
        trace = False
    out = []
    try:
        conf = os.path.join(work, "fast-large.conf")
        with open(conf, "w") as f:
            f.write(src.remote("fsrc") + dst.remote("fdst"))
        for shape in ("single", "multi"):
            nbytes = count * size
            res = run_tools("large-" + shape, tools, a.rounds, src, dst, shape, conf, bin_, env,
                            count, nbytes)
            r = summary("fast-large-%s-%d-x-%dMiB" % (shape, count, size // MiB), count, nbytes,
                        a.rounds, res, a.scale)
            rows = r["scenarios"]["first"]
            traced = traced_tools("large-" + shape, tools, src, dst, shape, conf, bin_, env,
                                  nbytes) if trace else {}
            for t, v in traced.items():
                rows[t]["syscalls"], rows[t]["syscalls_per_mib"] = v["calls"], v["per_mib"]
            for t in tools:  # the endpoint's ceiling: one core over the servers' CPU per GiB
                srv = rows[t]["server_cpu"] / (nbytes / GiB)
                rows[t]["server_cpu_per_gib"] = srv
                rows[t]["ceiling_mib_s"] = GiB / MiB / srv if srv else float("inf")
                rows[t]["cpu_per_gib"] = rows[t]["cpu"] / (nbytes / GiB)
                # what this machine can move at all: its cores over the CPU every GiB costs the
                # client and both servers together (they share the cores)
                both = rows[t]["cpu_per_gib"] + srv
                rows[t]["machine_bound_mib_s"] = CORES * GiB / MiB / both if both else float("inf")
            out.append(r)
            base = rows.get("rclone")
            print("\n### fastsrv, %d x %d MiB %s-part sources, %s (median of %d)\n" % (
                count, size // MiB, shape, "over TLS" if benchtls.enabled() else "plain HTTP",
                a.rounds))
            print("| tool | wall s | MiB/s | client CPU s/GiB | CPU/GiB vs rclone | peak RSS MiB "
                  "| servers' CPU s/GiB | ceiling MiB/s (1 core for both servers) | MiB/s / ceiling "
                  "| machine bound MiB/s (%d cores / client + servers CPU per GiB) | MiB/s / machine bound "
                  "| system calls per MiB |" % CORES)
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for t in tools:
                v = rows[t]
                print("| %s | %.2f | %.0f | %.2f | %s | %.0f | %.2f | %.0f | %.0f%% | %.0f | %.0f%% | %s |" % (
                    t, v["wall"], v["mib_s"], v["cpu_per_gib"],
                    "%.2fx" % (v["cpu_per_gib"] / base["cpu_per_gib"]) if base else "-",
                    v["rss_mib"], v["server_cpu_per_gib"], v["ceiling_mib_s"],
                    100 * v["mib_s"] / v["ceiling_mib_s"], v["machine_bound_mib_s"],
                    100 * v["mib_s"] / v["machine_bound_mib_s"],
                    "%.1f" % v["syscalls_per_mib"] if "syscalls_per_mib" in v else "-"))
            print()
    finally:
        src.stop()
        dst.stop()
    return out


def load(srv, cmds, size):
    """Runs the load commands at once; returns (wall, server CPU) for the whole batch."""
    c0, t0 = srv.cpu(), time.monotonic()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for c in cmds]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    return time.monotonic() - t0, srv.cpu() - c0, outs


def ceiling(a, work):
    """The endpoint alone under load: wrk for 4 KiB requests, parallel curl for big bodies
    (wrk parses every byte of a body it reads and writes a big one slowly). The server's CPU per
    request and per GiB gives its ceiling on one core, whatever else this machine is doing."""
    if not shutil.which("wrk"):
        print("[fast] ceiling: wrk not installed, skipped", file=sys.stderr)
        return None
    big = max(16 * MiB, int(256 * MiB * a.scale))
    srv = Server(os.path.join(a.build, "fastsrv"),
                 ["--bucket", "small:1000:4096", "--bucket", "big:1:%d" % big])
    u = "http://127.0.0.1:%d" % srv.port
    small, large_ = os.path.join(work, "small.bin"), os.path.join(work, "big.bin")
    for path, url in ((small, "/small/key0000000007"), (large_, "/big/key0000000000")):
        subprocess.run(["curl", "-sf", "-o", path, u + url], check=True)
    lua = os.path.join(work, "put4k.lua")  # the key's own content: a checked PUT, as in a sync
    open(lua, "w").write("wrk.method = 'PUT'\nwrk.body = io.open('%s','rb'):read('*a')\n" % small)
    d = 2 if a.smoke else 10
    rounds = 1 if a.smoke else 4
    out = {}
    print("\n### fastsrv ceiling (wrk -t1 -c64 -d%ds; 4 curl at once x %d for big bodies; the "
          "machine's 2 cores are shared with the load generator)\n" % (d, rounds))
    print("| load | requests/s | MiB/s | server CPU s | per 1k requests s | per GiB s | "
          "ceiling on 1 core |")
    print("|---|---|---|---|---|---|---|")
    curl = ["curl", "-sf", "-o", "/dev/null", "-w", "%{http_code}\n"]
    tests = [("GET 4 KiB", [["wrk", "-t1", "-c64", "-d%ds" % d, u + "/small/key0000000001"]], 4096),
             ("PUT 4 KiB (checked)", [["wrk", "-t1", "-c64", "-d%ds" % d, "-s", lua,
                                       u + "/dst/key0000000007"]], 4096),
             ("GET %d MiB" % (big // MiB), [curl + [u + "/big/key0000000000"]] * 4 * rounds, big),
             ("PUT %d MiB (checked)" % (big // MiB),
              [curl + ["-T", large_, u + "/dst/key0000000000"]] * 4 * rounds, big),
             ("PUT %d MiB (sink: MD5 of every byte)" % (big // MiB),
              [curl + ["-T", large_, u + "/sink-x/k"]] * 4 * rounds, big)]
    try:
        for name, cmds, size in tests:
            if cmds[0][0] == "wrk":
                wall, cpu, outs = load(srv, cmds, size)
                o = outs[0]
                n = int(o.split(" requests in ")[0].split()[-1]) if " requests in " in o else 0
                wall = float(o.split(" requests in ")[1].split("s,")[0]) if n else wall
            else:  # 4 at once, `rounds` times
                wall, cpu, n = 0.0, 0.0, 0
                for i in range(rounds):
                    w, c, outs = load(srv, cmds[:4], size)
                    wall, cpu, n = wall + w, cpu + c, n + sum(x.strip() == "200" for x in outs)
                    print("[fast] ceiling %s: %s" % (name, " ".join(x.strip() for x in outs)), file=sys.stderr)
            gib = n * size / GiB
            out[name] = {"requests": n, "rps": n / wall, "mib_s": n * size / MiB / wall,
                         "server_cpu": cpu}
            ceil = ("%.0f req/s" % (n / cpu) if size < MiB else "%.0f MiB/s" % (gib * 1024 / cpu)) \
                if cpu else "-"
            print("| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %s |" % (
                name, n / wall, n * size / MiB / wall, cpu, 1000 * cpu / n if n else 0,
                cpu / gib if gib else 0, ceil))
        print()
    finally:
        srv.stop()
    return {"dataset": "fastsrv-ceiling", "wrk": out}


def run(a, tools, bin_, env, work):
    """Called by bench/run: the scenarios in a.fast; returns their reports."""
    a.build = os.path.join(os.path.dirname(bin_), "bench")
    if not os.access(os.path.join(a.build, "fastsrv"), os.X_OK):
        sys.exit("bench: %s/fastsrv not built (make bench builds it)" % a.build)
    reports = []
    for sc in [s for s in a.fast.split(",") if s]:
        if sc == "first":
            reports.append(first_sync(a, tools, bin_, env, work))
        elif sc == "large":
            reports += large(a, tools, bin_, env, work)
        elif sc == "ceiling":  # not a tools x scenarios table: its JSON is written here
            c = ceiling(a, work)
            if c:
                os.makedirs(a.out, exist_ok=True)
                with open(os.path.join(a.out, "%s-fastsrv-ceiling%s.json" % (
                        time.strftime("%Y-%m-%d", time.gmtime()), "-smoke" if a.smoke else "")),
                        "w") as f:
                    json.dump(c, f, indent=1)
        else:
            sys.exit("bench: unknown fast scenario %s" % sc)
    return reports


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", "--scenarios", dest="fast", default="ceiling,first,large")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rtt", dest="fast_rtt", type=int, default=20)
    ap.add_argument("--tools", default="s3mirror,rclone,rclone-tuned")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-syscalls", dest="syscalls", action="store_false",
                    help="large: no extra run of each tool under strace")
    ap.add_argument("--large-count", type=int, default=0,
                    help="objects per shape in large (default 4): many, to load --max-buffer-memory")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    if a.smoke:
        a.rounds, a.scale = 1, 0.02
    bin_ = os.environ.get("S3MIRROR_BIN") or os.path.join(ROOT, "build", "s3mirror")
    tools = [t for t in a.tools.split(",") if t]
    check_tools(tools, bin_)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # old rclone chokes on it
    work = tempfile.mkdtemp(prefix="s3m-fast-")
    try:
        reports = run(a, tools, bin_, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    for r in reports:
        path = os.path.join(a.out, "%s-%s%s.json" % (stamp, r["dataset"], "-smoke" if a.smoke else ""))
        with open(path, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
