#!/usr/bin/env bash
# render.sh - Kubernetes manifests for nightly s3mirror jobs, on stdout, for `kubectl apply -f -`.
# Replaces the seed setup's setup-sync-cronjobs.sh (and its envsubst step).
#
#   render.sh secret                      the Secret: rclone.conf (with ${VAR} references) and the
#                                         values of those variables, read from the environment
#   render.sh cronjobs [BUCKET...]        one CronJob per bucket, sync-<bucket>, 05:00 UTC,
#                                         concurrencyPolicy Forbid
#   render.sh job BUCKET...               a one-off Job per bucket: test the setup or force a sync
#   render.sh sharded BUCKET COUNT [PLAN] an Indexed Job of COUNT pods, each syncing one shard;
#                                         with PLAN (from `s3mirror shard-plan SRC COUNT -o PLAN`)
#                                         a ConfigMap holds it and each pod lists only its key
#                                         range, without it a hash of the key splits them
#
# Options (before the mode):
#   --dry-run            the jobs run `s3mirror sync --dry-run` (preview: changes nothing)
#   --namespace NS       default kube-system (as in the seed setup)
#   --image IMAGE        default s3mirror:latest (build it with deploy/Containerfile)
#   --schedule CRON      default "0 5 * * *" (time zone Etc/UTC)
#   --src REMOTE         default sto2
#   --dst REMOTE         default osl1
#   --config FILE        default rclone.conf next to this script
#   --layout NAME        the copy order for every bucket given: a preset (restic, kopia, velero,
#                        elasticsearch, wal-g, pgbackrest, auto) or none; by default the seed's
#                        buckets get theirs by name (docs/backup-repositories.md):
#                        elasticsearch-* --layout elasticsearch, influxdb-* --copy-last
#                        '*.manifest', psql-* --layout wal-g, velero-* --layout velero
#                        (a sharded Job orders each shard on its own, not the whole bucket)
#   --extra "ARGS"       more s3mirror options, e.g. "--max-delete 10% --transfers 64"
#   --backup-dir REMOTE:BUCKET[/PATH]
#                        the quarantine (recommended): what a sync would delete or overwrite
#                        is moved to PATH/<bucket>/ first, with tonight's date as --suffix
#                        (-YYYY-MM-DD); expire it with a lifecycle rule (docs/running-nightly.md)
#   --metrics-push URL   each run pushes its series to the Prometheus Pushgateway at URL (e.g.
#                        http://pushgateway.monitoring:9091): a pod's textfile is gone with it;
#                        one group per job (src, dst, shard), a failed push is only a warning
#   --notify-url URL     healthchecks-style pings (URL/start, URL, URL/fail); {bucket} in URL is
#                        replaced by the bucket, so each CronJob pings its own check (e.g.
#                        'https://hc-ping.com/${HC_PING_KEY}/s3mirror-{bucket}')
#                        A ${VAR} in either URL (quote it from your shell) is a secret like the
#                        config's: `secret` stores VAR's value from the environment (give it the
#                        same URL option), and the pods read it from the Secret, so the key is
#                        not in the CronJob's spec for anyone who can read CronJobs
#   --max-duration D     each run stops starting copies after D (30m, 2h, 1d: --cutoff-mode soft,
#                        running copies finish) and exits 15 with nothing deleted; the Job fails
#                        without a retry on 15 (podFailurePolicy) and its activeDeadlineSeconds
#                        becomes D + 30 minutes (default 6 hours), the hard stop behind it
#   --bwlimit LIMIT      each run's bandwidth: a rate (20M), UP:DOWN, or a timetable in UTC
#                        ("05:00,50M 07:00,10M 22:00,off"); every CronJob runs on its own, so
#                        give each its share of the link
# Without BUCKETs, the seed setup's four buckets.
#
# Typical use:
#   export STO2_ACCESS_KEY_ID=... STO2_SECRET_ACCESS_KEY_ID=... OSL1_ACCESS_KEY_ID=... OSL1_SECRET_ACCESS_KEY_ID=...
#   deploy/kubernetes/render.sh secret | kubectl apply -f -
#   deploy/kubernetes/render.sh --dry-run job velero-tempus-safespring-ck8s | kubectl apply -f -
#   deploy/kubernetes/render.sh --metrics-push http://pushgateway.monitoring:9091 cronjobs | kubectl apply -f -
# With a key in a URL, give `secret` the same URL option (or re-applying the Secret drops it):
#   export HC_PING_KEY=...
#   deploy/kubernetes/render.sh --notify-url 'https://hc-ping.com/${HC_PING_KEY}/s3mirror-{bucket}' secret | kubectl apply -f -
#   deploy/kubernetes/render.sh --notify-url 'https://hc-ping.com/${HC_PING_KEY}/s3mirror-{bucket}' cronjobs | kubectl apply -f -
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

