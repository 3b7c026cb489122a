#!/usr/bin/env python3
"""Random cases against the model: each case runs the built binary against real S3 servers and
compares the outcome (checked with boto3) with model.py.

    run.py [--cases N] [--seed S] [--servers moto,ceph] [--avoid-known] [--no-replay]
           [--no-shrink] [--save] [--oracle-only] [-v]

Every run first replays the saved cases of tests/model/cases/*.json. A failing case prints its
seed and a minimal case (objects and options dropped while it still fails), saved with --save.
Per case: a dry run with --plan (or check), the real run (through the fault proxy when the case
has faults), then a dry run again, which must find nothing to do."""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
from model import Ambiguous, content, etag, model, settle  # noqa: E402
import gen  # noqa: E402

BIN = os.environ.get("S3MIRROR_BIN") or os.path.join(ROOT, "build", "s3mirror")
CASES_DIR = os.path.join(HERE, "cases")
_bucket_counter = [0]
RCLONE_RUNS = [0]
DATA_LOSS = "DATA LOSS"


class Failure(Exception):
    def __init__(self, category, detail):
        super().__init__("%s: %s" % (category, detail))
        self.category, self.detail = category, detail


# ---------------------------------------------------------------- setup and reading back

def put(client, bucket, key, o):
    extra = {}
    if o.get("ct"):
        extra["ContentType"] = o["ct"]
    if o.get("meta"):
        extra["Metadata"] = o["meta"]
    data = content(o)
    if not o.get("parts"):
        client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        return
    mp = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    parts, off = [], 0
    for i, n in enumerate(o["parts"]):
        r = client.upload_part(Bucket=bucket, Key=key, UploadId=mp["UploadId"], PartNumber=i + 1,
                               Body=data[off:off + n])
        off += n
        parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})


def list_keys(client, bucket):
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
    return out


def bucket_exists(client, bucket):
    try:
        client.head_bucket(Bucket=bucket)
        return True
    except Exception:
        return False


def drop_bucket(client, bucket):
    """Delete a bucket and all it holds (one DeleteObject per key: DeleteObjects' XML body
    cannot carry every key byte)."""
    try:
        if not bucket_exists(client, bucket):
            return
        for _ in range(3):
            keys = list(list_keys(client, bucket))
            if not keys:
                break
            with ThreadPoolExecutor(8) as ex:
                list(ex.map(lambda k: client.delete_object(Bucket=bucket, Key=k), keys))
        for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
        client.delete_bucket(Bucket=bucket)
    except Exception as e:  # a leftover bucket only matters to REMOTE: cases, which say so
        print("[model] cleanup of %s: %s" % (bucket, e), file=sys.stderr)


# ---------------------------------------------------------------- one case

class Env:
    """The two sites of one server kind, a config, clients."""

    def __init__(self, kind, sites, tmp):
        self.kind, self.tmp = kind, tmp
        self.sto2, self.osl1 = sites["sto2"], sites["osl1"]
        self.src, self.dst = self.sto2.client(), self.osl1.client()
        self.conf = os.path.join(tmp, "rclone-%s.conf" % kind)
        with open(self.conf, "w") as f:
            f.write(self.sto2.remote_conf() + self.osl1.remote_conf())
        self.caps = {"part_sizes": probe_part_sizes(self.src)}


def probe_part_sizes(client):
    """Does this server tell a part's size (HEAD ?partNumber=2 of an uneven upload)?"""
    b = "probe-parts-%d" % os.getpid()
    client.create_bucket(Bucket=b)
    try:
        M = 1024 * 1024
        put(client, b, "k", {"n": 11 * M, "c": "probe", "parts": [6 * M, 5 * M]})
        h = client.head_object(Bucket=b, Key="k", PartNumber=2)
        return h["ContentLength"] == 5 * M
    except Exception:
        return False
    finally:
        drop_bucket(client, b)


def real_names(case):
    _bucket_counter[0] += 1
    n = _bucket_counter[0]
    names = {}
    for side in ("src", "dst"):
        for b in list(case[side]) + [case[side + "_spec"].get("bucket")]:
            if b and b not in names:
                names[b] = "m%d-%d-%s" % (os.getpid() % 100000, n, b.lower())
    if case["src_spec"].get("bucket") is None:  # REMOTE: REMOTE: the same names on both sites
        for b in case["src"]:
            names.setdefault(b, "m%d-%d-%s" % (os.getpid() % 100000, n, b))
    return names


