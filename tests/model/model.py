"""A reference model of `s3mirror sync|copy|check`, written from the documents only (man/s3mirror.1,
README.md, docs/how-sync-decides.md, docs/configuration.md, docs/migrating-from-rclone.md, DESIGN.md),
never from the C code. Pure: no I/O.

A case (JSON-able dict):
  cmd        "sync" | "copy" | "check"
  dry_run    bool (sync/copy)
  src_spec   {"bucket": "b0" | None (REMOTE:, every bucket), "path": "" | "p" | "p/" | "a/b" ...}
  dst_spec   the same
  src, dst   {bucket: {key: obj}}; a bucket missing from dst does not exist
  opts       {"filters": [["+"|"-", glob], ...], "min_size": n, "max_size": n,
              "max_delete": "N" | "P%", "compare": "etag"|"size"|"size-mtime"|"checksum",
              "allow_empty_source": bool, "max_keys": n, "list_concurrency": n, ...}
  fault      None | {"side": "src"|"dst", "rules": [[action, kw], ...]}  (always absorbable)
obj: {"n": size, "c": content seed, "parts": [part sizes] | None, "ct": Content-Type | None,
      "meta": {x-amz-meta-*}}

Setup order is fixed by the harness: every source object is written before any destination
object, so a destination object is never older than a source object: "updated when the source is
newer" never fires on the first run (documented fallback of --compare etag and size-mtime).

Where the documents leave an outcome open, model() raises Ambiguous and the generator drops the
case: the model only asserts what the documents say.
"""
import hashlib
import re

MiB = 1024 * 1024


class Ambiguous(Exception):
    """The documents do not decide this case."""


# ---------------------------------------------------------------- objects, ETags

