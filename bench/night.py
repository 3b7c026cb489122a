"""bench/night.py - a night's delta shaped like the seed's buckets (issue 16), called by bench/run.

Three source buckets like the seed's nightly jobs (docs/backup-repositories.md): a restic-like
repository (4-16 MiB packs under data/xx/, many small index files, snapshots, keys, config), an
Elasticsearch-like snapshot repository (indices/<uuid>/<shard>/ with many small segment files and
a few large, meta-/snap- files, shard index-<gen>, root index-N and index.latest) and WAL-G-like
16 MiB WAL segments (with .history and .backup files and base backups with their sentinels).
Day 0: each tool copies the three buckets to a fresh destination. Then the night's change: 2 %
new objects, 1 % deleted, the pointers rewritten (index-N -> index-N+1, index.latest, shard
index-<gen>, a new snapshot and sentinel). Day 1: each tool syncs again, measured: wall, CPU
(user+sys), requests by type and the bytes of their bodies (the radosgw access logs: sent
for GET and LIST, received for PUT and UploadPart) and the servers' CPU. Every destination is checked with boto3
(same keys, sizes and ETags as the source) after both days.

One destination exists at a time (memstore keeps objects in RAM): before each tool the source is
put back to its day-0 state. Default scale (--night 1): 2,322 objects, 641 MiB per site; --night 0.25: 284, 145 MiB.
"""
import math
import random
import re
import sys
import time

KiB, MiB = 1024, 1024 * 1024
LAYOUT = {"restic": "restic", "es": "elasticsearch", "wal": "wal-g"}


def hexid(rnd, n=64):
    return "%0*x" % (n, rnd.getrandbits(4 * n))


def restic(rnd, f):
    """restic's repository: config, keys/, data/xx/ packs, index/, snapshots/."""
    objs = {"config": 155, "keys/" + hexid(rnd): 460}
    for _ in range(max(1, int(24 * f))):
        objs["data/%s" % pack_name(rnd)] = rnd.randint(4 * MiB, 16 * MiB)
    for _ in range(max(3, int(400 * f))):
        objs["index/" + hexid(rnd)] = rnd.randint(1 * KiB, 8 * KiB)
    for _ in range(max(2, int(60 * f))):
        objs["snapshots/" + hexid(rnd)] = rnd.randint(250, 400)
    return objs


def pack_name(rnd):
    h = hexid(rnd)
    return "%s/%s" % (h[:2], h)


def restic_night(rnd, objs, n_new, n_del):
    """A backup (new packs, index files, one snapshot) and a prune (old packs and indexes)."""
    packs = sorted(k for k in objs if k.startswith("data/"))
    idx = sorted(k for k in objs if k.startswith("index/"))
    new_packs = max(1, round(n_new * len(packs) / len(objs)))
    puts = {"snapshots/" + hexid(rnd): 320}
    for _ in range(new_packs):
        puts["data/" + pack_name(rnd)] = rnd.randint(4 * MiB, 16 * MiB)
    while len(puts) < max(n_new, new_packs + 2):
        puts["index/" + hexid(rnd)] = rnd.randint(1 * KiB, 8 * KiB)
    del_packs = max(1, round(n_del * len(packs) / len(objs)))
    dels = packs[:del_packs] + idx[:max(1, n_del - del_packs)]
    return puts, dels


def es(rnd, f):
    """An Elasticsearch snapshot repository after n snapshots of a few indices."""
    objs, nsnap = {}, max(2, int(30 * f))
    snaps = [hexid(rnd, 22) for _ in range(nsnap)]
    for s in snaps:
        objs["snap-%s.dat" % s] = rnd.randint(300, 900)
        objs["meta-%s.dat" % s] = rnd.randint(2 * KiB, 6 * KiB)
    objs["index-%d" % (nsnap - 1)] = rnd.randint(4 * KiB, 12 * KiB)
    objs["index.latest"] = 8
    nidx, nbig = max(1, int(8 * f)), max(1, int(4 * f))
    for i in range(nidx):
        u = hexid(rnd, 22)
        objs["indices/%s/meta-%s.dat" % (u, snaps[0])] = rnd.randint(1 * KiB, 3 * KiB)
        for shard in range(2):
            d = "indices/%s/%d/" % (u, shard)
            objs[d + "index-%s" % hexid(rnd, 22)] = rnd.randint(1 * KiB, 4 * KiB)
            for s in snaps[-3:]:
                objs[d + "snap-%s.dat" % s] = rnd.randint(400, 1200)
            for _ in range(max(2, int(100 * f))):
                objs[d + "__" + hexid(rnd, 22)] = int(math.exp(rnd.uniform(math.log(300), math.log(256 * KiB))))
            if i * 2 + shard < nbig:  # a few large segment files
                objs[d + "__" + hexid(rnd, 22)] = rnd.randint(16 * MiB, 32 * MiB)
    return objs