def spec(remote, s, names):
    if s.get("bucket") is None:
        return remote + ":"
    return "%s:%s%s" % (remote, names[s["bucket"]], "/" + s["path"] if s.get("path") else "")


def s3m(env, conf, args, timeout=240):
    p = subprocess.run([BIN, "--config", conf] + args, capture_output=True, text=True,
                       timeout=timeout, errors="replace")
    return p


def read_plan(path, back):
    acts = []
    if not os.path.exists(path):
        return acts
    with open(path) as f:
        for line in f:
            a = json.loads(line)
            if a.get("action") in ("copy", "update", "delete"):
                acts.append((a["action"], back.get(a.get("bucket"), a.get("bucket")), a["key"]))
    return sorted(acts)


def opts_args(case):
    o, a = case.get("opts") or {}, []
    for sign, g in o.get("filters") or []:
        a += ["--include" if sign == "+" else "--exclude", g]
    for k, flag in (("min_size", "--min-size"), ("max_size", "--max-size"),
                    ("max_delete", "--max-delete"), ("compare", "--compare"),
                    ("max_keys", "--max-keys"), ("list_concurrency", "--list-concurrency")):
        if o.get(k) is not None:
            a += [flag, str(o[k])]
    if o.get("allow_empty_source"):
        a.append("--allow-empty-source")
    return a


def run_case(env, case, verbose=False, rclone=False):
    """Run one case; raise Failure (first the data-loss one) on any disagreement."""
    rc = rclone and rclone_variant(case)
    if rc:
        rclone_check(env, rc, model(rc, env.caps))
        RCLONE_RUNS[0] += 1
    caps = env.caps
    names = real_names(case)
    back = {v: k for k, v in names.items()}
    same = (case.get("opts") or {}).get("same_site")
    dclient = env.src if same else env.dst
    dremote = "sto2" if same else "osl1"
    made = []
    try:
        return _run_case(env, case, names, back, dclient, dremote, caps, made, verbose)
    finally:
        todo = {(id(env.src), names[b]): (env.src, names[b]) for b in case["src"]}
        for b in set(list(case["dst"]) + list(case["src"]) + [case["dst_spec"].get("bucket")]) - {None}:
            todo[(id(dclient), names[b])] = (dclient, names[b])
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(lambda cb: drop_bucket(*cb), todo.values()))


def setup(env, case, names, dclient):
    """Create the case's buckets and objects: every source object first, then the destination's."""
    for side, client in (("src", env.src), ("dst", dclient)):
        jobs = []
        for b, objs in sorted(case[side].items()):
            client.create_bucket(Bucket=names[b])
            jobs += [(names[b], k, o) for k, o in objs.items()]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda j: put(client, *j), jobs))