def content(obj):
    """The bytes of an object: deterministic from its content seed and size."""
    n, seed = obj["n"], obj["c"]
    block = hashlib.sha256(("%s/%d" % (seed, n)).encode()).digest()
    if n <= 4096:
        return (block * (n // 32 + 1))[:n]
    # big objects: a 64 KiB block, varied every block so parts differ
    unit = b"".join(hashlib.sha256(block + bytes([i])).digest() for i in range(256)) * 8
    out = bytearray()
    i = 0
    while len(out) < n:
        out += bytes([i & 0xff]) + unit[1:]
        i += 1
    return bytes(out[:n])


def etag(obj):
    data = content(obj)
    parts = obj.get("parts")
    if not parts:
        return hashlib.md5(data).hexdigest()
    assert sum(parts) == obj["n"], obj
    md5s, o = b"", 0
    for p in parts:
        md5s += hashlib.md5(data[o:o + p]).digest()
        o += p
    return "%s-%d" % (hashlib.md5(md5s).hexdigest(), len(parts))


def etag_kind(obj):
    return len(obj["parts"]) if obj.get("parts") else 0


# ---------------------------------------------------------------- specs, folders

def folder(spec):
    """A spec's path names a folder, as rclone does: `b/backup` == `backup/` (DESIGN.md, issue 12)."""
    p = spec.get("path") or ""
    return "" if p == "" else p.rstrip("/") + "/"


def relative(key, fold):
    """The key relative to the folder, or None when the key is outside it."""
    if not key.startswith(fold):
        return None
    return key[len(fold):]


# ---------------------------------------------------------------- filters (rclone globs)

def glob_regex(g):
    """rclone glob -> regex over the key relative to the folder (man page --include)."""
    anchored = g.startswith("/")
    if anchored:
        g = g[1:]
    out, i = "", 0
    while i < len(g):
        c = g[i]
        if c == "*":
            if g[i:i + 2] == "**":
                out += ".*"
                i += 2
                continue
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = g.index("]", i + 1)
            out += "[" + g[i + 1:j].replace("\\", "\\\\") + "]"
            i = j
        elif c == "{":
            j = g.index("}", i)
            out += "(?:" + "|".join(re.escape(x) for x in g[i + 1:j].split(",")) + ")"
            i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(("^" if anchored else "(?:^|/)") + out + "$", re.S)


def included(rel, size, opts):
    """Whether an object takes part: glob rules in order, first match decides; with any
    --include, an object no rule matches is left out; then --min-size / --max-size."""
    rules = opts.get("filters") or []
    verdict = None
    for sign, g in rules:
        if glob_regex(g).search(rel):
            verdict = sign == "+"
            break
    if verdict is None:
        verdict = not any(s == "+" for s, _ in rules)
    if not verdict:
        return False
    if opts.get("min_size") is not None and size < opts["min_size"]:
        return False
    if opts.get("max_size") is not None and size > opts["max_size"]:
        return False
    return True


# ---------------------------------------------------------------- compare

def differs(s, d, mode, caps=None):
    """(differs?, comparable?) for a source object and a destination object (docs: --compare)."""
    if d.get("copy_of") is not None:  # written by s3mirror from this very source object
        same = d["copy_of"] == (s["c"], s["n"], tuple(s.get("parts") or ()))
        if same:
            return False, True
    if s["n"] != d["n"]:
        return True, True
    if mode == "size":
        return False, True
    if mode == "size-mtime":
        return False, True  # the source is never newer (setup order)
    if etag_kind(s) == etag_kind(d):
        return etag(s) != etag(d), True
    if mode == "checksum":
        return content(s) != content(d), False
    return False, False  # ETags of different kinds: size and time; the source is never newer


# ---------------------------------------------------------------- the model

def jobs(case):
    """[(src bucket, dst bucket)] of the run."""
    if case["src_spec"].get("bucket") is None:
        if case["dst_spec"].get("bucket") is not None:
            raise Ambiguous("REMOTE: on one side only")
        return [(b, b) for b in sorted(case["src"])]
    return [(case["src_spec"]["bucket"], case["dst_spec"]["bucket"])]


def model(case, caps=None):
    """The expected outcome:
      actions   sorted [(action, bucket, relkey)]: copy/update (source bucket), delete (dst bucket)
      dst       {bucket: {key: obj}} after the run (obj of a copy carries copy_of)
      etag_equal {(bucket, key)}: destination keys whose ETag must equal the source's
      exit      exit code
      created   dst buckets the run creates
    """
    caps = caps or {}
    cmd, opts = case["cmd"], case.get("opts") or {}
    mode = opts.get("compare", "etag")
    dry = case.get("dry_run", False) or cmd == "check"
    sf, df = folder(case["src_spec"]), folder(case["dst_spec"])
    actions, copies, deletes = [], [], []
    total_dst_objs = {"folder": 0, "bucket": 0, "scope": 0}
    empty_refused = False
    for sb, db in jobs(case):
        if cmd == "check" and db not in case["dst"]:
            raise Ambiguous("check against a missing bucket: exit 3 or 10")
        src = case["src"].get(sb)
        if src is None:
            raise Ambiguous("source bucket missing")
        dst = case["dst"].get(db, {})
        s_rel, d_rel = {}, {}
        raw_src = 0
        for k, o in src.items():
            r = relative(k, sf)
            if r is None:
                continue
            if r == "":  # the folder marker of the prefix itself: the folder, not an object
                if o["n"] != 0:
                    raise Ambiguous("non-empty object named like the folder")
                continue
            raw_src += 1
            s_rel[r] = o
        for k, o in dst.items():
            total_dst_objs["bucket"] += 1
            r = relative(k, df)
            if r is None:
                continue
            if r == "":
                if o["n"] != 0:
                    raise Ambiguous("non-empty object named like the folder")
                continue
            total_dst_objs["folder"] += 1
            d_rel[r] = o
        bucket_deletes = []
        for r in sorted(set(s_rel) | set(d_rel), key=lambda x: x.encode()):
            s, d = s_rel.get(r), d_rel.get(r)
            si = s is not None and included(r, s["n"], opts)
            di = d is not None and included(r, d["n"], opts)
            if s is not None and d is not None and si != di:
                raise Ambiguous("a filter takes one side of a pair only")
            if di:
                total_dst_objs["scope"] += 1
            if s is not None and si:
                if len((df + r).encode()) > 1024:
                    raise Ambiguous("mapped key longer than 1024 bytes")
                if d is None:
                    actions.append(("copy", sb, r))
                    copies.append((sb, r, db, df + r, s))
                else:
                    diff, _ = differs(s, d, mode, caps)
                    if diff:
                        actions.append(("update", sb, r))
                        copies.append((sb, r, db, df + r, s))
            elif d is not None and di and s is None:
                if cmd != "copy":
                    actions.append(("delete", db, r))
                    bucket_deletes.append((db, df + r))
        # the empty-source rule counts keys in scope: a source whose keys are all excluded (or
        # only the folder's marker) is empty
        if bucket_deletes and not s_rel_included(s_rel, opts) and not opts.get("allow_empty_source"):
            empty_refused = True
        deletes += bucket_deletes
    # --max-delete: the whole run, checked before the first delete
    over = False
    md = opts.get("max_delete")
    if md is not None and deletes and cmd == "sync":
        if md.endswith("%"):
            pct = float(md[:-1])
            # of the destination objects in the run's scope (not excluded), every bucket's
            over = len(deletes) > pct * total_dst_objs["scope"] / 100.0
        else:
            over = len(deletes) > int(md)
    if len(jobs(case)) > 1 and empty_refused:
        raise Ambiguous("empty source bucket among several")
    refused = over or empty_refused
    # the destination after the run
    out = {b: dict(objs) for b, objs in case["dst"].items()}
    created = []
    etag_equal = set()
    if not dry:
        for sb, r, db, dk, s in copies:
            if db not in out:
                out[db] = {}
                created.append(db)
            o = dict(s)
            o["copy_of"] = (s["c"], s["n"], tuple(s.get("parts") or ()))
            out[db][dk] = o
            if copy_keeps_etag(s, caps):
                etag_equal.add((db, dk))
        if cmd == "sync" and not refused:
            for db, dk in deletes:
                del out[db][dk]
        if cmd in ("sync", "copy"):
            for sb, db in jobs(case):
                if db not in out:  # an empty source bucket: the destination bucket still made
                    out[db] = {}
                    created.append(db)
    if cmd == "check":
        code = 10 if actions else 0
    elif refused and cmd == "sync":
        code = None if dry else 2  # a dry run over a safety rule: the documents do not say
    else:
        code = 0
    return {"actions": sorted(actions), "dst": out, "etag_equal": etag_equal, "exit": code,
            "created": sorted(created), "refused": refused}


def s_rel_included(s_rel, opts):
    return any(included(r, o["n"], opts) for r, o in s_rel.items())


def copy_keeps_etag(s, caps):
    """A copy keeps the source's ETag: plain sources stay single-part; multipart sources keep
    their layout, exactly where the server tells the part sizes (HEAD partNumber=N), else where
    a common part size (5 MiB first, 8 MiB) reproduces a uniform layout."""
    parts = s.get("parts")
    if not parts:
        return True
    if caps.get("part_sizes"):
        return True
    uniform = all(p == parts[0] for p in parts[:-1]) and parts[-1] <= parts[0]
    return uniform and parts[0] in (5 * MiB, 8 * MiB) or len(parts) == 1


def settle(case, result):
    """The case as it stands after the run (for a second run of the same job)."""
    c = dict(case)
    c["dst"] = result["dst"]
    c["dry_run"] = True
    return c
