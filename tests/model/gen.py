"""Seeded generator of sync cases that aims at the edges (see model.py for the case format).

generate(seed, kind, avoid_known=False) -> case. The same seed and kind give the same case.
avoid_known=True steers clear of the defects of issue 12 that are being fixed on other branches
(path without trailing '/', folder marker at the prefix root, missing destination bucket,
--max-delete over several buckets, uneven multipart layouts), so that what fails is new."""
import random

from model import MiB, Ambiguous, model

REL_KEYS = [
    "a", "b", "c", "a b", "x+y", "100%", "p%20q", "\u00fc/\u00f1.txt", "\u65e5\u672c",
    "emoji\U0001F600", "d/e", "d/", "d/sub/f", "a//b", "//x", "/lead", "trail/", "./x", "../y",
    "a/./b", "a/../b", ".", "..", "sp ", "~t", "k.tmp", "sub/k.tmp", "A", "Z", "0", "~", "\u00e9",
    "x/y/z/w", "quote\"'", "back\\slash", "star*", "q?m", "{br}[]", "hash#", "amp&=;",
]
CTL_KEYS = ["tab\tx", "ctl\x01x", "del\x7f", "cr\rx"]  # moto refuses a newline in a key
PATHS = ["", "p", "p/", "backup", "backup/", "d/e", "d/e/", "pre fix/", "\u00fc/"]
FILTERS = [("-", "*.tmp"), ("+", "d/**"), ("-", "/a*"), ("+", "*{x,y}*"), ("-", "**/sub/*"),
           ("-", "[bc]*"), ("+", "*"), ("-", "trail/"), ("+", "/d/*"), ("-", "?")]
LAYOUTS = {"uniform": [5 * MiB, 5 * MiB, 2 * MiB], "uneven": [6 * MiB, 5 * MiB, 1 * MiB],
           "single": [3 * MiB], "uniform2": [5 * MiB, 5 * MiB]}


# Multipart objects some servers cannot store; setup would get HTTP 500 before s3mirror runs
# (checked with boto3 alone). Such an object is written single-part there (same key and bytes),
# so the key shape keeps its coverage; the other servers still get it multipart.
# - moto: CreateMultipartUpload answers 500 for a key holding a control character that XML 1.0
#   forbids (\x01; tab, CR and DEL are fine): the reply echoes the key. PutObject takes it.
# - Ceph radosgw: CompleteMultipartUpload answers 500 for a key of 1000 bytes or more (960
#   works; its internal part/meta object names add to the key). PutObject takes 1024 bytes.
CEPH_MPU_MAX_KEY = 960


def multipart_ok(kind, key):
    if kind == "moto":
        return not any(ord(c) < 32 and c not in "\t\n\r" for c in key)
    if kind == "ceph":
        return len(key.encode()) <= CEPH_MPU_MAX_KEY
    return True


def _obj(rng, size=None, seed=None, parts=None):
    if size is None:
        r = rng.random()
        size = 0 if r < 0.12 else 1 if r < 0.22 else rng.randrange(2, 300)
    o = {"n": size, "c": seed or "s%d" % rng.randrange(10 ** 9), "parts": parts}
    if rng.random() < 0.3:
        o["ct"] = rng.choice(["text/plain", "application/x-tar", "text/csv; charset=utf-8"])
    if rng.random() < 0.3:
        o["meta"] = {"owner": rng.choice(["ops", "a b", "x"]), "v": str(rng.randrange(9))}
    return o


def _outside(rng, fold, avoid_known):
    """Keys of the same bucket outside the folder, many sharing its first letters."""
    out = ["0first", "zz/other"]
    if fold:
        stem = fold[:-1]
        out += [stem[:-1] or "@", stem + "~"]
        if not avoid_known:
            out += [stem + "-2023/x", stem + ".old", stem + "X/keep", stem, stem + "0/k"]
    return rng.sample(out, rng.randrange(0, len(out) + 1))


# The defects of issue 12, fixed on other branches; avoid_known=True keeps clear of them.
ISSUE12 = {"folder", "marker", "missing_bucket", "maxdel_multi", "uneven"}
# Bugs this test found that nobody fixes yet; avoided unless hunting (run.py --hunt), so that
# `make check` stays green on them. Drop a name here when its fix is merged.
FOUND = set()  # ctl_ranges, max_size_0, glob_utf8: fixed on branch filters


