"""restic (Debian's package) against one of the test sites: run it on a repository at the root of
a bucket, build the two states of test_restic.py (A: six snapshots; B: three more and a
`forget --keep-last 5 --prune`), and judge a destination by restic's own reading of it."""
import json
import os
import random
import re
import shutil
import subprocess
import threading

MiB = 1024 * 1024
PASSWORD = "s3mirror-restic-test"
GENERATIONS_A, GENERATIONS_B, KEEP_LAST = 6, 3, 5


class Restic:
    """restic on s3:ENDPOINT/BUCKET with the site's keys; no cache and no lock (a check must not
    write to the destination it judges, and a cache could hide a missing file)."""

    def __init__(self, site, bucket, tmp):
        self.repo = "s3:%s/%s" % (site.endpoint, bucket)
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=site.access_key,
                        AWS_SECRET_ACCESS_KEY=site.secret_key, AWS_DEFAULT_REGION="us-east-1",
                        RESTIC_PASSWORD=PASSWORD, RESTIC_PACK_SIZE="4",  # the smallest: many packs
                        RESTIC_COMPRESSION="off", HOME=tmp, TMPDIR=tmp)

    def start(self, *args, lock=False):
        cmd = ["restic", "-r", self.repo, "--no-cache", "-q"] + ([] if lock else ["--no-lock"])
        return subprocess.Popen(cmd + list(args), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args, lock=False, timeout=300):
        p = self.start(*args, lock=lock)
        out, err = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("restic %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                             err[-2000:]))
        return out

    def snapshot_ids(self):
        return {s["id"] for s in json.loads(self.run("snapshots", "--json") or "[]")}


def generation(work, i):
    """Backup tree for generation i: files of generations i-2..i (older ones removed), random
    bytes (restic cannot compress or deduplicate them), about 1.6 MiB new per generation: one
    data pack, one tree pack, one index file and one snapshot per backup."""
    rng = random.Random("restic-gen-%d" % i)
    d = os.path.join(work, "g%02d" % i)
    os.makedirs(d)
    for j in range(4):
        with open(os.path.join(d, "f%d.bin" % j), "wb") as f:
            f.write(rng.randbytes(rng.randint(MiB // 5, 3 * MiB // 5)))
    shutil.rmtree(os.path.join(work, "g%02d" % (i - 3)), ignore_errors=True)


def build_state_a(restic, work):
    """init and GENERATIONS_A snapshots."""
    restic.run("init", "--repository-version", "2", lock=True)
    for i in range(GENERATIONS_A):
        generation(work, i)
        restic.run("backup", "--host", "sto2", work, lock=True)


def build_state_b(restic, work):
    """GENERATIONS_B more snapshots, then forget all but the last KEEP_LAST and prune: new packs,
    a rewritten index (every old index file deleted), packs and snapshots deleted."""
    for i in range(GENERATIONS_A, GENERATIONS_A + GENERATIONS_B):
        generation(work, i)
        restic.run("backup", "--host", "sto2", work, lock=True)
    restic.run("forget", "--keep-last", str(KEEP_LAST), "--prune", lock=True)


# Lines `restic check` prints only for an error it will fail on (cmd_check.go: a pack the index
# names is not in the bucket; a tree or blob a snapshot needs cannot be found).
DEFINITE = re.compile(r"^(pack [0-9a-f]+: does not exist|error for tree )")


def check(restic, read_data=False, timeout=300):
    """`restic check`: None when it passes, else its first error lines. restic 0.14 retries a
    load of a missing file for many seconds before it reports it, so the check is stopped at the
    first line it prints only for an error that fails it (DEFINITE): same verdict, sooner."""
    p = subprocess.Popen(["restic", "-r", restic.repo, "--no-cache", "-q", "--no-lock", "check"] +
                         (["--read-data"] if read_data else []), env=restic.env, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    lines, definite = [], False
    try:
        for line in p.stderr:
            if line.strip():
                lines.append(line.strip())
            if DEFINITE.match(line):
                if line.startswith("error for tree"):  # the next line says what is missing
                    lines.append(p.stderr.readline().strip())
                definite = True
                p.kill()
                break
        rc = p.wait()
    finally:
        timer.cancel()
        p.stderr.close()
    if rc == 0 and not definite:
        return None
    return "restic check: %s: %s" % ("failed" if definite else "exit %d" % rc,
                                     " | ".join(lines[:3])[:300])


def judge(restic, old, new, read_data=False, timeout=300):
    """restic's verdict on a repository stopped between state A (snapshot ids `old`) and B
    (`new`): None when `restic check` passes, `restic snapshots` works and the snapshots are a
    consistent set, else the reason. Consistent: every snapshot listed is one of A or B, and
    those in both are all there (a sync never removes what both states hold); that each one
    listed can be restored is what `restic check` verifies (its trees load, every blob it needs
    is indexed, every indexed pack exists; with read_data, every pack's bytes)."""
    snaps = restic.start("snapshots", "--json")  # side by side with the check
    why = check(restic, read_data, timeout)
    s_out, s_err = snaps.communicate(timeout=timeout)
    if why:
        return why
    if snaps.returncode != 0:
        return "restic snapshots: exit %d: %s" % (snaps.returncode, s_err.strip()[:300])
    ids = {s["id"] for s in json.loads(s_out or "[]")}
    if not ids <= old | new:
        return "snapshots neither in A nor in B: %s" % sorted(ids - old - new)
    if not (old & new) <= ids:
        return "snapshots of A and B missing: %s" % sorted((old & new) - ids)
    return None
