"""bench/hugebound.py - the bounds of bench/run's huge-listing scenario (issue 16).

parse_bound: the parse-bound time of a no-change sync of n keys. s3mirror runs one event loop
on one thread and must parse every page of both listings, so its floor is the CPU time of its
own XML listing parser (src/core/xml*.c, libxml2) over the same 2 x n/1000 pages, in memory,
without the network (bench/parsebound, fed with pages captured from listsrv).

bounded: rclone's command under a memory limit (a memory cgroup, v1 or v2, where this process
may create one; else none) and a timeout, so that running out of either is a result, not a hung
or swapped-out machine: returns the measure with "status" ok, "out of memory" or "timeout".
"""
import os
import subprocess
import tempfile
import time
import urllib.request


def parse_bound(bin_dir, port, n, work):
    """(pages, CPU seconds) of parsing both sides' listing pages of n keys."""
    files = []
    for i, start in enumerate((0, n // 3, 2 * n // 3)):
        url = "http://127.0.0.1:%d/huge?list-type=2&start-after=key%010d" % (port, start)
        path = os.path.join(work, "page%d.xml" % i)
        with urllib.request.urlopen(url, timeout=30) as r, open(path, "wb") as f:
            f.write(r.read())
        files.append(path)
    pages = 2 * ((n + 999) // 1000)
    out = subprocess.run([os.path.join(bin_dir, "parsebound"), str(pages)] + files,
                         check=True, capture_output=True, text=True).stdout.split()
    return pages, float(out[2])


def _cgroup(mem_bytes):
    """A fresh memory cgroup limited to mem_bytes (path of its procs file), or None."""
    own = open("/proc/self/cgroup").read().splitlines()
    for line in own:
        _, ctrl, path = line.split(":", 2)
        if ctrl == "memory":  # v1
            base = "/sys/fs/cgroup/memory" + path
            limit, procs, peak = "memory.limit_in_bytes", "cgroup.procs", "memory.max_usage_in_bytes"
            break
        if ctrl == "" and line.startswith("0::") and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            base = "/sys/fs/cgroup" + path
            limit, procs, peak = "memory.max", "cgroup.procs", "memory.peak"
    else:
        return None
    try:
        d = tempfile.mkdtemp(prefix="s3m-bench-", dir=base)
        with open(os.path.join(d, limit), "w") as f:
            f.write(str(mem_bytes))
        return d, os.path.join(d, procs), os.path.join(d, peak)
    except OSError:
        return None


def bounded(cmd, env, mem_gib, timeout_s):
    """Run cmd (GNU time around it) limited to mem_gib of memory and timeout_s seconds."""
    cg = _cgroup(int(mem_gib * (1 << 30)))
    with tempfile.NamedTemporaryFile("r") as tf:
        inner = ["/usr/bin/time", "-o", tf.name, "-f", "%U %S %M", "timeout", str(timeout_s)] + cmd
        if cg:  # the shell joins the cgroup, then becomes the command
            inner = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', cg[1]] + inner
        t0 = time.monotonic()
        p = subprocess.run(inner, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        wall = time.monotonic() - t0
        lines = tf.read().split("\n")
    figures = [ln.split() for ln in lines if len(ln.split()) == 3]
    u, s, m = figures[-1] if figures else ("nan", "nan", "0")
    out = {"wall": wall, "cpu": float(u) + float(s), "rss_mib": int(m) / 1024,
           "server_cpu": 0.0, "requests": {}, "status": "ok"}
    if cg:
        try:
            out["rss_mib"] = max(out["rss_mib"], int(open(cg[2]).read()) / (1 << 20))
        except (OSError, ValueError):
            pass
    if p.returncode == 124 or "timeout" in p.stderr.decode(errors="replace")[-200:] and p.returncode:
        out["status"] = "timeout after %d s" % timeout_s
    elif p.returncode in (137, -9) or "signal 9" in "".join(lines):
        out["status"] = "out of memory (limit %g GiB)" % mem_gib
    elif p.returncode:
        out["status"] = "failed (%d)" % p.returncode
    if cg:
        try:
            os.rmdir(cg[0])
        except OSError:
            pass
    return out