def _run_case(env, case, names, back, dclient, dremote, caps, made, verbose):
    setup(env, case, names, dclient)
    before = {b: list_keys(dclient, names[b]) for b in case["dst"]}
    src_etags = {b: list_keys(env.src, names[b]) for b in case["src"]}
    # the model's own ETags agree with the servers' (else the test, not s3mirror, is wrong)
    for b, objs in case["src"].items():
        for k, o in objs.items():
            if src_etags[b][k][1] != etag(o):
                raise Failure("HARNESS", "server ETag %s != model %s for %r" % (src_etags[b][k][1], etag(o), k))
    tmp = tempfile.mkdtemp(dir=env.tmp)
    S, D = spec("sto2", case["src_spec"], names), spec(dremote, case["dst_spec"], names)
    args = opts_args(case)
    cmd = case["cmd"]
    log = []

    def run(a, conf=None, **kw):
        p = s3m(env, conf or env.conf, a, **kw)
        log.append("$ s3mirror %s\n  exit %d\n%s%s" % (" ".join(map(repr_arg, a)), p.returncode,
                                                       indent(p.stdout), indent(p.stderr)))
        return p

    # 1. dry run (or check): the plan
    want = model(dict(case, dry_run=True), caps)
    if cmd == "check":
        p = run(["check", S, D] + args)
        expect_exit(p, want["exit"], "check", log)
    else:
        plan = os.path.join(tmp, "plan1.jsonl")
        p = run([cmd, S, D, "--dry-run", "--plan", plan] + args)
        expect_exit(p, want["exit"], "dry run", log)
        got = read_plan(plan, back)
        if got != want["actions"]:
            raise Failure("PLAN", diff_lists(got, want["actions"]) + "\n" + "\n".join(log))
    check_dst(env, case, names, dclient, {b: {k: ("keep",) for k in v} for b, v in before.items()},
              before, src_etags, set(), log, created=[])
    if cmd == "check":
        return
    # 2. the real run
    want = model(case, caps)
    conf, proxy, extra = env.conf, None, []
    S0, D0 = S, D
    if case.get("fault"):
        from faultproxy import Proxy
        f = case["fault"]
        site = env.sto2 if f["side"] == "src" else (env.sto2 if case["opts"].get("same_site") else env.osl1)
        proxy = Proxy(site.endpoint)
        for action, kw in f["rules"]:
            proxy.add(action, **kw)
            if action == "stall":
                extra += ["--timeout", "2"]
        conf = os.path.join(tmp, "flaky.conf")
        with open(conf, "w") as fh:
            fh.write(open(env.conf).read() + site.remote_conf("flaky"))
        if f["side"] == "src":
            S = "flaky:" + S.split(":", 1)[1]
        else:
            D = "flaky:" + D.split(":", 1)[1]
    try:
        plan = os.path.join(tmp, "plan2.jsonl")
        p = run([cmd, S, D, "--plan", plan] + args + extra, conf=conf)
    finally:
        if proxy:
            proxy.stop()
    # expected destination: from the model's view, mapped onto what the servers hold
    exp = {}
    for b, objs in want["dst"].items():
        exp[b] = {}
        for k, o in objs.items():
            if o.get("copy_of") is not None:
                exp[b][k] = ("copy", o)
            else:
                exp[b][k] = ("keep",)
    after_src = {b: list_keys(env.src, names[b]) for b in case["src"]}
    if after_src != src_etags:  # nothing ever writes to the source
        raise Failure(DATA_LOSS, "the source changed: %s\n%s" % (
            {b: sorted(set(src_etags[b].items()) ^ set(after_src[b].items())) for b in case["src"]},
            "\n".join(log)))
    check_dst(env, case, names, dclient, exp, before, src_etags, want["etag_equal"], log,
              created=want["created"])
    expect_exit(p, want["exit"], "run", log)
    # 3. a second look: nothing left to do (copy: nothing to copy)
    again = model(settle(case, want), caps)
    plan = os.path.join(tmp, "plan3.jsonl")
    p = run([cmd, S0, D0, "--dry-run", "--plan", plan] + args)
    got = read_plan(plan, back)
    if got != again["actions"]:
        raise Failure("SECOND RUN", diff_lists(got, again["actions"]) + "\n" + "\n".join(log))
    if verbose:
        print("\n".join(log))


