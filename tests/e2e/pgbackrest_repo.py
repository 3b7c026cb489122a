"""pgBackRest (Debian's package) and a PostgreSQL cluster of its own, against the test sites: build
the two states of test_pgbackrest.py in a repository on the source (A: full, diff, full;
B: full, `expire --repo1-retention-full=2`, incr, with WAL archived by archive_command
throughout) and judge a destination by pgBackRest's own reading of it (info, verify, and a
restore of the latest backup that a PostgreSQL started on it must recover to the rows it held).

pgBackRest 2.45 speaks only HTTPS to S3: its repositories are reached through tlsfront (nginx). PostgreSQL refuses to run as root: the cluster, and every
pgbackrest command (which must read its data directory), run as the user `postgres` (made by
Debian's postgresql-common) when the test runs as root, else as the test's own user."""
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile

STANZA = "main"
REPO_PATH = "/repo"  # below the bucket's root: the preset's rules match at any depth
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                 key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)


def missing():
    """Why this machine cannot run the test, or None."""
    if not shutil.which("pgbackrest"):
        return "pgbackrest is not installed (Debian package pgbackrest)"
    if not PG_BINS:
        return "PostgreSQL is not installed (Debian package postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no user postgres to run PostgreSQL as"
    return None


class Cluster:
    """A PostgreSQL cluster in a temporary directory of its own (unix socket there, no TCP),
    archiving its WAL with `pgbackrest archive-push` into the source repository."""

    def __init__(self):
        self.bin = os.path.dirname(PG_BINS[-1])
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.dir = tempfile.mkdtemp(prefix="s3m-pgbr-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.running = []  # data directories of the servers we started
        self.restores = 0

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, cmd, timeout=300, check=True):
        """cmd as the cluster's user, in its directory; CompletedProcess (text)."""
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        p = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd[-4:]), p.returncode,
                                                        p.stdout[-1500:], p.stderr[-1500:]))
        return p

    def mkdir(self, name):
        """A directory of the cluster's user, mode 0700 (as a data directory must be)."""
        d = self.path(name)
        self.run(["mkdir", "-m", "700", d])
        return d

    def initdb(self, archive_conf):
        """initdb (1 MiB WAL segments: a small archive) and start, archiving with the
        pgbackrest config archive_conf."""
        self.run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "-A",
                  "trust", "--wal-segsize=1", "--no-sync", "-E", "UTF8", "--locale=C"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\n"
                    "archive_mode = on\narchive_command = 'pgbackrest --config=%s --stanza=%s "
                    "archive-push %%p'\nfsync = off\nshared_buffers = 16MB\nmax_connections = 10\n"
                    "max_wal_senders = 0\nautovacuum = off\n" % (self.dir, archive_conf, STANZA))
        self.start(self.data)
        # one database, template1, holds the test's table: without template0 and postgres the
        # cluster has a third of its files (~380), and verify and restore read each one
        self.sql("ALTER DATABASE template0 IS_TEMPLATE false")
        self.sql("DROP DATABASE template0")
        self.sql("DROP DATABASE postgres")

    def start(self, data):
        """Start the server on data (the socket in our directory, port 5432 of it: one server
        at a time); raises with the server's log when it does not come up."""
        log = data + ".log"
        p = self.run([os.path.join(self.bin, "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "90",
                      "-o", "-c port=5432 -c unix_socket_directories=%s" % self.dir, "start"],
                     check=False, timeout=120)
        self.running.append(data)
        if p.returncode != 0:
            with open(log, errors="replace") as f:
                raise AssertionError("postgres did not start on %s: %s" % (
                    os.path.basename(data), " | ".join(f.read().splitlines()[-4:])[:600]))

    def stop(self, data, fast=True):
        """Stop the server on data: fast (WAL archived up to the last finished segment) or
        immediate (a restored copy we only read)."""
        self.run([os.path.join(self.bin, "pg_ctl"), "-D", data, "-w", "-t", "60", "-m",
                  "fast" if fast else "immediate", "stop"], check=False, timeout=90)
        if data in self.running:
            self.running.remove(data)

    def sql(self, query):
        return self.run([os.path.join(self.bin, "psql"), "-h", self.dir, "-p", "5432", "-U",
                         "postgres", "-qAt", "-d", "template1", "-c", query]).stdout.strip()

    def cleanup(self):
        for data in list(self.running):
            self.stop(data, fast=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Pgbr:
    """pgbackrest with a config file naming one repository: bucket on site, reached by https
    through front (a tlsfront.Front)."""

    def __init__(self, cluster, name, site, front, bucket):
        self.c, self.bucket = cluster, bucket
        self.conf = cluster.path(name + ".conf")
        for sub in ("log-" + name, "lock-" + name, "spool-" + name):
            if not os.path.isdir(cluster.path(sub)):
                cluster.mkdir(sub)
        opts = [
            ("repo1-type", "s3"), ("repo1-path", REPO_PATH), ("repo1-s3-bucket", bucket),
            ("repo1-s3-endpoint", "127.0.0.1"), ("repo1-storage-port", str(front.port)),
            ("repo1-s3-region", "us-east-1"), ("repo1-s3-key", site.access_key),
            ("repo1-s3-key-secret", site.secret_key), ("repo1-s3-uri-style", "path"),
            # 2.45 matches the host only against DNS names in the certificate, and the
            # front's names 127.0.0.1 by address (localhost may resolve to ::1, where it does
            # not listen): TLS without verification, as the front is ours on the loopback
            ("repo1-storage-verify-tls", "n"),
            # bundles: a few objects per backup instead of one per file of the cluster (~970)
            ("repo1-bundle", "y"), ("repo1-retention-full", "9"), ("compress-type", "lz4"),
            ("start-fast", "y"), ("process-max", "2"), ("log-level-console", "warn"),
            ("log-level-stderr", "warn"), ("log-level-file", "off"),
            ("log-path", cluster.path("log-" + name)), ("lock-path", cluster.path("lock-" + name)),
            ("spool-path", cluster.path("spool-" + name)), ("archive-timeout", "60"),
            ("io-timeout", "30")]
        with open(self.conf, "w") as f:
            f.write("[global]\n%s\n\n[%s]\npg1-path=%s\npg1-socket-path=%s\npg1-port=5432\n"
                    "pg1-user=postgres\npg1-database=template1\n" % ("\n".join("%s=%s" % o for o in opts), STANZA,
                                             cluster.data, cluster.dir))
        os.chmod(self.conf, 0o644)

    def cmd(self, *args):
        return ["pgbackrest", "--config=" + self.conf, "--stanza=" + STANZA] + list(args)

    def run(self, *args, timeout=300, check=True):
        return self.c.run(self.cmd(*args), timeout=timeout, check=check)

    def labels(self):
        """The backup labels `pgbackrest info` lists, oldest first."""
        info = json.loads(self.run("info", "--output=json").stdout)
        return [b["label"] for b in info[0]["backup"]]


def backup(cluster, pgbr, kind, rows, generation):
    """New rows (generation), then a backup of kind; rows[label] = the table's row count."""
    cluster.sql("CREATE TABLE IF NOT EXISTS t (g int, x text); INSERT INTO t SELECT %d, "
                "md5(i::text) FROM generate_series(1, 2000) i" % generation)
    count = int(cluster.sql("SELECT count(*) FROM t"))
    pgbr.run("backup", "--type=" + kind)
    rows[pgbr.labels()[-1]] = count


def build_state_a(cluster, pgbr, rows):
    """stanza-create, full, diff, full; the server stopped (no WAL pushed after)."""
    cluster.initdb(pgbr.conf)
    pgbr.run("stanza-create")
    for gen, kind in enumerate(("full", "diff", "full"), 1):
        backup(cluster, pgbr, kind, rows, gen)
    cluster.stop(cluster.data)


def build_state_b(cluster, pgbr, rows):
    """full, expire keeping two fulls (the first full and its diff go, with the WAL before the
    second full), incr; the server stopped."""
    cluster.start(cluster.data)
    backup(cluster, pgbr, "full", rows, 4)
    pgbr.run("expire", "--repo1-retention-full=2")
    backup(cluster, pgbr, "incr", rows, 5)
    cluster.stop(cluster.data)


VERIFY_OK = re.compile(r"^status: ok$", re.M)
VERIFY_FINE = re.compile(r"status: valid|missing: 0, checksum invalid: 0, size invalid: 0, "
                         r"other: 0|total WAL checked: (\d+), total valid WAL: \1$")


def verify(pgbr, timeout=300):
    """`pgbackrest verify`: None when it says status ok, else its complaint. 2.45 exits 0 even
    when it finds missing or damaged files (the result is only in its report)."""
    p = pgbr.run("verify", "--output=text", "--verbose", timeout=timeout, check=False)
    if p.returncode == 0 and VERIFY_OK.search(p.stdout):
        return None
    text = " | ".join(x.strip() for x in (p.stdout + p.stderr).splitlines()
                      if x.strip() and not VERIFY_FINE.search(x))  # only what is wrong
    return "pgbackrest verify: exit %d: %s" % (p.returncode, text[:600])


def restore(cluster, pgbr, label, rows, timeout=300):
    """Restore backup label into a fresh directory, start PostgreSQL on it (recovery to the
    backup's consistent point, its WAL fetched by archive-get from pgbr's repository) and
    count the rows: None when there are rows[label], else the reason."""
    cluster.restores += 1
    d = cluster.mkdir("restore-%d" % cluster.restores)
    try:
        p = pgbr.run("restore", "--pg1-path=" + d, "--set=" + label, "--type=immediate",
                     "--target-action=promote", "--archive-mode=off", timeout=timeout,
                     check=False)
        if p.returncode != 0:
            return "pgbackrest restore --set=%s: exit %d: %s" % (label, p.returncode,
                                                                 p.stderr.strip()[-300:])
        try:
            cluster.start(d)
            n = int(cluster.sql("SELECT count(*) FROM t"))
        except AssertionError as e:
            return "restore of %s: %s" % (label, str(e)[:400])
        if n != rows[label]:
            return "restore of %s: %d rows, the backup had %d" % (label, n, rows[label])
        return None
    finally:
        cluster.stop(d, fast=False)
        cluster.run(["rm", "-rf", d], check=False)


def parse_ini(data):
    """pgBackRest's info and manifest files: INI sections of key=JSON value."""
    out, cur = {}, None
    for line in data.decode().splitlines():
        if line.startswith("[") and line.endswith("]"):
            cur = out.setdefault(line[1:-1], {})
        elif "=" in line and cur is not None:
            k, v = line.split("=", 1)
            cur[k] = json.loads(v)
    return out


def next_wal(name):
    """The WAL segment after name (1 MiB segments: 4096 per log file)."""
    tli, log, seg = int(name[:8], 16), int(name[8:16], 16), int(name[16:], 16) + 1
    if seg == 0x1000:
        log, seg = log + 1, 0
    return "%08X%08X%08X" % (tli, log, seg)


def pointers(client, bucket, labels):
    """The real manifests' pointers on the destination (boto3; cheap, so at every stop): for
    each backup listed, its backup.manifest (or .copy), every non-empty file it names in the
    backup that stores it (bundle/<bni> holding bno + repo-size bytes, or pg_data/<path><ext>),
    and the WAL from its archive start to stop. None, or the first one missing."""
    from s3servers import list_all
    keys = {k: size for k, size, _e in list_all(client, bucket)}
    root = REPO_PATH[1:] + "/"
    base = root + "backup/%s/" % STANZA
    wal = {k.rsplit("/", 1)[1][:24] for k in keys if k.startswith(root + "archive/")}
    for label in labels:
        man = base + label + "/backup.manifest"
        if man not in keys:
            man += ".copy"
        if man not in keys:
            return "%s: no backup.manifest" % label
        m = parse_ini(client.get_object(Bucket=bucket, Key=man)["Body"].read())
        ext = {"none": ""}.get(m["backup:option"].get("option-compress-type", "gz"), "." + (
            m["backup:option"].get("option-compress-type") or "gz"))
        for path, f in m["target:file"].items():
            store = base + f.get("reference", label) + "/"
            if "bni" in f:
                key, need = store + "bundle/%d" % f["bni"], f.get("bno", 0) + f["repo-size"]
            elif f["size"]:
                key, need = store + path + ext, f["repo-size"]
            else:
                continue  # empty files are only in the manifest
            if keys.get(key, -1) < need:
                return "%s: %s needs %s (%d bytes)" % (label, path, key, need)
        seg, stop = m["backup"]["backup-archive-start"], m["backup"]["backup-archive-stop"]
        while True:
            if seg not in wal:
                return "%s: WAL %s not in the archive" % (label, seg)
            if seg == stop:
                break
            seg = next_wal(seg)
    return None


def judge(cluster, pgbr, client, old, new, rows, full=True, timeout=300):
    """pgBackRest's verdict on a repository stopped between state A (backup labels `old`) and
    B (`new`), in bucket pgbr.bucket of client: None when `info` works and lists a consistent
    set of backups, `info --set` reads the latest one's manifest and every file and WAL segment
    the backups listed need is there (pointers); with full, also `verify` finds them intact and
    the latest backup restores to the rows it was taken with; else the reason. Consistent:
    every backup listed is one of A or B, and those in both are all there (a sync never removes
    what both states hold)."""
    p = pgbr.run("info", "--output=json", timeout=timeout, check=False)
    if p.returncode != 0:
        return "pgbackrest info: exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])
    try:
        stanza = json.loads(p.stdout)[0]
        labels = [b["label"] for b in stanza["backup"]]
    except (ValueError, LookupError) as e:
        return "pgbackrest info: unreadable output (%s): %s" % (e, p.stdout[:300])
    if stanza.get("status", {}).get("code") != 0:
        return "pgbackrest info: status %s" % stanza.get("status")
    if not set(labels) <= old | new:
        return "backups neither in A nor in B: %s" % sorted(set(labels) - old - new)
    if not (old & new) <= set(labels):
        return "backups of A and B missing: %s" % sorted((old & new) - set(labels))
    p = pgbr.run("info", "--set=" + labels[-1], timeout=timeout, check=False)
    if p.returncode != 0:
        return "pgbackrest info --set=%s: exit %d: %s" % (labels[-1], p.returncode,
                                                           p.stderr.strip()[-300:])
    why = pointers(client, pgbr.bucket, labels)
    why = why and "missing: " + why
    if not full:
        return why
    # all three, so that a broken stop says whether pgBackRest itself saw it too
    why = [why, verify(pgbr, timeout), restore(cluster, pgbr, labels[-1], rows, timeout)]
    return "; ".join(w for w in why if w) or None