def es_night(rnd, objs, n_new, n_del):
    """Tonight's snapshot: new segments per shard, shard snap- and index-<gen> (the old one
    deleted), meta-/snap- at the root, index-N+1 (index-N deleted), index.latest rewritten;
    and the segments only the deleted snapshot held."""
    n = max(int(k[6:]) for k in objs if k.startswith("index-") and k[6:].isdigit())
    s = hexid(rnd, 22)
    puts = {"snap-%s.dat" % s: 700, "meta-%s.dat" % s: 4 * KiB, "index-%d" % (n + 1): 9 * KiB,
            "index.latest": 8}  # rewritten in place: same size, new content
    dels = ["index-%d" % n]
    shards = sorted({k.rsplit("/", 1)[0] for k in objs if k.startswith("indices/") and k.count("/") == 3})
    for d in shards:
        old = sorted(k for k in objs if k.startswith(d + "/index-"))
        puts[d + "/index-" + hexid(rnd, 22)] = 2 * KiB
        puts[d + "/snap-%s.dat" % s] = 800
        dels += old
    segs = [d + "/__" for d in shards]
    i = 0
    while len(puts) < n_new:
        puts[segs[i % len(segs)] + hexid(rnd, 22)] = int(math.exp(rnd.uniform(math.log(300), math.log(256 * KiB))))
        i += 1
    small = sorted(k for k in objs if "/__" in k and objs[k] < MiB)
    dels += small[:max(1, n_del - len(dels))]
    return puts, dels


def wal(rnd, f):
    """WAL-G: wal_005/ segments of 16 MiB, timeline .history files, base backups with a
    .backup label segment and their stop sentinels."""
    objs, nseg = {}, max(2, int(16 * f))
    for i in range(nseg):
        objs["wal_005/0000000200000000000000%02X" % (0x10 + i)] = 16 * MiB
    objs["wal_005/00000002.history"] = 42
    for i in range(max(1, int(40 * f))):  # small files: labels and metadata of base backups
        b = "base_0000000200000000000000%02X" % (0x10 + i % nseg)
        objs["basebackups_005/%s/metadata_%d.json" % (b, i)] = rnd.randint(300, 900)
        objs["wal_005/0000000200000000000000%02X.%08X.backup" % (0x10 + i % nseg, i * 40)] = 300
    b = "base_000000020000000000000010"
    objs["basebackups_005/%s_backup_stop_sentinel.json" % b] = 612
    return objs


def wal_night(rnd, objs, n_new, n_del):
    """The night's WAL and a new base backup; the oldest segments expire."""
    segs = sorted(k for k in objs if k.startswith("wal_005/") and len(k) == 32)
    last = int(segs[-1][-2:], 16)
    puts = {}
    for i in range(max(1, round(n_new * len(segs) / len(objs)))):
        puts["wal_005/0000000200000000000000%02X" % (last + 1 + i)] = 16 * MiB
    b = "base_0000000200000000000000%02X" % (last + 1)
    puts["basebackups_005/%s_backup_stop_sentinel.json" % b] = 640
    i = 0
    while len(puts) < n_new:
        puts["basebackups_005/%s/metadata_%d.json" % (b, i)] = 500
        i += 1
    dels = segs[:max(1, round(n_del * len(segs) / len(objs)))]
    smalls = sorted(k for k in objs if k.endswith(".backup"))
    dels += smalls[:max(0, n_del - len(dels))]
    return puts, dels


