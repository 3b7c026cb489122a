#!/usr/bin/env bash
# install_test.sh - `make install PREFIX=<temp>` installs the binary, the man page and the bash
# and zsh completions; the bash completion completes (options, commands, option values) and the
# zsh one parses (zsh -n, where zsh is installed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d /tmp/s3mirror-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make -s -C "$root" install PREFIX="$prefix" >/dev/null
fail=0 n=0
for f in bin/s3mirror share/man/man1/s3mirror.1 share/bash-completion/completions/s3mirror \
         share/zsh/site-functions/_s3mirror; do
    n=$((n + 1))
    [ -s "$prefix/$f" ] || { echo "install: $f missing"; fail=1; }
done

# complete WORDS...: what the bash completion offers for the last word (in a clean bash)
complete_words() {
    bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _s3mirror s3mirror "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$prefix/share/bash-completion/completions/s3mirror" "$@"
}
expect() { # expected-output words...
    local want=$1 got; shift
    n=$((n + 1))
    got=$(complete_words "$@" | sort | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want" ] || { echo "install: completing '$*' gave '$got', expected '$want'"; fail=1; }
}
expect "--dry-run" s3mirror sync --dry
expect "shard-plan sync" s3mirror s
expect "sync" s3mirror --config x.conf sy
expect "--no-lock --no-progress --no-resume --no-server-side-copy --no-tags" s3mirror sync --no-
expect "info" s3mirror sync --log-level in
expect "size size,tags size-mtime size-mtime,tags" s3mirror check --compare si
expect "zsh" s3mirror completion z
expect "" s3mirror sync a b
# the same option table: every option of --help completes
for opt in $("$prefix/bin/s3mirror" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    n=$((n + 1))
    complete_words s3mirror sync "$opt" | grep -xF -- "$opt" >/dev/null || { echo "install: $opt does not complete"; fail=1; }
done
if command -v zsh >/dev/null; then
    n=$((n + 1))
    zsh -n "$prefix/share/zsh/site-functions/_s3mirror" || { echo "install: zsh -n failed"; fail=1; }
else
    echo "install: zsh not installed, zsh completion not checked (apt-get install zsh)"
fi
[ $fail = 0 ] && echo "install: $n checks passed (binary, man page, bash and zsh completions)"
exit $fail
