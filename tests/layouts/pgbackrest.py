"""pgBackRest repository, written and checked from pgBackRest's user guide and its code:
src/info/infoBackup.c and src/info/manifest.c (backup/<stanza>/backup.info and its .copy: an INI
file whose [backup:current] section lists each backup label with a JSON value: backup-prior,
backup-archive-start/stop, backup-type...; backup/<stanza>/<label>/backup.manifest and .copy:
[target:file] lists every file as pg_data/<path>={"size":..,"reference":<label>} where a file
with a reference is stored in that earlier backup), src/command/backup/backup.c (files are copied
to <label>/pg_data/<path>.gz first, then the manifest, then backup.info), src/command/expire/
expire.c (expire removes the manifest files "to invalidate the backup", rewrites backup.info,
then removes the backup directories and the WAL no backup needs) and archive/<stanza>/
archive.info with WAL under archive/<stanza>/<db-version>-<db-id>/<first 16 hex>/<segment>-
<sha1>.gz. pgBackRest reads backup.info, or backup.info.copy when the first is missing.
"""
import json
import re
import time

from common import MiB, Generated, Repo, Walk, sha

STANZA = "main"
B = "backup/%s/" % STANZA
A = "archive/%s/" % STANZA
ARCH = A + "16-1/"


def seg_name(seg):
    return "%08X%08X%08X" % (1, 0, seg)


def ini(sections):
    out = []
    for name, values in sections:
        out.append("[%s]" % name)
        out += ["%s=%s" % (k, json.dumps(v)) for k, v in values]
        out.append("")
    return "\n".join(out)


def parse_ini(data):
    sections, cur = {}, None
    for line in data.decode().splitlines():
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), {})
        elif "=" in line and cur is not None:
            k, v = line.split("=", 1)
            cur[k] = json.loads(v)
    return sections


class Pgbr:
    def __init__(self, repo):
        self.r, self.backups, self.clock = repo, {}, 1700000000
        self.files = {}  # label -> {pg_data path: (size, stored in label)}

    def stanza_create(self):
        db = [("db-id", 1), ("db-system-id", 7312345678901234567), ("db-version", "16")]
        info = ini([("backrest", [("backrest-format", 5), ("backrest-version", "2.54")]),
                    ("db", db), ("db:history", [("1", {"db-id": 7312345678901234567,
                                                       "db-version": "16"})])])
        self.r.put(A + "archive.info", info)
        self.r.put(A + "archive.info.copy", info)
        self.write_info()

    def push_wal(self, first, last):
        for s in range(first, last + 1):
            data = self.r.data(2000 + 13 * s)
            name = seg_name(s)
            self.r.put(ARCH + "%s/%s-%s.gz" % (name[:16], name, sha(data, 40)), data)

    def backup(self, kind, seg, sizes, prior=None):
        self.clock += 86400
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock))
        label = stamp + "F" if kind == "full" else "%s_%s%s" % (prior[:16], stamp, kind[0].upper())
        files = {}
        if prior:  # unchanged files stay where the prior backup stored them
            files.update(self.files[prior])
        for i, size in enumerate(sizes):
            path = "pg_data/base/5/%d" % (16000 + i if kind == "full" else 17000 + seg * 10 + i)
            self.r.put(B + "%s/%s.gz" % (label, path), self.r.data(size))
            files[path] = (size, label)
        self.files[label] = files
        manifest = ini([
            ("backup", [("backup-label", label), ("backup-prior", prior),
                        ("backup-type", kind), ("backup-archive-start", seg_name(seg)),
                        ("backup-archive-stop", seg_name(seg))]),
            ("target:file", [(p, dict({"size": s}, **({"reference": lb} if lb != label else {})))
                             for p, (s, lb) in sorted(files.items())])])
        self.r.put(B + label + "/backup.manifest", manifest)
        self.r.put(B + label + "/backup.manifest.copy", manifest)
        self.backups[label] = {"backup-type": kind, "backup-prior": prior,
                               "backup-archive-start": seg_name(seg),
                               "backup-archive-stop": seg_name(seg),
                               "backup-timestamp-stop": self.clock, "db-id": 1,
                               "backrest-format": 5}
        self.write_info()
        return label

    def write_info(self):
        info = ini([("backrest", [("backrest-format", 5), ("backrest-version", "2.54")]),
                    ("backup:current", sorted(self.backups.items())),
                    ("db", [("db-id", 1), ("db-version", "16")])])
        self.r.put(B + "backup.info", info)
        self.r.put(B + "backup.info.copy", info)

    def expire(self, labels, wal_before):
        for label in sorted(labels, reverse=True):  # newest dependent first
            self.r.delete(B + label + "/backup.manifest")
            self.r.delete(B + label + "/backup.manifest.copy")
            del self.backups[label]
        self.write_info()
        for label in sorted(labels):
            for key in self.r.keys(B + label + "/"):
                self.r.delete(key)
        for key in self.r.keys(ARCH):
            if key.split("/")[-1][:24] < seg_name(wal_before):
                self.r.delete(key)


def generate(seed=1, big=5 * MiB + 99999):
    """A: full at WAL 2 with an incremental at 3, full at 5. B: full at 8 (one big file), then
    expire with repo-retention-full=2: the first full and its incremental go, with WAL < 5."""
    r = Repo("pgbackrest-%d" % seed)
    p = Pgbr(r)
    p.stanza_create()
    p.push_wal(1, 2)
    f1 = p.backup("full", 2, [9000, 12000, 3000])
    p.push_wal(3, 3)
    i1 = p.backup("incr", 3, [4000], prior=f1)
    p.push_wal(4, 5)
    p.backup("full", 5, [9500, 12500, 3500])
    p.push_wal(6, 6)
    mark = r.mark()
    p.push_wal(7, 8)
    p.backup("full", 8, [big, 13000, 4000])
    p.push_wal(9, 9)
    p.expire([f1, i1], 5)
    return Generated(r, mark)


def check(view, prefix=""):
    """backup.info (and its .copy) -> every backup label -> its manifest -> every file, in the
    label that stores it; -> the prior backup; -> the WAL from archive start to stop."""
    w = Walk(view)
    wal = {k.split("/")[-1][:24] for k in view.keys if k.startswith(prefix + ARCH)}
    for info in (prefix + B + "backup.info", prefix + B + "backup.info.copy"):
        if info not in view.keys:
            continue
        w.roots.add(info)
        w.need(info, info, prefix + A + "archive.info")
        for label, b in sorted(parse_ini(view.get(info)).get("backup:current", {}).items()):
            d = prefix + B + label + "/"
            if b.get("backup-prior"):
                w.need(info, info, prefix + B + b["backup-prior"] + "/backup.manifest")
            for seg in range(int(b["backup-archive-start"], 16) & 0xFFFFFFFF,
                             (int(b["backup-archive-stop"], 16) & 0xFFFFFFFF) + 1):
                name = seg_name(seg)
                target = prefix + ARCH + "%s/%s-*.gz" % (name[:16], name)
                if name in wal:
                    target = next(k for k in sorted(view.keys) if k.startswith(
                        prefix + ARCH + "%s/%s-" % (name[:16], name)))
                w.need(info, info, target)
            manifest = d + "backup.manifest"
            if manifest not in view.keys and d + "backup.manifest.copy" in view.keys:
                manifest += ".copy"
            if not w.need(info, info, manifest):
                continue
            files = parse_ini(view.get(manifest)).get("target:file", {})
            for path, f in sorted(files.items()):
                store = f.get("reference", label)
                w.need(info, manifest, prefix + B + "%s/%s.gz" % (store, path))
    return w
