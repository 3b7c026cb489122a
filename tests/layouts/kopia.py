"""Kopia repository (the format Velero >= 1.10 writes under kopia/<namespace>/), written and
checked from kopia's own documentation: site/content/docs/Advanced/Architecture (blob prefixes:
p data packs, q metadata packs, x indexes; content ids with a k/m/x prefix live in q packs, the
others in p packs; an index maps a content id to its pack, offset and length; large objects are
"I"-prefixed indirect JSON contents; manifests are contents too), Advanced/Storage Tiers (n, m, l,
x index blobs, s sessions) and internal/epoch/epoch_manager.go (index blob names: xe<N> epoch
markers, xn<N>_ uncompacted indexes of epoch N, xs<N>_ single-epoch compactions, xr ranges).

Reading: kopia.repository, then the index (per epoch up to the highest xe marker: the complete
xs set when there is one, else every xn blob; the newest entry of a content wins, a deleted one
hides it), then the manifests (contents m...; the newest entry of a manifest id wins), then from
each snapshot manifest its root directory and every object below. Writing: packs, then the
index blob that names them. Snapshot deletion writes a manifest deletion entry; maintenance marks
unreachable contents deleted (a new index blob), deletes packs left with no live content,
compacts a settled epoch into xs and then deletes its xn blobs. Kopia encrypts packs and
indexes; here they are plain JSON and concatenated bytes with the same names and pointers.
"""
import json
import re

from common import MiB, Generated, Repo, Walk, sha

CHUNK = int(2.75 * MiB)  # a file above this is split into chunks under an indirect object


