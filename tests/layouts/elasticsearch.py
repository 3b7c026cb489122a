"""Elasticsearch snapshot repository (BlobStoreRepository), written and checked from the layout
that Elasticsearch documents in the javadoc of its package org.elasticsearch.repositories.blobstore
(server/src/main/java/org/elasticsearch/repositories/blobstore/package-info.java, 8.x):

    index-N              RepositoryData (JSON): the snapshots, each index's repository id, the
                         snapshots it is in and its shard generations
    index.latest         N as a 64-bit big-endian long
    snap-<uuid>.dat      SnapshotInfo          meta-<uuid>.dat   global metadata
    indices/<id>/meta-<uuid>.dat               index metadata for that snapshot
    indices/<id>/<shard>/__<uuid>              segment data
    indices/<id>/<shard>/snap-<uuid>.dat       the shard's files in that snapshot
    indices/<id>/<shard>/index-<gen>           every snapshot of the shard and its files

Reading: the highest index-N found by listing (index.latest when listing is not possible), then
everything it names. Writing a snapshot: segment blobs, the shard's snap-<uuid>.dat and a new
index-<gen> per shard, then meta-*, snap-*, index-(N+1) and index.latest. Deleting one: the new
shard generations, index-(N+1) without it, index.latest, then its meta/snap blobs and the blobs
nothing references any more. The .dat blobs are SMILE in Elasticsearch; here JSON carries the
same fields (a checker only needs the names they hold).
"""
import json
import re
import struct

from common import MiB, Generated, Repo, Walk

INDICES = {"logs": 2, "metrics": 1}  # index name -> shard count


class Es:
    def __init__(self, repo):
        self.r, self.gen = repo, -1
        self.snapshots = []  # [{"name", "uuid"}]
        self.index_ids = {name: repo.uuid() for name in INDICES}
        # (index, shard) -> {"gen", "files": {blob: (physical, length)}, "snaps": [..]}
        self.shards = {(i, s): {"gen": None, "files": {}, "snaps": []}
                       for i, n in INDICES.items() for s in range(n)}
        self.segment = 0

    def shard_dir(self, index, shard):
        return "indices/%s/%d/" % (self.index_ids[index], shard)

    def snapshot(self, name, big=0):
        uuid = self.r.uuid()
        for (index, shard), st in sorted(self.shards.items()):
            self.snapshot_shard(index, shard, st, name, uuid, big)
            big = 0  # one big segment per snapshot at most
        self.r.put("meta-%s.dat" % uuid, json.dumps({"meta-data": {"cluster_uuid": "c1"}}))
        for index in INDICES:
            self.r.put("indices/%s/meta-%s.dat" % (self.index_ids[index], uuid),
                       json.dumps({index: {"settings": {"number_of_shards": INDICES[index]}}}))
        self.r.put("snap-%s.dat" % uuid, json.dumps({"snapshot": {
            "name": name, "uuid": uuid, "indices": sorted(INDICES), "state": "SUCCESS"}}))
        self.snapshots.append({"name": name, "uuid": uuid})
        self.write_root()

    def snapshot_shard(self, index, shard, st, name, uuid, big):
        d = self.shard_dir(index, shard)
        last = st["snaps"][-1]["files"] if st["snaps"] else []
        keep = last[: max(0, len(last) - 1)]  # a merge replaced the newest segment
        new = []
        for n in range(2):
            blob = "__" + self.r.uuid()
            size = big if (big and n == 0) else 1000 + 997 * (self.segment % 7)
            self.segment += 1
            self.r.put(d + blob, self.r.data(size))
            st["files"][blob] = ("_%d.cfs" % self.segment, size)
            new.append(blob)
        files = keep + new
        self.r.put(d + "snap-%s.dat" % uuid, json.dumps({"name": name, "files": [
            {"name": b, "physical_name": st["files"][b][0], "length": st["files"][b][1]}
            for b in files]}))
        st["snaps"].append({"name": name, "uuid": uuid, "files": files})
        self.new_shard_gen(d, st)

    def new_shard_gen(self, d, st):
        """Write the shard's new index-<gen>; the previous one is left for cleanup_shard."""
        st["old_gen"], st["gen"] = st["gen"], self.r.uuid()
        used = sorted({b for s in st["snaps"] for b in s["files"]})
        self.r.put(d + "index-" + st["gen"], json.dumps({
            "snapshots": [{"name": s["name"], "files": [st["files"][b][0] for b in s["files"]]}
                          for s in st["snaps"]],
            "files": [{"name": b, "physical_name": st["files"][b][0],
                       "length": st["files"][b][1]} for b in used]}))

    def write_root(self):
        old = self.gen
        self.gen += 1
        self.r.put("index-%d" % self.gen, json.dumps({
            "min_version": "7.9.0", "uuid": "repo-uuid-1",
            "snapshots": [{"name": s["name"], "uuid": s["uuid"], "state": 1}
                          for s in self.snapshots],
            "indices": {index: {
                "id": self.index_ids[index],
                "snapshots": [s["uuid"] for s in self.snapshots],
                "shard_generations": [self.shards[(index, n)]["gen"]
                                      for n in range(INDICES[index])]}
                for index in sorted(INDICES)}}, indent=1))
        self.r.put("index.latest", struct.pack(">q", self.gen))
        if old >= 0:  # stale root generations go once the new one is written
            self.r.delete("index-%d" % old)
        for (index, shard), st in sorted(self.shards.items()):
            if st.get("old_gen"):
                self.r.delete(self.shard_dir(index, shard) + "index-" + st.pop("old_gen"))

    def delete_snapshot(self, name):
        snap = next(s for s in self.snapshots if s["name"] == name)
        uuid, garbage = snap["uuid"], []
        for index in INDICES:
            self.r.delete("indices/%s/meta-%s.dat" % (self.index_ids[index], uuid))
        for (index, shard), st in sorted(self.shards.items()):
            d = self.shard_dir(index, shard)
            self.r.delete(d + "snap-%s.dat" % uuid)
            st["snaps"] = [s for s in st["snaps"] if s["uuid"] != uuid]
            self.new_shard_gen(d, st)
            used = {b for s in st["snaps"] for b in s["files"]}
            for b in sorted(set(st["files"]) - used):
                garbage.append(d + b)
                del st["files"][b]
        self.snapshots.remove(snap)
        self.write_root()
        self.r.delete("meta-%s.dat" % uuid)
        self.r.delete("snap-%s.dat" % uuid)
        for key in garbage:
            self.r.delete(key)


