#!/usr/bin/env bash
# ceph-rgw.sh start|stop DIR - a single-node Ceph cluster (one mon, one memstore osd, radosgw)
# on 127.0.0.1 for s3mirror's tests: the server the seed's provider runs, which checks SigV4.
#
#   start DIR   installs Debian's ceph packages if missing, creates the cluster (or restarts a
#               stopped one), waits until S3 answers a signed request; writes DIR/s3.env
#   stop DIR    (FAST=1: SIGKILL, for throw-away data) stops the daemons whose pids are in DIR/run/*.pid and whose command line names
#               DIR/ceph.conf (never by process name)
# Environment for start: RGW_PORT MON_PORT (free ports; required), S3_ACCESS_KEY S3_SECRET_KEY.
# Facts this relies on (Ceph 16 Pacific on Debian 12): auth "none" needs ms_mon_client_mode=crc
# for radosgw; beast needs tcp_nodelay=1 or GETs on kept-alive connections stall 40 ms; a
# memstore osd keeps objects in RAM, so rgw's garbage collection is shortened; a lifecycle
# "day" lasts LC_DAY seconds (rgw lc debug interval, default 4).
set -euo pipefail
cmd=${1:?usage: ceph-rgw.sh start|stop DIR}
DIR=${2:?usage: ceph-rgw.sh start|stop DIR}
case "$DIR" in /*) ;; *) DIR=$PWD/$DIR ;; esac
CONF=$DIR/ceph.conf
log() { printf '[ceph-rgw %s] %s\n' "$(basename "$DIR")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ours() { # pid of daemon NAME if alive and started with our conf
    local f=$DIR/run/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-c $CONF " || return 1
    echo "$pid"
}

stop() {
    local n pid
    for n in client.rgw.s3m osd.0 mon.a; do
        pid=$(ours "$n") || continue
        # FAST=1: the data dir is thrown away, so no clean memstore flush is needed
        if [ "${FAST:-0}" = 1 ]; then kill -KILL "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        rm -f "$DIR/run/$n.pid"
    done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || die "unknown command $cmd"
: "${RGW_PORT:?RGW_PORT must be set}" "${MON_PORT:?MON_PORT must be set}"
AK=${S3_ACCESS_KEY:-S3MIRRORCEPHTEST0001}
SK=${S3_SECRET_KEY:-s3mirrorCephTestSecretKey0123456789abcdef}

need=0
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl; do
    command -v "$b" >/dev/null 2>&1 || need=1
done
if [ $need = 1 ]; then
    log "installing Debian ceph packages"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime >/dev/null
fi

ceph_() { timeout 30 ceph -c "$CONF" --connect-timeout 15 "$@"; }
STARTED=()
daemon() { # name binary args...
    local name=$1 bin=$2; shift 2
    if ours "$name" >/dev/null; then return 0; fi
    setsid "$bin" -c "$CONF" -f "$@" </dev/null >>"$DIR/log/$name.stdout" 2>&1 &
    echo $! >"$DIR/run/$name.pid"
    STARTED+=("$name")
}
wait_for() { # what seconds command...
    local what=$1 t=$2 n; shift 2
    local end=$((SECONDS + t))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || die "timed out waiting for $what (logs in $DIR/log)"
        for n in "${STARTED[@]}"; do ours "$n" >/dev/null || die "$n died waiting for $what; see $DIR/log"; done
        sleep 0.3
    done
}
s3_up() {
    curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "http://127.0.0.1:$RGW_PORT/"
}

mkdir -p "$DIR"
if [ ! -e "$DIR/.created" ]; then
    rm -rf "${DIR:?}"/{run,log,mon,osd} "$CONF"
    mkdir -p "$DIR"/{run,log,mon,osd/ceph-0}
    FSID=$(uuidgen)
    cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/keyring
run dir = $DIR/run
log file = $DIR/log/\$name.log
log to stderr = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.1
# lifecycle: a "day" lasts LC_DAY seconds, for radosgw and radosgw-admin lc process (the
# quarantine expiry test); only buckets with a lifecycle rule are affected
rgw lc debug interval = ${LC_DAY:-4}
[mon]
mon data = $DIR/mon/\$cluster-\$id
admin socket = $DIR/run/\$name.asok
[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $((${MEMSTORE_GB:-4} * 1024 * 1024 * 1024))
osd fast shutdown = false
admin socket = $DIR/run/\$name.asok
[client.rgw.s3m]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw gc obj min wait = 30
rgw gc processor period = 30
ms mon client mode = crc
admin socket = $DIR/run/\$name.asok
CONF
    touch "$DIR/keyring"
    monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/mkfs.log" 2>&1 || die "mon mkfs failed"
    daemon mon.a ceph-mon -i a
    wait_for monitor 60 ceph_ mon stat
    OSD_UUID=$(uuidgen)
    [ "$(ceph_ osd new "$OSD_UUID")" = 0 ] || die "unexpected osd id"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/mkfs.log" 2>&1 || die "osd mkfs failed"
    daemon osd.0 ceph-osd -i 0
    wait_for osd 90 sh -c "timeout 30 ceph -c '$CONF' --connect-timeout 15 osd stat | grep -q ' 1 up'"
    timeout 120 radosgw-admin -c "$CONF" user create --uid=s3m --display-name=s3mirror-tests \
        --access-key="$AK" --secret-key="$SK" >"$DIR/log/user.json" 2>>"$DIR/log/radosgw-admin.log" \
        || die "radosgw-admin user create failed"
    printf 'RGW_PORT=%s\nMON_PORT=%s\nAK=%s\nSK=%s\n' "$RGW_PORT" "$MON_PORT" "$AK" "$SK" >"$DIR/settings"
    touch "$DIR/.created"
else
    # shellcheck source=/dev/null
    . "$DIR/settings"
    daemon mon.a ceph-mon -i a
    wait_for monitor 60 ceph_ mon stat
    daemon osd.0 ceph-osd -i 0
    wait_for osd 90 sh -c "timeout 30 ceph -c '$CONF' --connect-timeout 15 osd stat | grep -q ' 1 up'"
fi
daemon client.rgw.s3m radosgw -n client.rgw.s3m
wait_for "S3 on port $RGW_PORT" 180 s3_up
printf 'S3_ENDPOINT=http://127.0.0.1:%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\n' "$RGW_PORT" "$AK" "$SK" >"$DIR/s3.env"
log "S3 answers on 127.0.0.1:$RGW_PORT"
