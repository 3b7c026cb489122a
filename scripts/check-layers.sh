#!/usr/bin/env bash
# check-layers.sh - the shape rules of STYLE.md, checked: every violation is printed as
# file:line: rule: message and the script exits 1 when there is any.
#   layer  an #include that runs up a layer (util -> core -> net -> s3 -> engine -> cli)
#   lib    libuv/curl (uv_*, UV_*, curl_*, CURL*, <uv.h>, <curl/...>) outside the net layer
#   file   a source file over MAX_FILE_LINES lines
#   func   a function over MAX_FUNC_LINES lines
# Usage: scripts/check-layers.sh [--longest N] [ROOT]   (ROOT holds src/ and include/s3m/;
#        default .); --longest N also lists the N longest functions and the N largest files.
#
# Layers of files: src/<layer>/* is <layer> (private headers included); include/s3m/<name>.h is
# the layer of its module src/<layer>/<name>.c, else the layer called <name> (s3m/util.h,
# s3m/s3.h), else HEADER_LAYER below; a public header with none of these is a violation.
# Function length counts the lines from the body's "{" to its "}", both in column 0 (the style
# of this code: a definition's body opens and closes in column 0, nothing else does).
set -uo pipefail

longest=0
if [ "${1:-}" = --longest ]; then
    longest=$2
    shift 2
fi
ROOT=${1:-.}
MAX_FILE_LINES=600
MAX_FUNC_LINES=60
LAYERS=(util core net s3 engine cli)

# Public headers whose module is not one src/<layer>/<name>.c: "name layer".
HEADER_LAYER=("sync engine" "tags core") # s3m/sync.h: the job (engine/job.c and its parts); s3m/tags.h: core/xml_tags.c

# Files outside net/ allowed to name libuv/curl, each with its reason ("path|reason").
ALLOW_LIBS=(
    "src/cli/version.c|\`s3mirror version\` prints the versions of libcurl and libuv"
)

cd "$ROOT" || exit 2
nviol=0
viol() {
    echo "$1"
    nviol=$((nviol + 1))
}

declare -A rank
for i in "${!LAYERS[@]}"; do rank[${LAYERS[$i]}]=$i; done

# the layer of a file given as a path relative to ROOT (nothing: unknown)
declare -A hdr_layer
for h in include/s3m/*.h; do
    [ -e "$h" ] || continue
    name=$(basename "$h" .h)
    found=""
    for l in "${LAYERS[@]}"; do
        [ -e "src/$l/$name.c" ] && found="$found $l"
    done
    found=${found# }
    if [ -z "$found" ] && [ -n "${rank[$name]:-}" ]; then found=$name; fi
    for e in "${HEADER_LAYER[@]}"; do
        [ "${e%% *}" = "$name" ] && found=${e#* }
    done
    case "$found" in
    *" "*) viol "$h:1: layer: module $name is in more than one layer ($found); name it in HEADER_LAYER" ;;
    "") viol "$h:1: layer: no layer (no src/<layer>/$name.c); add \"$name <layer>\" to HEADER_LAYER in scripts/check-layers.sh" ;;
    *) hdr_layer[$h]=$found ;;
    esac
done

file_layer() { # sets $layer to the layer of file $1 (a path relative to ROOT), or ""
    layer=""
    case "$1" in
    include/s3m/*.h) layer=${hdr_layer[$1]:-} ;;
    src/*/*) layer=${1#src/}; layer=${layer%%/*}; [ -n "${rank[$layer]:-}" ] || layer="" ;;
    esac
}

# normalise a path (resolve . and ..) relative to ROOT
norm() {
    local IFS=/ p out=()
    for p in $1; do
        case "$p" in
        "" | .) ;;
        ..) [ ${#out[@]} -gt 0 ] && unset 'out[${#out[@]}-1]' ;;
        *) out+=("$p") ;;
        esac
    done
    echo "${out[*]}"
}

allowed_lib() {
    local e
    for e in "${ALLOW_LIBS[@]}"; do [ "${e%%|*}" = "$1" ] && return 0; done
    return 1
}