def features(case):
    """Which defects of issue 12 (and bugs gen.FOUND lists) a case comes near."""
    from model import folder
    f = set()
    for side in ("src", "dst"):
        sp = case[side + "_spec"]
        fold = folder(sp)
        if sp.get("path") and not sp["path"].endswith("/"):
            f.add("folder")  # the binary before the fix takes it as a string prefix
        for b, objs in case[side].items():
            for k, o in objs.items():
                if fold and sp.get("path") and not sp["path"].endswith("/") \
                        and k.startswith(fold[:-1]) and not k.startswith(fold):
                    f.add("folder")
                if fold and k == fold:
                    f.add("marker")
                if o.get("parts") and len(set(o["parts"][:-1])) > 1 or \
                        o.get("parts") and len(o["parts"]) > 1 and o["parts"][-1] > o["parts"][0]:
                    f.add("uneven")
                if any(ord(c) < 32 or ord(c) == 127 for c in k) and \
                        (case.get("opts") or {}).get("list_concurrency") != 1:
                    f.add("ctl_ranges")
    for b in ([case["dst_spec"]["bucket"]] if case["dst_spec"].get("bucket") else list(case["src"])):
        if b not in case["dst"]:
            f.add("missing_bucket")
    o = case.get("opts") or {}
    if any(("?" in g or "[" in g) for _, g in o.get("filters") or []) and any(
            ord(c) > 127 for side in ("src", "dst") for objs in case[side].values() for k in objs for c in k):
        f.add("glob_utf8")
    if case["src_spec"].get("bucket") is None and o.get("max_delete") is not None:
        f.add("maxdel_multi")
    if o.get("max_size") == 0:
        f.add("max_size_0")
    return sorted(f)


def generate(seed, kind="moto", avoid_known=False, avoid=FOUND):
    avoid = set(avoid) | (ISSUE12 if avoid_known else set())
    for attempt in range(100):
        case = _generate(random.Random("%s/%s/%d" % (seed, kind, attempt)), kind, avoid)
        case["seed"] = "%s" % seed
        try:
            model(case, {"part_sizes": kind == "moto"})
            return case
        except Ambiguous:
            continue
    raise RuntimeError("no decidable case for seed %s" % seed)