def check_dst(env, case, names, dclient, exp, before, src_etags, etag_equal, log, created):
    """Compare the destination buckets with exp {bucket: {key: ("keep",) | ("copy", obj)}}."""
    problems, loss = [], []
    every = set(exp) | set(case["dst"]) | {case["dst_spec"].get("bucket")} - {None}
    if case["src_spec"].get("bucket") is None:
        every |= set(case["src"])
    for b in sorted(every):
        real = names[b]
        if b not in case["dst"] and b not in created:
            if bucket_exists(dclient, real):
                problems.append("bucket %s created" % b)
            continue
        if not bucket_exists(dclient, real):
            problems.append("bucket %s missing (should be created)" % b)
            continue
        got = list_keys(dclient, real)
        want = exp.get(b, {})
        for k in sorted(set(got) | set(want)):
            w, g = want.get(k), got.get(k)
            if w is None:
                problems.append("%s: unexpected key %r" % (b, k))
            elif g is None:
                (loss if w[0] == "keep" else problems).append(
                    "%s: key %r missing%s" % (b, k, " (the model keeps it: DELETED)" if w[0] == "keep" else ""))
            elif w[0] == "keep":
                if g != before[b][k]:
                    problems.append("%s: kept key %r changed: %s -> %s" % (b, k, before[b][k], g))
            else:
                o = w[1]
                if g[0] != o["n"]:
                    problems.append("%s: %r size %d, want %d" % (b, k, g[0], o["n"]))
                    continue
                if (b, k) in etag_equal and g[1] != etag(o):
                    problems.append("%s: %r ETag %s, want the source's %s" % (b, k, g[1], etag(o)))
                body = dclient.get_object(Bucket=real, Key=k)["Body"].read()
                if hashlib.sha256(body).digest() != hashlib.sha256(content(o)).digest():
                    problems.append("%s: %r bytes differ" % (b, k))
                h = dclient.head_object(Bucket=real, Key=k)
                if o.get("ct") and h.get("ContentType") != o["ct"]:
                    problems.append("%s: %r Content-Type %r, want %r" % (b, k, h.get("ContentType"), o["ct"]))
                gm = dict(h.get("Metadata") or {})
                # how-sync-decides.md: a multipart upload made from a guessed layout (a server
                # that does not tell part sizes) records the source ETag in this header
                rec = gm.pop("s3mirror-source-etag", None)
                if rec is not None and not (o.get("parts") and rec == etag(o)):
                    problems.append("%s: %r records source ETag %r, source %s (%s)" % (
                        b, k, rec, etag(o), "multipart" if o.get("parts") else "single-part"))
                if gm != (o.get("meta") or {}):
                    problems.append("%s: %r metadata %r, want %r" % (b, k, h.get("Metadata"), o.get("meta")))
        ups = dclient.list_multipart_uploads(Bucket=real).get("Uploads", [])
        if ups:
            problems.append("%s: %d multipart upload(s) left" % (b, len(ups)))
    if loss:
        raise Failure(DATA_LOSS, "\n".join(loss + problems) + "\n" + "\n".join(log))
    if problems:
        raise Failure("DESTINATION", "\n".join(problems) + "\n" + "\n".join(log))


def expect_exit(p, code, what, log):
    if code is not None and p.returncode != code:
        raise Failure("EXIT", "%s: exit %d, the model says %d\n%s" % (what, p.returncode, code, "\n".join(log)))


def repr_arg(a):
    return a if a and all(c.isalnum() or c in "-_:/.%=" for c in a) else repr(a)


def indent(s):
    s = s[-4000:]
    return "".join("    " + l + "\n" for l in s.splitlines())


def diff_lists(got, want):
    g, w = set(got), set(want)
    return "plan lines s3mirror wrote but the model does not expect: %s\nexpected, missing: %s" % (
        sorted(g - w), sorted(w - g))


# ---------------------------------------------------------------- rclone, the second oracle

def rclone_variant(case):
    """The case as rclone 1.60 must see it the same way, or None: one bucket, sync or copy, no
    feature rclone lacks or does differently; keys rclone mangles or takes for directories
    (trailing or doubled '/', leading '/', '.'/'..' segments, control characters, backslash)
    are dropped."""
    o = case.get("opts") or {}
    if case["cmd"] not in ("sync", "copy") or case["src_spec"].get("bucket") is None or case.get("fault"):
        return None
    if set(o) - {"filters", "max_keys", "list_concurrency", "same_site", "min_size"} or \
            any(not sp.get("path", "").endswith("/") and sp.get("path") for sp in (case["src_spec"], case["dst_spec"])):
        return None
    if o.get("filters") and any(g.startswith("/") or "**" in g for _, g in o["filters"]):
        return None

    def fine(k):
        segs = k.split("/")
        return not (k.endswith("/") or k.startswith("/") or "//" in k or "." in segs or ".." in segs
                    or any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in k))
    c = json.loads(json.dumps(case))
    for side in ("src", "dst"):
        for b in c[side]:
            c[side][b] = {k: v for k, v in c[side][b].items() if fine(k)}
    if case["dst_spec"]["bucket"] not in case["dst"]:
        return None
    try:
        model(c)
    except Ambiguous:
        return None
    sf = case["src_spec"].get("path") or ""
    if not any(k.startswith(sf) for objs in c["src"].values() for k in objs):
        return None  # rclone has no empty-source rule
    return c