SHAPES = {"restic": (restic, restic_night), "es": (es, es_night), "wal": (wal, wal_night)}


def days(f):
    """{bucket: (day-0 objects, day-1 objects)}, key -> (size, generation)."""
    out = {}
    small = 16 if f < 0.05 else 1  # the smoke run (CI): objects over 1 MiB at 1/16 of their size
    for name, (gen, night) in SHAPES.items():
        rnd = random.Random("night-" + name)
        d0 = {k: (s, 0) for k, s in gen(rnd, f).items()}
        n = len(d0)
        puts, dels = night(rnd, {k: s for k, (s, _) in d0.items()},
                           max(1, math.ceil(0.02 * n)), max(1, math.ceil(0.01 * n)))
        d1 = dict(d0)
        for k in dels:
            d1.pop(k, None)
        for k, s in puts.items():
            d1[k] = (s, 1)
        for d in (d0, d1):
            for k, (s, g) in d.items():
                d[k] = (s // small if s > MiB else s, g)
        out[name] = (d0, d1)
    return out


def move(h, client, bucket, have, want):
    """Turn bucket's content from `have` into `want` (puts, then deletes)."""
    put = [(k, s, g) for k, (s, g) in want.items() if have.get(k) != (s, g)]
    for g in {g for _, _, g in put}:
        h.put_all(client, bucket, [(k, s) for k, s, gg in put if gg == g], gen=g, workers=8)
    gone = [k for k in have if k not in want]
    for i in range(0, len(gone), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in gone[i:i + 1000]],
                                                     "Quiet": True})
    return len(put), len(gone)


def byte_log(h, path):
    """bench/run's request counter, also summing the bytes field of each access log line (the
    body radosgw sent for a GET or LIST, received for a PUT or UploadPart)."""
    class Log(h.RgwLog):
        BYTES = re.compile(r'"(?:GET|PUT|HEAD|POST|DELETE) \S+ HTTP/[\d.]+" \d+ (\d+)')

        def take(self):
            off = self.off
            counts = super().take()
            if self.path:
                with open(self.path, "rb") as f:
                    f.seek(off)
                    data = f.read(self.off - off).decode("utf-8", "replace")
                counts["bytes"] = sum(int(b) for b in self.BYTES.findall(data))
            return counts
    return Log(path)


def tools_of(a, h):
    """The night's tools: s3mirror with each bucket's preset (as an operator runs it), s3mirror
    without, rclone with defaults, rclone tuned."""
    out = {}
    for t in [t for t in a.tools.split(",") if t]:
        if t == "s3mirror":
            out["s3mirror-layout"] = lambda b, c, x, y, bk: h.TOOLS["s3mirror"](b, c, x, y) + ["--layout", LAYOUT[bk]]
        out[t] = lambda b, c, x, y, bk, t=t: h.TOOLS[t](b, c, x, y)
    return out


def check_same(h, src, sb, dst, db, who):
    got, want = h.s3servers.list_all(dst, db), h.s3servers.list_all(src, sb)
    if got != want:
        diff = sorted(set(got) ^ set(want))[:5]
        raise SystemExit("bench night: %s left %s different from %s (keys, sizes, ETags): %s" % (
            who, db, sb, diff))


def one_day(h, t, cmd_of, ctx, day):
    """One tool's sync of the three buckets (one job per bucket, as the seed's cronjobs)."""
    src, dst, conf, pids, logs, bin_, env = ctx
    tot = {"wall": 0.0, "cpu": 0.0, "rss_mib": 0.0, "bytes": 0, "server_cpu": 0.0, "requests": {}}
    for bk in SHAPES:
        sb, db = "night-%s" % bk, "night-%s-%s" % (bk, t)
        rl = [byte_log(h, p) for p in logs]
        c0 = h.proc_cpu(pids)
        m = h.measure(cmd_of(bin_, conf, "sto2:" + sb, "osl1:" + db, bk), env)
        m["server_cpu"] = h.proc_cpu(pids) - c0
        for r in rl:
            counts = r.take()
            tot["bytes"] += counts.pop("bytes", 0)
            for k, v in counts.items():
                tot["requests"][k] = tot["requests"].get(k, 0) + v
        for k in ("wall", "cpu", "server_cpu"):
            tot[k] += m[k]
        tot["rss_mib"] = max(tot["rss_mib"], m["rss_mib"])
        check_same(h, src, sb, dst, db, t)
    print("[bench] night %s %s: %.2fs cpu %.2fs %.1f MiB of bodies srv-cpu %.1fs %s" % (
        day, t, tot["wall"], tot["cpu"], tot["bytes"] / MiB, tot["server_cpu"],
        sorted(tot["requests"].items())), file=sys.stderr)
    return tot