def generate(seed=1, big=5 * MiB + 99999):
    """State A: snapshots s1, s2. B: s3 taken (one big segment), then s1 deleted."""
    r = Repo("elasticsearch-%d" % seed)
    es = Es(r)
    es.snapshot("s1")
    es.snapshot("s2")
    mark = r.mark()
    es.snapshot("s3", big=big)
    es.delete_snapshot("s1")
    return Generated(r, mark)


def check(view, prefix=""):
    """Follow index.latest and the highest listed index-N to everything they name."""
    w = Walk(view)
    latest, gens = prefix + "index.latest", []
    for k in view.keys:
        m = re.fullmatch(re.escape(prefix) + r"index-(\d+)", k)
        if m:
            gens.append(int(m.group(1)))
    roots = set()
    if latest in view.keys:
        w.roots.add(latest)
        n = struct.unpack(">q", view.get(latest))[0]
        if w.need(latest, latest, prefix + "index-%d" % n):
            roots.add(n)
    if gens:
        roots.add(max(gens))
    for n in sorted(roots):
        key = prefix + "index-%d" % n
        w.roots.add(key)
        repository_data(w, prefix, key)
    return w


def repository_data(w, prefix, key):
    data = json.loads(w.view.get(key))
    for s in data["snapshots"]:
        w.need(key, key, prefix + "snap-%s.dat" % s["uuid"])
        w.need(key, key, prefix + "meta-%s.dat" % s["uuid"])
    for index in data["indices"].values():
        base = prefix + "indices/%s/" % index["id"]
        for uuid in index["snapshots"]:
            w.need(key, key, base + "meta-%s.dat" % uuid)
        for shard, gen in enumerate(index["shard_generations"]):
            d = base + "%d/" % shard
            if w.need(key, key, d + "index-" + gen):
                files_of(w, key, d + "index-" + gen, d)
            for uuid in index["snapshots"]:
                if w.need(key, key, d + "snap-%s.dat" % uuid):
                    files_of(w, key, d + "snap-%s.dat" % uuid, d)


def files_of(w, root, key, d):
    for f in json.loads(w.view.get(key))["files"]:
        w.need(root, key, d + f["name"])