class Kopia:
    def __init__(self, repo, base=""):
        self.r, self.base = repo, base
        self.index = {}  # content id -> {"pack", "offset", "length", "deleted", "ts"}
        self.epoch, self.ts = 0, 1000
        self.pending = {"p": [], "q": []}  # contents not yet in a pack: (cid, bytes)
        self.entries = []  # index entries not yet in an index blob
        self.manifests = {}  # manifest id -> (labels, data) of the live ones
        self.epoch_blobs = {}  # epoch -> xn blob names

    def tick(self):
        self.ts += 1
        return self.ts

    def init(self):
        self.r.put(self.base + "kopia.repository", json.dumps({
            "tool": "https://github.com/kopia/kopia", "uniqueID": self.r.hexid(),
            "keyAlgo": "scrypt-65536-8-1", "version": "1", "encryption": "AES256_GCM_HMAC_SHA256",
            "encryptedBlockFormat": "synthetic"}))
        self.r.put(self.base + "kopia.blobcfg", json.dumps({"retentionMode": "",
                                                            "retentionPeriod": 0}))
        self.r.put(self.base + "kopia.maintenance", json.dumps({"owner": "velero@cluster"}))

    def content(self, data, prefix=""):
        cid = prefix + sha(data)
        e = self.index.get(cid)
        if e and not e["deleted"] or any(c == cid for c, _ in self.pending["q" if prefix
                                                                           else "p"]):
            return cid  # deduplicated
        self.pending["q" if prefix else "p"].append((cid, data))
        return cid

    def flush(self):
        """Write the pending packs, then the index blob that names their contents."""
        for kind in ("p", "q"):
            if not self.pending[kind]:
                continue
            name, body = kind + self.r.hexid(), b""
            for cid, data in self.pending[kind]:
                e = {"id": cid, "pack": name, "offset": len(body), "length": len(data),
                     "deleted": False, "ts": self.tick()}
                body += data
                self.entries.append(e)
            self.r.put(self.base + name, body)
            self.pending[kind] = []
        self.write_index()

    def write_index(self):
        if not self.entries:
            return
        name = "xn%d_%s" % (self.epoch, self.r.hexid())
        self.r.put(self.base + name, json.dumps({"entries": self.entries}, indent=0))
        for e in self.entries:
            self.index[e["id"]] = e
        self.epoch_blobs.setdefault(self.epoch, []).append(name)
        self.entries = []

    def obj(self, data):
        if len(data) <= CHUNK:
            return self.content(data)
        entries = []
        for i in range(0, len(data), CHUNK):
            entries.append({"s": i, "l": len(data[i:i + CHUNK]),
                            "o": self.content(data[i:i + CHUNK])})
        return "I" + self.content(json.dumps({"stream": "kopia:indirect",
                                              "entries": entries}).encode(), "x")

    def snapshot(self, path, files):
        """files: {name: bytes}; returns the snapshot manifest id."""
        entries = [{"name": n, "type": "f", "obj": self.obj(files[n])} for n in sorted(files)]
        root = self.content(json.dumps({"stream": "kopia:directory",
                                        "entries": entries}).encode(), "k")
        mid = self.r.hexid()
        labels = {"type": "snapshot", "hostname": "velero", "path": path, "username": "default"}
        data = {"source": labels, "rootEntry": {"name": path, "type": "d", "obj": root}}
        self.put_manifest({"id": mid, "labels": labels, "modified": self.tick(),
                           "data": data})
        self.manifests[mid] = (labels, data)
        self.flush()
        return mid

    def put_manifest(self, entry):
        self.content(json.dumps({"entries": [entry]}).encode(), "m")

    def delete_snapshot(self, mid):
        self.put_manifest({"id": mid, "deleted": True, "modified": self.tick()})
        del self.manifests[mid]
        self.flush()

    def advance_epoch(self):
        self.epoch += 1
        self.r.put(self.base + "xe%d" % self.epoch, b"")

    def maintenance(self, compact_epoch=None):
        """Content GC, rewrite of partly dead packs, blob GC, then compaction of a settled
        epoch and cleanup of its xn blobs."""
        live = set()
        for _labels, data in self.manifests.values():
            self.reach(data["rootEntry"]["obj"], live)
        for cid, e in sorted(self.index.items()):
            if not e["deleted"] and cid[0] != "m" and cid not in live:
                self.entries.append(dict(e, deleted=True, ts=self.tick()))
        self.write_index()
        self.rewrite()
        packs = {}
        for e in self.index.values():
            packs.setdefault(e["pack"], []).append(not e["deleted"])
        for pack, alive in sorted(packs.items()):
            if not any(alive) and self.r.has(self.base + pack):
                self.r.delete(self.base + pack)
        if compact_epoch is not None:
            self.compact(compact_epoch)

    def rewrite(self):
        """Full maintenance rewrites the live contents of partly dead packs into new packs."""
        packs = {}
        for cid, e in self.index.items():
            packs.setdefault(e["pack"], []).append((cid, e))
        for pack, members in sorted(packs.items()):
            if any(e["deleted"] for _, e in members) and not all(e["deleted"] for _, e in members):
                for cid, e in members:
                    if not e["deleted"]:
                        body = self.r.state[self.base + pack]
                        self.pending[pack[0]].append((cid, body[e["offset"]:e["offset"] +
                                                           e["length"]]))
        self.flush()

    def reach(self, oid, live):
        cid = oid[1:] if oid.startswith("I") else oid
        live.add(cid)
        e = self.index[cid]
        body = self.r.state[self.base + e["pack"]][e["offset"]:e["offset"] + e["length"]]
        if oid.startswith("I"):
            for c in json.loads(body)["entries"]:
                self.reach(c["o"], live)
        elif cid.startswith("k"):
            for c in json.loads(body)["entries"]:
                self.reach(c["obj"], live)

    def compact(self, epoch):
        merged = {}
        for name in self.epoch_blobs[epoch]:
            for e in json.loads(self.r.state[self.base + name])["entries"]:
                if e["id"] not in merged or merged[e["id"]]["ts"] < e["ts"]:
                    merged[e["id"]] = e
        self.r.put(self.base + "xs%d_%s-c1" % (epoch, self.r.hexid()),
                   json.dumps({"entries": sorted(merged.values(), key=lambda e: e["id"])},
                              indent=0))
        for name in self.epoch_blobs.pop(epoch):
            self.r.delete(self.base + name)


def files(r, tag, sizes):
    return {"%s-%d.dat" % (tag, i): r.data(n) for i, n in enumerate(sizes)}


def evolve(k, r, big):
    """A: snapshots of a volume in epochs 0 and 1. B: a new snapshot (one big file), the first
    deleted, maintenance (GC, compaction of epoch 0)."""
    shared = files(r, "base", [3000, 5000])
    m1 = k.snapshot("/data", dict(shared, **files(r, "day1", [4000, 7000])))
    k.advance_epoch()
    m2 = k.snapshot("/data", dict(shared, **files(r, "day2", [6000])))
    mark = r.mark()
    k.advance_epoch()
    m3 = k.snapshot("/data", dict(shared, **files(r, "day3", [big, 2500] if big else [2500])))
    k.delete_snapshot(m1)
    k.maintenance(compact_epoch=0)
    return mark, (m1, m2, m3)


