"""WAL-G for PostgreSQL, written and checked from wal-g's own code: internal/databases/postgres/
backup_sentinel_dto.go (the sentinel basebackups_005/<name>_backup_stop_sentinel.json: LSN,
FinishLSN, Timeline, DeltaFrom/DeltaFullName for a delta backup, FilesMetadataDisabled; the
backup's metadata.json (ExtendedMetadataDto) and files_metadata.json (FilesMetadataDto: Files and
TarFileSets, the tar names of basebackups_005/<name>/tar_partitions/)), internal/backup.go
(TarPartitionFolderName "/tar_partitions/"), and utility's BaseBackupPath "basebackups_005/" and
WalPath "wal_005/" (WAL segments named by PostgreSQL's 24-hex-digit file name plus the
compression extension). A backup is listed by its sentinel, which wal-g uploads last, after the
tar partitions and the metadata; restoring it also needs the WAL from its start to its finish LSN,
and a delta backup needs the backup it is a delta from. `delete retain` removes the older backups
and the WAL before the oldest kept backup.
"""
import json
import re

from common import MiB, Generated, Repo, Walk

SEG = 16 * MiB  # PostgreSQL's WAL segment size (LSN arithmetic only: segments here are small)
EXT = ".br"


def seg_name(timeline, seg):
    lsn = seg * SEG
    return "%08X%08X%08X" % (timeline, lsn >> 32, (lsn & 0xFFFFFFFF) // SEG)


def push_wal(r, first, last):
    for s in range(first, last + 1):
        r.put("wal_005/%s%s" % (seg_name(1, s), EXT), r.data(3000 + 11 * s))


def push_backup(r, start, finish, sizes, delta_from=None):
    name = "base_" + seg_name(1, start)
    if delta_from:
        name += "_D_" + delta_from[len("base_"):]
    d = "basebackups_005/%s/" % name
    tars = {}
    for i, size in enumerate(sizes, 1):
        tar = "part_%d.tar%s" % (i, EXT)
        r.put(d + "tar_partitions/" + tar, r.data(size))
        tars[tar] = ["base/16384/%d" % (1000 * i + j) for j in range(3)]
    tar = "pg_control.tar" + EXT
    r.put(d + "tar_partitions/" + tar, r.data(900))
    tars[tar] = ["global/pg_control"]
    r.put(d + "files_metadata.json", json.dumps({"Files": {f: {"IsIncremented": False}
                                                           for fs in tars.values() for f in fs},
                                                 "TarFileSets": tars}))
    sentinel = {"LSN": start * SEG + 40, "Timeline": 1, "PgVersion": 160002,
                "FinishLSN": finish * SEG + 4096, "SystemIdentifier": 7312345678901234567,
                "UncompressedSize": sum(sizes), "CompressedSize": sum(sizes), "Spec": None}
    if delta_from:
        sentinel.update(DeltaFrom=delta_from, DeltaFullName=delta_from, DeltaCount=1,
                        DeltaLSN=sentinel["LSN"] - SEG)
    r.put(d + "metadata.json", json.dumps({"start_lsn": sentinel["LSN"],
                                           "finish_lsn": sentinel["FinishLSN"],
                                           "pg_version": 160002, "is_permanent": False}))
    r.put("basebackups_005/%s_backup_stop_sentinel.json" % name, json.dumps(sentinel))
    return name


def delete_before(r, keep_name, keep_start):
    """wal-g delete: the backups older than keep_name (in listing order), then older WAL."""
    for key in r.keys("basebackups_005/"):
        if key.split("/")[1] < keep_name:
            r.delete(key)
    for key in r.keys("wal_005/"):
        if key.split("/")[1][:24] < seg_name(1, keep_start):
            r.delete(key)


def generate(seed=1, big=5 * MiB + 99999):
    """A: WAL 1-6, full backups at 2 and 5 (a delta at 4). B: WAL 7-9, a full backup at 8 with
    a big partition, then `delete retain FULL 2`: the backups and WAL before segment 5 go."""
    r = Repo("walg-%d" % seed)
    push_wal(r, 1, 2)
    full1 = push_backup(r, 2, 2, [20000, 9000])
    push_wal(r, 3, 4)
    push_backup(r, 4, 4, [7000], delta_from=full1)
    push_wal(r, 5, 5)
    full2 = push_backup(r, 5, 5, [21000, 8000])
    push_wal(r, 6, 6)
    mark = r.mark()
    push_wal(r, 7, 8)
    push_backup(r, 8, 8, [big, 12000])
    push_wal(r, 9, 9)
    delete_before(r, full2, 5)
    return Generated(r, mark)


def check(view, prefix=""):
    """Every sentinel -> metadata.json, files_metadata.json -> the tar partitions it names, the
    WAL from start to finish LSN, and the backup a delta is based on."""
    w = Walk(view)
    for key in sorted(view.keys):
        m = re.fullmatch(re.escape(prefix) + r"basebackups_005/(.+)_backup_stop_sentinel\.json",
                         key)
        if not m:
            continue
        w.roots.add(key)
        s = json.loads(view.get(key))
        d = prefix + "basebackups_005/%s/" % m.group(1)
        w.need(key, key, d + "metadata.json")
        if not s.get("FilesMetadataDisabled") and w.need(key, key, d + "files_metadata.json"):
            for tar in sorted(json.loads(view.get(d + "files_metadata.json"))["TarFileSets"]):
                w.need(key, d + "files_metadata.json", d + "tar_partitions/" + tar)
        for seg in range(s["LSN"] // SEG, s["FinishLSN"] // SEG + 1):
            w.need(key, key, prefix + "wal_005/%s%s" % (seg_name(s["Timeline"], seg), EXT))
        if s.get("DeltaFrom"):
            w.need(key, key, prefix + "basebackups_005/%s_backup_stop_sentinel.json" %
                   s["DeltaFrom"])
    return w