def rclone_check(env, case, want):
    """Run rclone on a copy of the case; its destination key set must be the model's."""
    names = real_names(case)
    same = (case.get("opts") or {}).get("same_site")
    dclient = env.src if same else env.dst
    dremote = "sto2" if same else "osl1"
    try:
        setup(env, case, names, dclient)
        a = []
        for sign, g in (case.get("opts") or {}).get("filters") or []:
            a += ["--filter", "%s %s" % (sign, g)]
        if any(s == "+" for s, _ in (case.get("opts") or {}).get("filters") or []):
            a += ["--filter", "- **"]
        S, D = spec("sto2", case["src_spec"], names), spec(dremote, case["dst_spec"], names)
        p = subprocess.run(["rclone", "--config", env.conf, case["cmd"], S, D, "--checksum"] + a,
                           capture_output=True, text=True, timeout=300,
                           env={k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"})
        if p.returncode != 0:
            raise Failure("RCLONE", "rclone exit %d: %s" % (p.returncode, p.stderr[-2000:]))
        db = case["dst_spec"]["bucket"]
        got = sorted(list_keys(dclient, names[db]))
        exp = sorted(want["dst"].get(db, {}))
        if got != exp:
            raise Failure("RCLONE", "rclone and the model disagree on the destination keys:\n"
                          "rclone only: %r\nmodel only: %r" % (sorted(set(got) - set(exp)),
                                                             sorted(set(exp) - set(got))))
    finally:
        for b in case["src"]:
            drop_bucket(env.src, names[b])
        for b in set(case["dst"]) | {case["dst_spec"]["bucket"]}:
            drop_bucket(dclient, names[b])


# ---------------------------------------------------------------- shrinking

def variants(case):
    """Smaller cases: drop half / one object, a bucket, an option, the fault."""
    for side in ("src", "dst"):
        for b in sorted(case[side]):
            keys = sorted(case[side][b])
            n = len(keys)
            chunk = n // 2
            while chunk >= 1:
                for i in range(0, n, chunk):
                    c = json.loads(json.dumps(case))
                    for k in keys[i:i + chunk]:
                        del c[side][b][k]
                    yield c
                chunk //= 2
    for side in ("src", "dst"):
        for b in sorted(case[side]):
            if case["src_spec"].get("bucket") is None or side == "dst":
                c = json.loads(json.dumps(case))
                del c[side][b]
                if side == "src":
                    c["dst"].pop(b, None)
                yield c
    if case.get("fault"):
        c = dict(case)
        c.pop("fault")
        yield c
    for k in sorted(case.get("opts") or {}):
        c = json.loads(json.dumps(case))
        del c["opts"][k]
        yield c
    for side in ("src", "dst"):  # simpler objects: no metadata, no content type
        for b in sorted(case[side]):
            for k, o in sorted(case[side][b].items()):
                if o.get("meta") or o.get("ct"):
                    c = json.loads(json.dumps(case))
                    c[side][b][k].pop("meta", None)
                    c[side][b][k].pop("ct", None)
                    yield c


def shrink(env, case, category, budget=int(os.environ.get("SHRINK_BUDGET", 60))):
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        for c in variants(case):
            tries += 1
            if tries > budget:
                break
            try:
                model(c, env.caps)
            except Ambiguous:
                continue
            try:
                run_case(env, c)
            except Failure as f:
                if f.category == category:
                    case, progress = c, True
                    break
            except Exception:
                continue
    return case


# ---------------------------------------------------------------- main

def describe(case):
    return json.dumps(case, ensure_ascii=True, sort_keys=True)


def save_case(case, category, note=""):
    os.makedirs(CASES_DIR, exist_ok=True)
    h = hashlib.sha1(describe(case).encode()).hexdigest()[:10]
    path = os.path.join(CASES_DIR, "%s-%s.json" % (category.lower().replace(" ", "-"), h))
    with open(path, "w") as f:
        json.dump(dict(case, found=category, note=note, near=gen.features(case)), f, indent=1, ensure_ascii=True, sort_keys=True)
        f.write("\n")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=int(os.environ.get("CASES", 20)))
    ap.add_argument("--seed", default=os.environ.get("SEED", "1"))
    ap.add_argument("--servers", default=os.environ.get("SERVERS", "moto"))
    ap.add_argument("--avoid-known", action="store_true", help="no case near a defect of issue 12")
    ap.add_argument("--hunt", action="store_true", help="also cases near the bugs gen.FOUND lists")
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--save", action="store_true", help="save minimal failing cases to cases/")
    ap.add_argument("--oracle-only", action="store_true", help="unit tests of the model only")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N failures")
    ap.add_argument("--rclone", type=int, default=int(os.environ.get("RCLONE", 0)),
                    help="rclone as a second oracle on every Nth eligible case (0: never)")
    ap.add_argument("--case", action="append", help="run this case file (JSON) only")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    if a.oracle_only:
        import unittest
        suite = unittest.defaultTestLoader.loadTestsFromName("test_model")
        sys.exit(0 if unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful() else 1)
    if not os.access(BIN, os.X_OK):
        sys.exit("model: %s is not built" % BIN)
    import s3servers
    own = tempfile.mkdtemp(prefix="s3m-model-")
    for var, sub in (("XDG_RUNTIME_DIR", "run"), ("S3MIRROR_CACHE_DIR", "cache")):
        os.makedirs(os.path.join(own, sub), mode=0o700)
        os.environ[var] = os.path.join(own, sub)
    kinds = [k for k in a.servers.split(",") if k]
    saved = [] if a.no_replay else sorted(glob.glob(os.path.join(CASES_DIR, "*.json")))
    if a.case:
        saved, a.cases = a.case, 0
    total, failures, t0 = 0, [], time.time()
    with s3servers.sites(kinds) as sites:
        for kind in kinds:
            env = Env(kind, sites[kind], own)
            print("[model] %s: part sizes learnable: %s" % (kind, env.caps["part_sizes"]), file=sys.stderr)
            work = []
            for path in saved:
                with open(path) as f:
                    c = json.load(f)
                if kind != "moto" and any(ord(ch) < 32 or ord(ch) == 127 for b in c["src"].values() for k in b for ch in k):
                    continue
                work.append(("case " + os.path.basename(path), c))
            base = int(a.seed) if str(a.seed).isdigit() else a.seed
            for i in range(a.cases):
                s = "%s-%d" % (base, i)
                work.append(("seed %s" % s, gen.generate(s, kind, a.avoid_known, () if a.hunt else gen.FOUND)))
            for name, case in work:
                total += 1
                t1 = time.time()
                try:
                    run_case(env, case, a.v, rclone=bool(a.rclone) and total % a.rclone == 0)
                    print("[model] %s %s: ok (%.1fs)" % (kind, name, time.time() - t1), file=sys.stderr)
                except Exception as f:
                    if not isinstance(f, Failure):
                        import traceback
                        f = Failure("HARNESS", traceback.format_exc())
                    print("\n[model] FAIL %s %s: %s" % (kind, name, f.category), flush=True)
                    # saved cases are minimal already
                    near = set(gen.features(case)) & (gen.ISSUE12 | gen.FOUND)
                    if near and not a.save:
                        print("[model] near %s (a saved case covers it): not shrunk" % ", ".join(sorted(near)))
                    small = case if a.no_shrink or not name.startswith("seed") or (near and not a.save) \
                        else shrink(env, case, f.category)
                    try:
                        run_case(env, small)
                        detail = f.detail
                    except Failure as g:
                        detail = g.detail
                    except Exception as g:
                        detail = "%s\n(re-run of the minimal case: %r)" % (f.detail, g)
                    print("[model] minimal case (%s, %s; near: %s):\n%s\n%s" % (
                        kind, name, ", ".join(gen.features(small)) or "nothing known", describe(small), detail),
                        flush=True)
                    near = set(gen.features(small)) & (gen.ISSUE12 | gen.FOUND)
                    if a.save and name.startswith("seed") and near:
                        print("[model] not saved: near %s, which a saved case covers" % ", ".join(sorted(near)))
                    elif a.save and name.startswith("seed"):
                        print("[model] saved %s" % save_case(small, f.category, "%s %s" % (kind, name)))
                    failures.append((f.category, kind, name))
                    if a.stop_after and len(failures) >= a.stop_after:
                        break
    dt = time.time() - t0
    import shutil
    shutil.rmtree(own, ignore_errors=True)
    loss = [x for x in failures if x[0] == DATA_LOSS]
    if loss:
        print("\n[model] !!! DATA LOSS: s3mirror deleted keys the model keeps in %d case(s): %s" % (
            len(loss), ", ".join("%s %s" % (k, n) for _, k, n in loss)))
    print("model: %d cases (%s, seed %s, %d saved; rclone agreed on %d), %d failed in %.0fs%s" % (
        total, a.servers, a.seed, len(saved), RCLONE_RUNS[0], len(failures), dt,
        "".join("\n  %s %s: %s" % (k, n, c) for c, k, n in sorted(failures))))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