namespace=kube-system image=s3mirror:latest schedule="0 5 * * *" src=sto2 dst=osl1
config=$here/rclone.conf extra="" dry_run="" layout="" backup_dir="" metrics_push="" notify_url=""
max_duration="" deadline=21600 bwlimit=""
default_buckets="psql-tempus-safespring-ck8s influxdb-tempus-safespring-ck8s elasticsearch-tempus-safespring-ck8s velero-tempus-safespring-ck8s"

die() { echo "render.sh: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) dry_run=1; shift ;;
    --namespace|--image|--schedule|--src|--dst|--config|--extra|--layout|--backup-dir|--metrics-push|--notify-url|--max-duration|--bwlimit)
        [ $# -ge 2 ] || die "$1 needs a value"
        v=${1#--}; v=${v//-/_}; printf -v "$v" '%s' "$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || die "which mode? secret, cronjobs, job or sharded (see --help)"
case $layout in
'' | none | auto | restic | kopia | velero | elasticsearch | wal-g | pgbackrest) ;;
*) die "unknown --layout '$layout' (restic, kopia, velero, elasticsearch, wal-g, pgbackrest, auto, none)" ;;
esac
mode=$1; shift
if [ -n "$max_duration" ]; then
    [[ $max_duration =~ ^([0-9]+)([smhd])$ ]] ||
        die "--max-duration '$max_duration' is not NUMBER followed by s, m, h or d (e.g. 2h)"
    n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in s) u=1 ;; m) u=60 ;; h) u=3600 ;; d) u=86400 ;; esac
    [ "$n" -gt 0 ] || die "--max-duration must be more than 0"
    deadline=$((n * u + 1800))
fi
[ -r "$config" ] || die "cannot read config $config"

