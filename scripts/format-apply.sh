#!/usr/bin/env bash
# format-apply.sh - lay out the C sources with the committed .clang-format (src/, include/s3m/,
# tests/unit/), in place; --count only says how many lines it would change and where.
# Run once by hand after the issue-14 splits are merged, commit the result on its own ("format
# only"), then `make format-check` holds the tree to it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-apply: clang-format not found (Debian: clang-format)"; exit 2; }
[ -f .clang-format ] || { echo "format-apply: no .clang-format"; exit 2; }
mapfile -t files < <(ls src/*/*.[ch] include/s3m/*.h tests/unit/*.[ch] 2>/dev/null)
total=0 nfiles=0
for f in "${files[@]}"; do
    n=$(clang-format --style=file "$f" | diff -U0 "$f" - | grep -c '^-[^-]' || true)
    [ "$n" -gt 0 ] || continue
    total=$((total + n)) nfiles=$((nfiles + 1))
    [ "${1:-}" = --count ] && echo "$n $f"
    [ "${1:-}" = --count ] || clang-format --style=file -i "$f"
done
if [ "${1:-}" = --count ]; then
    echo "format-apply: would change $total lines in $nfiles of ${#files[@]} files"
else
    echo "format-apply: changed $total lines in $nfiles of ${#files[@]} files"
fi