def run(a, h, ctx):
    """The scenario; h is bench/run (its helpers), ctx = (src, dst, conf, pids, logs, bin_, env)."""
    src, dst = ctx[0], ctx[1]
    f = a.night * a.scale
    plan = days(f)
    t0 = time.monotonic()
    state = {}
    for bk, (d0, _) in plan.items():
        src.create_bucket(Bucket="night-" + bk)
        move(h, src, "night-" + bk, {}, d0)
        state[bk] = d0
    nobj = sum(len(d0) for d0, _ in plan.values())
    total = sum(s for d0, _ in plan.values() for s, _ in d0.values())
    delta = {bk: (len([k for k in d1 if d0.get(k) != d1[k]]), len([k for k in d0 if k not in d1]))
             for bk, (d0, d1) in plan.items()}
    print("[bench] night: %d objects, %.1f MiB at day 0 (written in %.0fs); night's change "
          "(put, deleted) per bucket: %s" % (nobj, total / MiB, time.monotonic() - t0, delta),
          file=sys.stderr)
    tools = tools_of(a, h)
    results = {"day0": {t: [] for t in tools}, "day1": {t: [] for t in tools}}
    for rnd_i in range(a.rounds):
        for t, cmd_of in tools.items():
            for bk, (d0, _) in plan.items():  # the source back to day 0
                move(h, src, "night-" + bk, state[bk], d0)
                state[bk] = d0
                dst.create_bucket(Bucket="night-%s-%s" % (bk, t))
            results["day0"][t].append(one_day(h, t, cmd_of, ctx, "day0"))
            for bk, (_, d1) in plan.items():
                move(h, src, "night-" + bk, state[bk], d1)
                state[bk] = d1
            results["day1"][t].append(one_day(h, t, cmd_of, ctx, "day1"))
            for bk in plan:
                h.s3servers.empty_bucket(dst, "night-%s-%s" % (bk, t))
                dst.delete_bucket(Bucket="night-%s-%s" % (bk, t))
    for bk in plan:
        h.s3servers.empty_bucket(src, "night-" + bk)
        src.delete_bucket(Bucket="night-" + bk)
    out = h.summarise("night", nobj, total, results, list(tools), a)
    for sc in results:
        for t in tools:
            out["scenarios"][sc][t]["bytes"] = h.med([m["bytes"] for m in results[sc][t]])
    out["night_change"] = {bk: {"put": p, "deleted": d} for bk, (p, d) in delta.items()}
    print_ratios(out)
    return out


def print_ratios(r):
    """The night's targets: rclone's wall time / s3mirror's (>= 5x) and s3mirror's requests /
    rclone's (<= 1/10), per scenario, against s3mirror with its presets."""
    print("### night: tool / s3mirror-layout (wall, CPU, requests, bytes of the request and response bodies)\n")
    print("| scenario | tool | wall s | CPU s | requests | bytes MiB | wall ratio | CPU ratio | request ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for sc, row in r["scenarios"].items():
        base = row.get("s3mirror-layout")
        for t, v in row.items():
            n = sum(v["requests"].values())
            rat = lambda x, y: "%.2fx" % (x / y) if base and y else "-"
            print("| %s | %s | %.2f | %.2f | %d (%s) | %.1f | %s | %s | %s |" % (
                sc, t, v["wall"], v["cpu"], n, " ".join("%s:%d" % kv for kv in sorted(v["requests"].items())),
                v["bytes"] / MiB, rat(v["wall"], base["wall"] if base else 0),
                rat(v["cpu"], base["cpu"] if base else 0),
                rat(n, sum(base["requests"].values()) if base else 0)))
    print()
