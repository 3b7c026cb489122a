"""Velero backup storage location, written and checked from Velero's own code and docs:
pkg/persistence/object_store_layout.go (backups/<name>/velero-backup.json, <name>.tar.gz,
<name>-logs.gz, <name>-podvolumebackups.json.gz, <name>-resource-list.json.gz, ... and the kopia/
directory of the repositories, one per namespace: kopia/<namespace>/), pkg/persistence/
object_store.go (PutBackup writes the log, then velero-backup.json, then the tarball, then the
other files; a backup is listed from the backups/ prefixes and read from velero-backup.json;
GetPodVolumeBackups treats a missing file as "no pod volume backups", so a restore would silently
skip the volumes; DeleteBackup lists backups/<name>/ and deletes each key) and the docs page
"Output file format". File system backups (defaultVolumesToFsBackup) are kopia snapshots whose
manifest id is the PodVolumeBackup's status.snapshotID; deleting a backup first deletes those
snapshots (a kopia manifest deletion), then the backup's files.
"""
import gzip
import json
import re

import kopia
from common import MiB, Generated, Repo, Walk

NS = "app"
SIBLINGS = ("logs.gz", "resource-list.json.gz", "volumesnapshots.json.gz",
            "itemoperations.json.gz", "results.gz", "volumeinfo.json.gz")


def gz(obj):
    return gzip.compress(json.dumps(obj).encode(), mtime=0)


def backup(r, k, name, volumes, tar_size):
    """One Velero backup of namespace app with its pod volumes (kopia snapshots)."""
    pvbs = []
    for vol, files in sorted(volumes.items()):
        mid = k.snapshot("/host_pods/%s/volumes/%s" % (NS, vol), files)
        pvbs.append({"kind": "PodVolumeBackup", "metadata": {"name": "%s-%s" % (name, vol)},
                     "spec": {"volume": vol, "pod": {"namespace": NS, "name": "db-0"},
                              "repoIdentifier": "s3:http://osl1/velero/kopia/" + NS,
                              "uploaderType": "kopia"},
                     "status": {"phase": "Completed", "snapshotID": mid}})
    d = "backups/%s/%s" % (name, name)
    r.put(d + "-logs.gz", gz({"log": "backup %s" % name}))
    r.put("backups/%s/velero-backup.json" % name, json.dumps({
        "kind": "Backup", "apiVersion": "velero.io/v1",
        "metadata": {"name": name, "namespace": "velero"},
        "spec": {"includedNamespaces": [NS], "defaultVolumesToFsBackup": True,
                 "storageLocation": "default", "ttl": "720h0m0s"},
        "status": {"version": 1, "formatVersion": "1.1.0", "phase": "Completed",
                   "progress": {"totalItems": 12, "itemsBackedUp": 12}}}, indent=1))
    r.put(d + ".tar.gz", r.data(tar_size))
    r.put(d + "-podvolumebackups.json.gz", gz(pvbs))
    for s in SIBLINGS[1:]:
        r.put(d + "-" + s, gz([]))
    return [p["status"]["snapshotID"] for p in pvbs]


def delete_backup(r, k, name, snapshots):
    for mid in snapshots:
        k.delete_snapshot(mid)
    for key in r.keys("backups/%s/" % name):
        r.delete(key)


def generate(seed=1, big=5 * MiB + 99999):
    """A: backups b1, b2. B: b3 (a big volume file), then b1 deleted, then kopia maintenance."""
    r = Repo("velero-%d" % seed)
    k = kopia.Kopia(r, "kopia/%s/" % NS)
    k.init()
    shared = kopia.files(r, "pgdata", [4000, 3000])
    s1 = backup(r, k, "b1", {"pgdata": dict(shared, **kopia.files(r, "d1", [5000]))}, 30000)
    k.advance_epoch()
    backup(r, k, "b2", {"pgdata": dict(shared, **kopia.files(r, "d2", [6000]))}, 31000)
    mark = r.mark()
    k.advance_epoch()
    backup(r, k, "b3", {"pgdata": dict(shared, **kopia.files(r, "d3", [big, 2000]))}, 32000)
    delete_backup(r, k, "b1", s1)
    k.maintenance(compact_epoch=0)
    return Generated(r, mark)


def check(view, prefix=""):
    """Every listed backup (velero-backup.json) -> its tarball, its pod volume backups file, and
    the kopia snapshot each pod volume backup names; the kopia repositories on their own."""
    w = Walk(view)
    repos = {}
    for key in sorted(view.keys):
        m = re.fullmatch(re.escape(prefix) + r"backups/([^/]+)/velero-backup\.json", key)
        if not m:
            continue
        name, d = m.group(1), key[: -len("velero-backup.json")]
        w.roots.add(key)
        meta = json.loads(view.get(key))
        w.need(key, key, d + name + ".tar.gz")
        if not meta["spec"].get("defaultVolumesToFsBackup"):
            continue
        pvb_key = d + name + "-podvolumebackups.json.gz"
        if not w.need(key, key, pvb_key):
            continue
        for pvb in json.loads(gzip.decompress(view.get(pvb_key))):
            base = prefix + "kopia/%s/" % pvb["spec"]["pod"]["namespace"]
            if base not in repos:
                repos[base] = kopia.check(view, base, w).kopia_manifests
            found = repos[base].get(pvb["status"]["snapshotID"])
            target = base + "snapshot:" + pvb["status"]["snapshotID"]
            if found is None:
                w.need(key, pvb_key, target)
            elif found[0].get("deleted"):
                w.retired(key, pvb_key, target)
            else:
                w.need(key, pvb_key, base + found[1])  # the pack holding the manifest
                w.need(key, pvb_key, base + found[2])  # the index blob that names it
    for key in sorted(view.keys):  # repositories no backup names are checked too
        m = re.match(re.escape(prefix) + r"(kopia/[^/]+/)kopia\.repository$", key)
        if m and m.group(1) not in repos:
            repos[m.group(1)] = kopia.check(view, m.group(1), w).kopia_manifests
    return w