# the ${VAR} names the config and the URLs refer to, in order, once each (none is no error)
var_names() { { grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' || :; } | tr -d '${}' | awk '!seen[$0]++'; }
url_vars=$(printf '%s\n' "$notify_url" "$metrics_push" | var_names)
vars=$( (grep -v '^[[:space:]]*[#;]' "$config" || :; printf '%s\n' "$notify_url" "$metrics_push") |
       var_names)
# the pods of a render with such URLs need those keys in the Secret, which only a `secret`
# render given the same URL options writes (and `kubectl apply` of one without drops them)
if [ -n "$url_vars" ] && [ "$mode" != secret ]; then
    echo "render.sh: note: the pods read $(echo $url_vars) from the Secret s3mirror-config:" \
         "render \`secret\` with the same --notify-url/--metrics-push too" >&2
fi

# a URL with its ${VAR}s as Kubernetes expands them in args, $(VAR), from the pod's environment
# (each VAR comes from the Secret); every other $ is escaped as $$, which Kubernetes turns back
# into $ (so a literal $( or $$ reaches the pod as written)
kube_ref() {
    local s=${1//\$/\$\$}
    while [[ $s =~ \$\$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
        s=${s/"${BASH_REMATCH[0]}"/\$(${BASH_REMATCH[1]})}
    done
    printf '%s' "$s"
}

yq() { # a YAML double-quoted scalar
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

check_bucket() {
    [[ $1 =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "'$1' is not an S3 bucket name"
}

# a CronJob's name has at most 52 characters; cutting it could make two buckets' jobs collide
check_cronjob_name() {
    local name=sync-${1//./-}
    [ ${#name} -le 52 ] || die "job name $name is longer than the 52 characters a CronJob may have"
}

# order_args BUCKET: the bucket's copy order into the array order (data first, pointers last:
# docs/backup-repositories.md); --layout overrides the choice by the seed's bucket names
order_args() {
    order=()
    case ${layout:-seed} in
    none) ;;
    seed)
        case $1 in
        elasticsearch-*) order=(--layout elasticsearch) ;;
        influxdb-*) order=(--copy-last '*.manifest') ;; # influxd backup: the manifest lists the set
        psql-*) order=(--layout wal-g) ;; # Spilo (WAL-G/WAL-E); pgBackRest: --layout pgbackrest
        velero-*) order=(--layout velero) ;;
        esac ;;
    *) order=(--layout "$layout") ;;
    esac
}

# args BUCKET [more...]: the container's argument list
args() {
    local b=$1; shift
    printf '            args:\n'
    local a order
    order_args "$b"
    for a in sync "$src:$b" "$dst:$b" --config /etc/s3mirror/rclone.conf --stats 1m \
        ${order[@]+"${order[@]}"} "$@" \
        ${backup_dir:+--backup-dir "${backup_dir%/}/$b"} ${dry_run:+--dry-run} \
        ${metrics_push:+--metrics-push "$(kube_ref "$metrics_push")"} \
        ${notify_url:+--notify-url "$(kube_ref "${notify_url//\{bucket\}/$b}")"} \
        ${max_duration:+--max-duration "$max_duration" --cutoff-mode soft} \
        ${bwlimit:+--bwlimit "$bwlimit"} $extra; do
        printf '              - %s\n' "$(yq "$a")"
    done
}

# with --max-duration: exit 15 (cut off, nothing deleted) fails the Job without a retry; the
# next night goes on where this one stopped (indented by $1)
cutoff_policy() {
    [ -n "$max_duration" ] || return 0
    printf '%spodFailurePolicy:\n%s  rules:\n%s    - action: FailJob\n' "$1" "$1" "$1"
    printf '%s      onExitCodes: {operator: In, values: [15]}\n' "$1"
}

# pod BUCKET [args...]: the pod template, indented for a CronJob's job template (a Job's
# template is 4 spaces less)
pod() {
    local b=$1; shift
    cat <<YAML
        metadata:
          labels:
            app.kubernetes.io/name: s3mirror
            s3mirror/bucket: $(yq "$b")
        spec:
          restartPolicy: Never
          # SIGTERM first: s3mirror aborts its multipart uploads, deletes nothing, exits 143
          terminationGracePeriodSeconds: 120
          securityContext:
            runAsNonRoot: true
            runAsUser: 65532
            runAsGroup: 65532
            seccompProfile:
              type: RuntimeDefault
          containers:
          - name: s3mirror
            image: $(yq "$image")
YAML
    if [ -n "$backup_dir" ]; then # tonight's date as --suffix needs a shell ($$: a literal $)
        cat <<'YAML'
            command: ["/bin/sh", "-c", "exec /usr/local/bin/s3mirror \"$@\" --suffix \"-$$(date -u +%F)\"", "s3mirror"]
YAML
    fi
    args "$b" "$@"
    [ -z "${shard_env:-}$vars" ] || printf '            env:\n'
    if [ -n "${shard_env:-}" ]; then
        cat <<YAML
            # the pod's index in the Indexed Job (also in JOB_COMPLETION_INDEX; this form is
            # declared here, so \$(SHARD_INDEX) in args is expanded on every version)
            - name: SHARD_INDEX
              valueFrom:
                fieldRef:
                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
YAML
    fi
    local v
    for v in $vars; do
        cat <<YAML
            - name: $v
              valueFrom:
                secretKeyRef:
                  name: s3mirror-config
                  key: $v
YAML
    done
    cat <<YAML
            volumeMounts:
            - name: config
              mountPath: /etc/s3mirror
              readOnly: true
            - name: tmp
              mountPath: /tmp
YAML
    if [ -n "${plan_map:-}" ]; then
        cat <<YAML
            - name: shard-plan
              mountPath: /etc/s3mirror-shards
              readOnly: true
YAML
    fi
    cat <<YAML
            securityContext:
              allowPrivilegeEscalation: false
              readOnlyRootFilesystem: true
              capabilities:
                drop: ["ALL"]
            resources:
              requests:
                cpu: 100m
                memory: 64Mi
              limits:
                memory: 512Mi
          volumes:
          - name: config
            secret:
              secretName: s3mirror-config
              items:
              - key: rclone.conf
                path: rclone.conf
          - name: tmp
            emptyDir: {}
YAML
    if [ -n "${plan_map:-}" ]; then
        cat <<YAML
          - name: shard-plan
            configMap:
              name: $plan_map
YAML
    fi
}

labels() {
    cat <<YAML
  labels:
    app.kubernetes.io/name: s3mirror
    s3mirror/bucket: $(yq "$1")
    s3mirror/dry-run: "$([ -n "$dry_run" ] && echo true || echo false)"
YAML
}

case $mode in
secret)
    [ $# -eq 0 ] || die "secret takes no buckets"
    missing=""
    for v in $vars; do [ -n "${!v:-}" ] || missing="$missing $v"; done
    [ -z "$missing" ] || die "set these environment variables first:$missing"
    cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: s3mirror-config
  namespace: $(yq "$namespace")
  labels:
    app.kubernetes.io/name: s3mirror
type: Opaque
data:
  rclone.conf: $(base64 -w0 <"$config")
YAML
    for v in $vars; do printf '  %s: %s\n' "$v" "$(printf '%s' "${!v}" | base64 -w0)"; done
    ;;
cronjobs)
    [ $# -gt 0 ] || set -- $default_buckets
    first=1
    for b in "$@"; do
        check_bucket "$b"
        check_cronjob_name "$b"
        [ $first ] || echo "---"; first=""
        cat <<YAML
apiVersion: batch/v1
kind: CronJob
metadata:
  name: sync-${b//./-}
  namespace: $(yq "$namespace")
$(labels "$b")
spec:
  schedule: $(yq "$schedule")
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 3600
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 5
  jobTemplate:
    spec:
      backoffLimit: 1
      activeDeadlineSeconds: $deadline
$(cutoff_policy "      ")
      template:
YAML
        pod "$b"
    done
    ;;
job)
    [ $# -gt 0 ] || die "job needs at least one BUCKET"
    stamp=$(date -u +%Y%m%d%H%M%S)
    first=1
    for b in "$@"; do
        check_bucket "$b"
        [ $first ] || echo "---"; first=""
        cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $(n=sync-${b//./-}; echo "${n:0:41}")-manual-$stamp
  namespace: $(yq "$namespace")
$(labels "$b")
spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: 86400
  template:
YAML
        pod "$b" | sed 's/^    //'
    done
    ;;
sharded)
    [ $# -eq 2 ] || [ $# -eq 3 ] || die "sharded needs BUCKET COUNT [PLAN]"
    b=$1 count=$2 plan=${3:-}
    check_bucket "$b"
    [[ $count =~ ^[1-9][0-9]{0,2}$ ]] || die "COUNT must be 1 to 999"
    name=$(n=sync-${b//./-}; echo "${n:0:55}")-sharded
    shard_args=(--shard '$(SHARD_INDEX)'/"$count")
    if [ -n "$plan" ]; then
        [ -r "$plan" ] || die "cannot read shard plan $plan"
        nb=$(grep -cv '^#' "$plan" || true)
        [ "$nb" -eq $((count - 1)) ] || die "$plan holds the boundaries of $((nb + 1)) shards, not $count"
        plan_map=$name-plan
        shard_args+=(--shard-boundaries /etc/s3mirror-shards/plan)
        cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: $plan_map
  namespace: $(yq "$namespace")
$(labels "$b")
data:
  plan: |
$(sed 's/^/    /' "$plan")
---
YAML
    fi
    cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
  namespace: $(yq "$namespace")
$(labels "$b")
spec:
  completionMode: Indexed
  completions: $count
  parallelism: $count
  backoffLimitPerIndex: 1
  ttlSecondsAfterFinished: 86400
  template:
YAML
    # each pod takes the shard of its index
    shard_env=1
    pod "$b" "${shard_args[@]}" | sed 's/^    //'
    ;;
*) die "unknown mode '$mode' (secret, cronjobs, job or sharded)" ;;
esac
