#!/usr/bin/env bash
# demo.sh - the first five minutes: two local S3 sites (sto2 and osl1) with a sample bucket, then
# s3mirror sync --dry-run, the real sync, and check. The sites are Ceph radosgw, the server the
# seed's provider runs (Debian's packages, single-node clusters started by tests/harness/ceph-rgw.sh
# on 127.0.0.1); S3M_DEMO_SERVER=moto uses moto_server instead where it is installed.
# Everything it starts it stops again (by pid), whatever happens.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${S3MIRROR_BIN:-$root/build/s3mirror}
server=${S3M_DEMO_SERVER:-ceph}
py=$("$root/tests/harness/python-boto3") # a python3 that has boto3 (Debian's python3-boto3 will do)
work=$(mktemp -d /tmp/s3mirror-demo.XXXXXX)
pids=() cephs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in "${cephs[@]}"; do FAST=1 "$root/tests/harness/ceph-rgw.sh" stop "$d" || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_moto() { # name port
    command -v moto_server >/dev/null || { echo "S3M_DEMO_SERVER=moto: moto_server is not installed" >&2; exit 1; }
    (cd "$work" && exec moto_server -H 127.0.0.1 -p "$2" >"$work/$1.log" 2>&1) &
    pids+=($!)
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.1; done
    echo "moto_server for $1 did not start (see $work/$1.log)" >&2; exit 1
}
start_ceph() { # name port access-key secret-key: a cluster of its own, started in the background
    cephs+=("$work/ceph-$1")
    RGW_PORT=$2 MON_PORT=$(free_port) S3_ACCESS_KEY=$3 S3_SECRET_KEY=$4 MEMSTORE_GB=1 \
        "$root/tests/harness/ceph-rgw.sh" start "$work/ceph-$1" 2>"$work/ceph-$1.log" &
}
p1=$(free_port); p2=$(free_port)
say "starting two S3 servers ($server): sto2 on 127.0.0.1:$p1, osl1 on 127.0.0.1:$p2"
t0=$SECONDS
if [ "$server" = moto ]; then
    start_moto sto2 "$p1"; start_moto osl1 "$p2"
else
    [ "$server" = ceph ] || { echo "S3M_DEMO_SERVER: ceph or moto, not '$server'" >&2; exit 1; }
    start_ceph sto2 "$p1" demo-sto2 demo-sto2-secret; j1=$!
    start_ceph osl1 "$p2" demo-osl1 demo-osl1-secret; j2=$!
    ok=1; wait $j1 || ok=0; wait $j2 || ok=0
    [ $ok = 1 ] || { tail -5 "$work"/ceph-*.log >&2; echo "Ceph radosgw did not start" >&2; exit 1; }
fi
echo "both servers answer: first start took $((SECONDS - t0)) s"
provider=Other; [ "$server" = ceph ] && provider=Ceph

# The config is plain rclone.conf; the secrets come from the environment, as in the seed's
# runbook, but without envsubst: s3mirror expands ${VAR} itself.
export STO2_ACCESS_KEY_ID=demo-sto2 STO2_SECRET_ACCESS_KEY_ID=demo-sto2-secret
export OSL1_ACCESS_KEY_ID=demo-osl1 OSL1_SECRET_ACCESS_KEY_ID=demo-osl1-secret
cat >"$work/rclone.conf" <<CONF
[sto2]
type = s3
provider = $provider
access_key_id = \${STO2_ACCESS_KEY_ID}
secret_access_key = \${STO2_SECRET_ACCESS_KEY_ID}
endpoint = http://127.0.0.1:$p1

[osl1]
type = s3
provider = $provider
access_key_id = \${OSL1_ACCESS_KEY_ID}
secret_access_key = \${OSL1_SECRET_ACCESS_KEY_ID}
endpoint = http://127.0.0.1:$p2
CONF
say "the config ($work/rclone.conf)"
cat "$work/rclone.conf"

say "sample data: bucket velero-backups on sto2 (200 objects, one 12 MiB multipart), a stale copy on osl1"
"$py" - "$p1" "$p2" <<'PY'
import sys, boto3, hashlib
from botocore.config import Config
from concurrent.futures import ThreadPoolExecutor
mk = lambda p, site: boto3.client("s3", endpoint_url="http://127.0.0.1:%s" % p, region_name="us-east-1",
                                  aws_access_key_id="demo-" + site, aws_secret_access_key="demo-%s-secret" % site,
                                  config=Config(s3={"addressing_style": "path"}))
src, dst = mk(sys.argv[1], "sto2"), mk(sys.argv[2], "osl1")
src.create_bucket(Bucket="velero-backups"); dst.create_bucket(Bucket="velero-backups")
def put(i):
    key = "backups/daily-%03d/manifest.json" % i
    src.put_object(Bucket="velero-backups", Key=key, Body=hashlib.sha256(key.encode()).hexdigest().encode() * (i + 1),
                   ContentType="application/json")
with ThreadPoolExecutor(16) as ex: list(ex.map(put, range(199)))
mp = src.create_multipart_upload(Bucket="velero-backups", Key="restic/pack-0001")
parts = [{"PartNumber": n, "ETag": src.upload_part(Bucket="velero-backups", Key="restic/pack-0001", UploadId=mp["UploadId"],
          PartNumber=n, Body=bytes([n]) * (5 << 20 if n < 3 else 2 << 20))["ETag"]} for n in (1, 2, 3)]
src.complete_multipart_upload(Bucket="velero-backups", Key="restic/pack-0001", UploadId=mp["UploadId"], MultipartUpload={"Parts": parts})
dst.put_object(Bucket="velero-backups", Key="backups/daily-000/manifest.json", Body=b"an old version")
dst.put_object(Bucket="velero-backups", Key="backups/deleted-at-source.json", Body=b"gone on sto2")
PY

s3m() { echo "\$ s3mirror $*"; "$bin" --config "$work/rclone.conf" "$@"; }
say "1. preview: --dry-run changes nothing (note the update and the delete at the end)"
s3m sync sto2:velero-backups osl1:velero-backups --dry-run | sed -e '4,196d' -e '3a\  ... (193 more copy lines)'
say "2. the real sync"
s3m sync sto2:velero-backups osl1:velero-backups
say "3. check: the two sides are identical, the multipart ETag included"
rc=0; s3m check sto2:velero-backups osl1:velero-backups || rc=$?
echo "(check exit code: $rc; 0 = identical, 10 = differences)"
s3m ls osl1:velero-backups/restic/
say "4. a second run has nothing to do"
s3m sync sto2:velero-backups osl1:velero-backups
say "done: see 'man -l man/s3mirror.1' and docs/ for running it every night"