# One pass of awk over every file prints what the rules need, one record a line:
#   I file line path     an #include "path"
#   L file line what     a use of libuv/curl (first one of each line), or #include <uv.h|curl/...>
#   F file line name n   a function of n lines whose declaration starts on line
#   N file n             the file has n lines
# It reads each line with comments and the insides of string and character literals blanked.
scan() {
    awk '
    FNR == 1 { if (NR > 1) endfile(); inc = 0; infn = 0; delete hist }
    function endfile() { printf "N %s %d\n", file, lines }
    {
        file = FILENAME; lines = FNR; raw = $0
        out = ""; n = length($0); i = 1; q = ""
        while (i <= n) {
            c = substr($0, i, 1); d = substr($0, i, 2)
            if (inc) {
                if (d == "*/") { inc = 0; out = out "  "; i += 2 } else { out = out " "; i++ }
            } else if (q != "") {
                if (c == "\\") { out = out "  "; i += 2 }
                else if (c == q) { q = ""; out = out c; i++ }
                else { out = out " "; i++ }
            } else if (d == "/*") { inc = 1; out = out "  "; i += 2 }
            else if (d == "//") { break }
            else if (c == "\"" || c == "\047") { q = c; out = out c; i++ }
            else { out = out c; i++ }
        }
        if (out ~ /^[ \t]*#[ \t]*include[ \t]*"/ && match(raw, /"[^"]*"/))
            printf "I %s %d %s\n", file, FNR, substr(raw, RSTART + 1, RLENGTH - 2)
        if (out ~ /^[ \t]*#[ \t]*include[ \t]*<(uv\.h|uv\/|curl\/)/ && match(out, /<[^>]*>/))
            printf "L %s %d #include %s\n", file, FNR, substr(out, RSTART, RLENGTH)
        else if (match(out, /(^|[^A-Za-z0-9_])(uv_[A-Za-z0-9_]+|UV_[A-Z0-9_]+|curl_[A-Za-z0-9_]+|CURL[A-Za-z0-9_]*)/)) {
            w = substr(out, RSTART, RLENGTH); sub(/^[^A-Za-z0-9_]/, "", w)
            printf "L %s %d %s\n", file, FNR, w
        }
        # functions (.c): body from "{" to "}" in column 0; the name is the identifier before the
        # first "(" of the lines since the previous top-level declaration ended
        if (file ~ /\.c$/ && out ~ /^\{/) {
            start = FNR; name = ""; at = FNR
            for (k = FNR - 1; k >= 1 && k >= FNR - 12; k--) {
                l = hist[k]
                if (l ~ /^[ \t]*$/ || l ~ /[;}][ \t]*$/ || l ~ /^#/) break
                if (l ~ /\(/) { h = l; at = k }
            }
            if (at < FNR && h !~ /=/) {
                sub(/\(.*/, "", h); nw = split(h, w2, /[^A-Za-z0-9_]+/)
                name = w2[nw]; if (name == "" && nw > 1) name = w2[nw - 1]
            }
            infn = (name != ""); hdr = at
        } else if (infn && out ~ /^\}/) {
            printf "F %s %d %s %d\n", file, hdr, name, FNR - start + 1
            infn = 0
        }
        hist[FNR] = out
    }
    END { if (NR > 0) endfile() }' "$@"
}

sizes=() funcs=()
mapfile -t files < <(find src include/s3m -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || { echo "check-layers: no src/ or include/s3m/ under $ROOT"; exit 2; }
while read -r kind f ln a b; do
    file_layer "$f"
    me=$layer
    case $kind in
    I) # (a) includes running up a layer
        [ -n "$me" ] || continue
        case "$a" in
        s3m/*) target="include/$a" ;;
        */*) target=$(norm "${f%/*}/$a") ;;
        *) target="${f%/*}/$a" ;;
        esac
        file_layer "$target"
        # a header of no layer (tests, system) is not ours to rank
        if [ -n "$layer" ] && [ "${rank[$layer]}" -gt "${rank[$me]}" ]; then
            viol "$f:$ln: layer: includes \"$a\" ($layer) from the $me layer"
        fi ;;
    L) # (b) libuv and curl stay in net/
        [ "$me" = net ] || allowed_lib "$f" || viol "$f:$ln: lib: $a${b:+ $b} outside net/" ;;
    N) # (c) file length ($ln is the count)
        sizes+=("$ln $f")
        [ "$ln" -le "$MAX_FILE_LINES" ] || viol "$f:$ln: file: $ln lines (max $MAX_FILE_LINES)" ;;
    F) # (d) function length
        funcs+=("$b $f:$ln $a")
        [ "$b" -le "$MAX_FUNC_LINES" ] || viol "$f:$ln: func: $a is $b lines (max $MAX_FUNC_LINES)" ;;
    esac
done < <(scan "${files[@]}")

if [ "$longest" -gt 0 ]; then
    echo "-- the $longest longest functions (lines, where, name) of ${#funcs[@]}:"
    printf '%s\n' "${funcs[@]}" | sort -k1,1nr -k2,2 | head -n "$longest"
    echo "-- the $longest largest files (lines) of ${#files[@]}:"
    printf '%s\n' "${sizes[@]}" | sort -k1,1nr -k2,2 | head -n "$longest"
fi
if [ "$nviol" -gt 0 ]; then
    echo "check-layers: $nviol violation(s): split by job (STYLE.md); libuv/curl go through net/"
    echo "  (s3m/loop.h, s3m/http.h), or a file that must name them goes into ALLOW_LIBS with a reason"
    exit 1
fi
echo "check-layers: ${#files[@]} files hold the layers and the size limits"
