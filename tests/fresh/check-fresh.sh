#!/usr/bin/env bash
# check-fresh.sh - the README's promise, tested: on a fresh Debian 12 root (debootstrap
# --variant=minbase, the mirror of this host's apt sources), after `apt-get install make` and a
# clone of the current commit, `make demo` works on the first try and a shortened
# `make deps check` passes. Prints the time of each step.
#
#   tests/fresh/check-fresh.sh          (make check-fresh; root: debootstrap, chroot, mount)
#
# The minbase root is cached in build/fresh/base and rebuilt when older than a week; each run
# works on a copy (build/fresh/root), removed again when the run passed. Downloaded .debs are kept
# in build/fresh/debs and reused by the next run (a clean clone, as in CI, has none).
# Environment: FRESH_CLEAN=1 ignores both caches; FRESH_MIRROR=URI overrides the mirror;
# FRESH_E2E="-k PATTERN ..." the e2e tests of the shortened check, FRESH_MODEL its model cases.
#
# The chroot gets /proc, /sys (read-only), and /dev (a tmpfs with the usual nodes and a devpts of
# its own). They are the only mounts this script makes, it runs in a mount namespace of its own,
# and it unmounts exactly them on every exit path. After each step every process still running
# in the chroot is listed, stopped by pid, and fails the step (the servers must stop themselves).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
suite=bookworm
dir=${FRESH_DIR:-$src/build/fresh}
e2e_short=${FRESH_E2E:--k test_first_sync -k test_dry_run -k test_counts -k test_sizes_and_multipart}
model_short=${FRESH_MODEL:-CASES=2 RCLONE=1}
exec 3>&2 # the terminal, also from inside a step whose output goes to its log
log() { printf '[check-fresh] %s\n' "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
# A mount namespace of our own: whatever happens to this script, no mount outlives it.
if [ -z "${S3M_FRESH_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
    exec env S3M_FRESH_NS=1 unshare --mount --propagation private "$0" "$@"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
base=$dir/base R=$dir/root logs=$dir/logs debs=$dir/debs
rm -rf "$logs"; mkdir -p "$logs"

# --- steps and their times ---------------------------------------------------------------------
report=()
t_start=$SECONDS
step_pid= last_log=
step() { # NAME COMMAND...: run in a subshell (set -e holds there), log to $logs, record the time
    local name=$1 t0=$SECONDS rc=0 f
    shift
    f=$logs/$(tr -c 'a-z0-9\n' - <<<"${name,,}" | cut -c1-40).log
    last_log=$f
    log "$name (log: $f)"
    ("$@") >"$f" 2>&1 </dev/null &
    step_pid=$!
    wait $step_pid || rc=$?
    step_pid=
    report+=("$(printf '  %-46s %5ds  %s' "$name" $((SECONDS - t0)) "$([ $rc = 0 ] && echo ok || echo FAILED)")")
    if [ $rc != 0 ]; then tail -40 "$f" >&3; die "$name failed (exit $rc), see $f"; fi
}

# --- mounts: only ours, unmounted on every exit ------------------------------------------------
mounts=()
mnt() { # TYPE SOURCE TARGET OPTIONS
    mount -t "$1" -o "$4" "$2" "$3"
    mounts+=("$3")
}
mounted_under() { # mount points at or below DIR (this namespace)
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}
setup_mounts() {
    mnt proc s3m-fresh-proc "$R/proc" nosuid,nodev,noexec
    mnt sysfs s3m-fresh-sys "$R/sys" ro,nosuid,nodev,noexec
    mnt tmpfs s3m-fresh-dev "$R/dev" mode=755,nosuid
    local n
    for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
        set -- $n
        mknod -m 666 "$R/dev/$1" c "$2" "$3"
    done
    mkdir -m 755 "$R/dev/pts"
    mkdir -m 1777 "$R/dev/shm"
    ln -s /proc/self/fd "$R/dev/fd"
    ln -s /proc/self/fd/0 "$R/dev/stdin"
    ln -s /proc/self/fd/1 "$R/dev/stdout"
    ln -s /proc/self/fd/2 "$R/dev/stderr"
    ln -s pts/ptmx "$R/dev/ptmx"
    mnt devpts s3m-fresh-pts "$R/dev/pts" newinstance,ptmxmode=0666,mode=0620,gid=5
}
chroot_pids() { # processes whose root is our chroot
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && echo "${p#/proc/}"
    done
    return 0
}
stop_leftovers() { # stop (by pid) what still runs in the chroot; false when there was any
    local pids p
    pids=$(chroot_pids)
    [ -n "$pids" ] || return 0
    log "processes left running in the chroot:"
    for p in $pids; do log "  $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 1 50); do [ -n "$(chroot_pids)" ] || break; sleep 0.1; done
    for p in $(chroot_pids); do kill -KILL "$p" 2>/dev/null || true; done
    for _ in $(seq 1 50); do [ -n "$(chroot_pids)" ] || break; sleep 0.1; done
    return 1
}
tree_pids() { # PID and its descendants
    local p
    echo "$1"
    for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$p"; done
}
teardown() {
    local rc=$? i left
    trap - EXIT INT TERM HUP
    # an interrupted step: its processes (by pid), then whatever still runs in the chroot
    [ -z "$step_pid" ] || kill -TERM $(tree_pids "$step_pid") 2>/dev/null || true
    [ -d "$R" ] && { stop_leftovers || rc=1; }
    [ -z "$step_pid" ] || wait "$step_pid" 2>/dev/null || true
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || { log "cannot unmount ${mounts[i]}"; rc=1; }
    done
    mounts=()
    left=$(mounted_under "$R")
    [ -z "$left" ] || { log "still mounted: $left"; rc=1; }
    if [ -d "$R/var/cache/apt/archives" ] && [ "${FRESH_CLEAN:-0}" != 1 ]; then
        mkdir -p "$debs"
        cp -u "$R"/var/cache/apt/archives/*.deb "$debs"/ 2>/dev/null || true
    fi
    if [ $rc = 0 ] && [ -z "$left" ]; then
        rm -rf --one-file-system "$R"
    elif [ -d "$R" ]; then
        log "kept $R for a look (logs in $logs)"
    fi
    log "step times:"
    printf '%s\n' "${report[@]}" >&3
    log "$([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t_start)) s"
    exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
safe_rm() { # DIR: remove, unless something is mounted below it
    [ -z "$(mounted_under "$1")" ] || die "something is mounted under $1; not removing it"
    rm -rf --one-file-system "$1"
}

# --- the host's Debian mirror (read from its apt sources, never written down here) --------------
host_sources() { # "URI SUITE" of every enabled deb source of this host
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2, $3 }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
        { t = u = s = ""; en = "yes"
          for (i = 1; i <= NF; i++) {
              if ($i ~ /^#/ || $i !~ /:/) continue
              k = tolower(substr($i, 1, index($i, ":") - 1)); v = substr($i, index($i, ":") + 1)
              gsub(/^[ \t]+|[ \t]+$/, "", v)
              if (k == "types") t = v; else if (k == "uris") u = v
              else if (k == "suites") s = v; else if (k == "enabled") en = v }
          if (t ~ /(^| )deb( |$)/ && en != "no") {
              n = split(u, U, " "); m = split(s, S, " ")
              for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print U[a], S[b] } }' "$f"
    done
}
sources=$(host_sources | awk -v s="$suite" '$2 == s || index($2, s "-") == 1' | sort -u)
mirror=${FRESH_MIRROR:-$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$sources")}
[ -n "$mirror" ] || die "no '$suite' source in /etc/apt/sources.list(.d); set FRESH_MIRROR=URI"
[ -n "$sources" ] || sources="$mirror $suite"

commit=$(git -C "$src" rev-parse HEAD)
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
    log "note: uncommitted changes are not tested (the clone is of commit ${commit:0:12})"

# --- 1. the minbase root (cached for a week) ---------------------------------------------------
make_base() {
    command -v debootstrap >/dev/null || {
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; }
    safe_rm "$base.new"
    debootstrap --variant=minbase "$suite" "$base.new" "$mirror"
    touch "$base.new/.s3m-fresh-base"
    safe_rm "$base"
    mv "$base.new" "$base"
}
if [ "${FRESH_CLEAN:-0}" = 1 ] || [ ! -f "$base/.s3m-fresh-base" ] ||
   [ -n "$(find "$base/.s3m-fresh-base" -mmin +$((7 * 24 * 60)))" ]; then
    step "debootstrap --variant=minbase $suite" make_base
else
    report+=("$(printf '  %-46s %5s   %s' "debootstrap (cached root)" - "made $(date -r "$base/.s3m-fresh-base" +%F)")")
fi

# --- 2. a copy of it, the clone, the mounts --------------------------------------------------
prepare_root() {
    safe_rm "$R"
    cp -a "$base" "$R"
    rm -f "$R/.s3m-fresh-base"
    cp -L /etc/resolv.conf "$R/etc/resolv.conf"
    awk '{ print "deb", $1, $2, "main" }' <<<"$sources" >"$R/etc/apt/sources.list"
    # a throw-away root: dpkg need not fsync every file, nor man-db reindex after each install
    echo force-unsafe-io >"$R/etc/dpkg/dpkg.cfg.d/s3m-fresh-unsafe-io"
    echo "man-db man-db/auto-update boolean false" | chroot "$R" debconf-set-selections
    # no service starts at package installation: a chroot has no init to stop it again
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
    chmod 755 "$R/usr/sbin/policy-rc.d"
    if [ "${FRESH_CLEAN:-0}" != 1 ] && [ -d "$debs" ]; then
        cp "$debs"/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true
    fi
    git clone -q --no-local "$src" "$R/root/s3mirror"
    git -C "$R/root/s3mirror" checkout -q --detach "$commit"
}
step "root + clone of ${commit:0:12}" prepare_root
setup_mounts
if [ "${FRESH_CLEAN:-0}" != 1 ] && [ -d "$debs" ]; then
    log "reusing the $(find "$debs" -name '*.deb' | wc -l) .debs of earlier runs (FRESH_CLEAN=1: none)"
fi

in_root() { # COMMAND: a login-less root shell in the chroot, in the clone, plain environment
    chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/s3mirror && $1"
}
in_step() { # NAME COMMAND [GREP]: a step in the chroot; nothing it started may outlive it
    local name=$1
    step "$name" in_root "$2"
    stop_leftovers || die "$name left processes running"
    if [ -n "${3:-}" ]; then
        grep -q -- "$3" "$last_log" || die "$name: expected '$3' in its output"
        log "  $(grep -h -- "$3" "$last_log" | head -1)"
    fi
}

# --- 3. what a new user does ---------------------------------------------------------------------
in_step "apt-get install make" \
    "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make"
in_step "make demo" "make demo" "first start took"
log "the shortened check: e2e $e2e_short; model $model_short"
in_step "make deps check (shortened)" "make deps check E2E_ARGS='$e2e_short' $model_short" "moto leg skipped"
