"""bench/tls.py - `bench/run --tls`: every endpoint the tools talk to goes through an nginx TLS
front (tests/harness/tlsfront.py) with the bench's own CA; s3mirror gets it by --ca-file, rclone
by --ca-cert. When --tls is off every function here is the identity, so bench/run calls them
unconditionally:

    tls.enable(work)                   # once, when --tls: makes the CA
    ep = tls.endpoint(ep)              # "http://127.0.0.1:P" -> "https://127.0.0.1:Q" (a front)
    cmd = tls.with_ca(cmd)             # the tool's CA flag appended (s3mirror: and its log)
    tls.conn_stats(cmd)                # s3mirror's connections, handshakes, resumed sessions
    tls.cpu()                          # user+sys seconds the fronts have used so far
    tls.disable()                      # stops the fronts

A front sits right before its server: a delay proxy (--rtt) goes in front of it, so the
handshakes pay the round trips too. Each front runs one nginx worker (the machine has 2 cores).
"""
import atexit
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import tlsfront  # noqa: E402

_state = {"ca": None, "work": None, "fronts": [], "logs": 0}


def enable(work):
    atexit.register(disable)  # the fronts are in sessions of their own: stop them on a crash too
    _state["work"] = work
    _state["ca"] = tlsfront.make_ca(work, "bench-ca")
    print("[bench] TLS: nginx fronts with the CA %s" % _state["ca"].ca_file, file=sys.stderr)


def enabled():
    return _state["ca"] is not None


def endpoint(ep):
    """ep itself without --tls, else the https endpoint of a new front before ep's port."""
    if not enabled() or ep.startswith("https:"):
        return ep
    f = tlsfront.Front(tlsfront.port_of(ep), _state["work"], _state["ca"])
    f.start()
    _state["fronts"].append(f)
    return f.endpoint


def scheme(ep):
    return ep.split("://", 1)[0]


def with_ca(cmd):
    """cmd with the CA flag of its tool (rclone: --ca-cert, s3mirror: --ca-file, and its info
    log, stats lines included, to a file of its own: see conn_stats)."""
    if not enabled():
        return cmd
    if os.path.basename(cmd[0]) == "rclone":
        return list(cmd) + ["--ca-cert", _state["ca"].ca_file]
    _state["logs"] += 1
    _state["log"] = os.path.join(_state["work"], "s3mirror-%d.log" % _state["logs"])
    return list(cmd) + ["--ca-file", _state["ca"].ca_file, "--log-level", "info", "--log-file",
                        _state["log"]]


STATS = re.compile(r"(source|destination) connections (\d+); TLS handshakes (\d+) \((\d+) resumed\)")


def conn_stats(cmd):
    """{side: [connections, handshakes, resumed]} of the s3mirror run cmd (from with_ca) just
    made, summed over its jobs; None for another tool."""
    if not enabled() or os.path.basename(cmd[0]) == "rclone" or "--log-file" not in cmd:
        return None
    out = {}
    with open(cmd[cmd.index("--log-file") + 1], errors="replace") as f:
        for m in STATS.finditer(f.read()):
            v = out.setdefault(m.group(1), [0, 0, 0])
            for i in range(3):
                v[i] += int(m.group(i + 2))
    print("[bench] TLS: s3mirror connections, handshakes, resumed: %s" % out, file=sys.stderr)
    return out


def _tree(pid):
    out = [pid]
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def cpu():
    """user+sys seconds of every front's nginx (master and workers) so far."""
    tot = 0.0
    for f in _state["fronts"]:
        if f.proc is None:
            continue
        for p in _tree(f.proc.pid):
            try:
                with open("/proc/%d/stat" % p) as s:
                    fl = s.read().rsplit(")", 1)[1].split()
                tot += (int(fl[11]) + int(fl[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
    return tot


def disable():
    for f in _state["fronts"]:
        f.stop()
    _state["fronts"] = []
    _state["ca"] = None