def generate(seed=1, big=5 * MiB + 99999):
    r = Repo("kopia-%d" % seed)
    k = Kopia(r)
    k.init()
    mark, _ = evolve(k, r, big)
    return Generated(r, mark)


# ---- the checker ----
class Index:
    """The index kopia would load from the listed blobs, and the blobs it came from."""

    def __init__(self, view, base):
        rel = {k[len(base):] for k in view.keys if k.startswith(base)}
        markers = [int(m.group(1)) for m in map(re.compile(r"xe(\d+)$").match, rel) if m]
        top = max(markers + [0])
        xn, xs = {}, {}
        for name in rel:
            m = re.match(r"x([ns])(\d+)_", name)
            if m:
                (xn if m.group(1) == "n" else xs).setdefault(int(m.group(2)), []).append(name)
        self.blobs = []
        for epoch in sorted(set(xn) | set(xs) | set(range(top + 1))):
            sets = [s for s in xs.get(epoch, []) if complete(s, xs[epoch])]
            self.blobs += sets if sets else sorted(xn.get(epoch, []))
        self.entries = {}
        for name in self.blobs:
            for e in json.loads(view.get(base + name))["entries"]:
                old = self.entries.get(e["id"])
                if old is None or old[0]["ts"] < e["ts"]:
                    self.entries[e["id"]] = (e, name)

    def live(self, cid):
        e = self.entries.get(cid)
        return e if e and not e[0]["deleted"] else None


def complete(name, names):
    m = re.search(r"-c(\d+)$", name)
    prefix = name.split("_")[0] + "_"
    return m and sum(1 for n in names if n.startswith(prefix)) >= int(m.group(1))


def check(view, base="", w=None):
    """Follow the index to the packs and every snapshot manifest to its whole tree.
    Returns the Walk; w.kopia_manifests holds {id: (entry, pack, index blob)} of the newest
    entry of every manifest id (deleted ones included)."""
    w = w or Walk(view)
    if not any(k.startswith(base) for k in view.keys):
        w.kopia_manifests = {}
        return w
    idx = Index(view, base)
    fmt = base + "kopia.repository"
    for name in idx.blobs:
        w.roots.add(base + name)
        w.need(base + name, base + name, fmt)
    for cid, (e, name) in sorted(idx.entries.items()):
        if not e["deleted"]:
            w.need(base + name, base + name, base + e["pack"])
    manifests = {}
    for cid in sorted(idx.entries):
        e = idx.live(cid)
        if cid.startswith("m") and e and base + e[0]["pack"] in view.keys:
            for m in json.loads(read(view, base, e[0]))["entries"]:
                old = manifests.get(m["id"])
                if old is None or old[0]["modified"] < m["modified"]:
                    manifests[m["id"]] = (m, e[0]["pack"], e[1])
    for mid, (m, pack, _name) in sorted(manifests.items()):
        if not m.get("deleted") and m["labels"].get("type") == "snapshot":
            tree(w, view, base, idx, base + pack, m["data"]["rootEntry"]["obj"], base + pack)
    w.kopia_manifests = manifests
    return w


def read(view, base, e):
    return view.get(base + e["pack"])[e["offset"]:e["offset"] + e["length"]]


def tree(w, view, base, idx, root, oid, referrer):
    cid = oid[1:] if oid.startswith("I") else oid
    found = idx.live(cid)
    if not found and cid in idx.entries:  # the newest entry deletes it
        w.edges.append((referrer, base + "content:" + cid))
        w.retired(root, referrer, base + "content:" + cid, "deleted")
        return
    if not found:
        w.need(root, referrer, base + "content:" + cid)  # not in the index: dangles
        return
    pack = base + found[0]["pack"]
    if not w.need(root, referrer, pack):
        return
    if oid.startswith("I") or cid.startswith("k"):
        for c in json.loads(read(view, base, found[0]))["entries"]:
            tree(w, view, base, idx, root, c.get("o") or c.get("obj"), pack)