def _generate(rng, kind, avoid):
    avoid_known = bool(avoid & ISSUE12)
    allb = rng.random() < 0.15
    cmd = rng.choices(["sync", "copy", "check"], [70, 15, 15])[0]
    paths = PATHS if not avoid_known else [p for p in PATHS if p == "" or p.endswith("/")]
    if allb:
        sspec, dspec = {"bucket": None, "path": ""}, {"bucket": None, "path": ""}
        buckets = ["b%d" % i for i in range(rng.randrange(2, 4))]
    else:
        sp = rng.choice(paths)
        dp = sp if rng.random() < 0.4 else rng.choice(paths)
        sspec, dspec = {"bucket": "b0", "path": sp}, {"bucket": "d0", "path": dp}
        buckets = None
    case = {"cmd": cmd, "src_spec": sspec, "dst_spec": dspec, "src": {}, "dst": {}, "opts": {}}
    opts = case["opts"]
    sf = sspec["path"].rstrip("/") + "/" if sspec["path"] else ""
    df = dspec["path"].rstrip("/") + "/" if dspec["path"] else ""
    # control characters: moto echoes a ListObjectsV2 start-after unencoded, so a key range
    # boundary holding one breaks the listing (found by this test); avoid_known lists in one range
    ctl = kind == "moto" and rng.random() < 0.5
    keys = list(REL_KEYS) + (CTL_KEYS if ctl else [])
    many = rng.random() < 0.03
    pairs = buckets and [(b, b) for b in buckets] or [("b0", "d0")]
    big_budget = 2
    for sb, db in pairs:
        n = rng.randrange(0, 12) if not allb else rng.randrange(1, 6)
        rels = rng.sample(keys, min(n, len(keys)))
        if rng.random() < 0.25:
            rels.append("n%04d" % rng.randrange(10000))
        if rng.random() < 0.08:
            rels.append("L" * (1024 - max(len(sf.encode()), len(df.encode())) - 1) + "g")
        if many:
            rels += ["m%05d" % i for i in range(rng.choice([1001, 1500, 2001]))]
        src, dst = {}, {}
        for r in rels:
            parts, size = None, None
            x = rng.random()
            if x < 0.06 and big_budget:
                size = rng.choice([5 * MiB - 1, 5 * MiB, 5 * MiB + 1])
                big_budget -= 1
            elif x < 0.12 and big_budget:
                lay = rng.choice([k for k in LAYOUTS if not ("uneven" in avoid and k == "uneven")])
                parts = list(LAYOUTS[lay])
                size = sum(parts)
                big_budget -= 1
            o = _obj(rng, size, parts=parts)
            src[sf + r] = o
            st = rng.random()
            if st < 0.35:  # equal
                dst[df + r] = dict(o)
            elif st < 0.55:  # stale
                same_size = rng.random() < 0.5
                if parts and rng.random() < 0.5:  # same bytes, other layout (another tool)
                    d = dict(o, parts=None) if rng.random() < 0.5 else dict(o, parts=[o["n"]])
                else:
                    d = _obj(rng, o["n"] if same_size else None)
                    if parts and rng.random() < 0.5:
                        d = dict(d, n=o["n"], parts=list(parts))
                dst[df + r] = d
            # else: missing on the destination
        for r in rng.sample(keys, rng.randrange(0, 5)):  # extra on the destination
            if df + r not in dst and r not in rels:
                dst[df + r] = _obj(rng)
        for k in _outside(rng, sf, avoid_known):
            src[k] = _obj(rng)
        for k in _outside(rng, df, avoid_known):
            dst[k] = _obj(rng)
        if not avoid_known and rng.random() < 0.3:
            if sf:
                src[sf] = _obj(rng, 0)
            if df and rng.random() < 0.5:
                dst[df] = _obj(rng, 0)
        if sf and rng.random() < 0.1 and not avoid_known:
            src = {k: v for k, v in src.items() if not k.startswith(sf) or k == sf}
        case["src"][sb] = src
        if avoid_known or allb or rng.random() > 0.1:
            case["dst"][db] = dst
    if allb and not avoid_known and rng.random() < 0.3 and len(case["dst"]) > 1:
        del case["dst"][rng.choice(sorted(case["dst"]))]  # a destination bucket to create
    if rng.random() < 0.25:
        opts["filters"] = [list(f) for f in rng.sample(FILTERS, rng.randrange(1, 3))]
        if "glob_utf8" in avoid:  # ? and [...] match a byte, not a character (found by this test)
            opts["filters"] = [f for f in opts["filters"] if "?" not in f[1] and "[" not in f[1]] or None
    if rng.random() < 0.08:
        opts["min_size"] = rng.choice([1, 2, 100])
    if rng.random() < 0.08:  # --max-size 0 is taken as no limit (found by this test)
        opts["max_size"] = rng.choice([50, 5 * MiB] + ([] if "max_size_0" in avoid else [0]))
    if cmd == "sync" and rng.random() < 0.3 and not (avoid_known and allb):
        opts["max_delete"] = rng.choice(["0", "1", "2", "3", "5", "50%"])
    if rng.random() < 0.3:
        opts["compare"] = rng.choice(["size", "size-mtime", "checksum"])
    if rng.random() < 0.3:
        opts["max_keys"] = rng.choice([1, 2, 3, 5])
    if rng.random() < 0.2 or (ctl and "ctl_ranges" in avoid):
        opts["list_concurrency"] = 1
    if cmd == "sync" and rng.random() < 0.05:
        opts["allow_empty_source"] = True
    if not allb and rng.random() < 0.15:
        opts["same_site"] = True  # server-side copy between buckets of one endpoint
    if cmd != "check" and rng.random() < 0.2:
        side = rng.choice(["src", "dst"])
        if side == "dst":
            f = rng.choice([["status", {"method": "PUT", "share": 0.3, "status": 503, "times": 3}],
                            ["status", {"method": "PUT", "share": 0.3, "status": 500, "times": 3}],
                            ["drop", {"method": "PUT", "times": 2}],
                            ["status", {"method": "POST", "times": 1, "status": 503}]])
        else:
            f = rng.choice([["status", {"method": "GET", "share": 0.3, "status": 500, "times": 3}],
                            ["drop", {"method": "GET", "share": 0.3, "times": 2}],
                            ["stall", {"method": "GET", "times": 1, "seconds": 3}]])
        f[1]["seed"] = rng.randrange(1000)
        case["fault"] = {"side": side, "rules": [f]}
    # last, so that the random stream (and every other case of a seed) stays as it was
    for side in ("src", "dst"):
        for objs in case[side].values():
            for k, o in objs.items():
                if o.get("parts") and not multipart_ok(kind, k):
                    o["parts"] = None
    return case
