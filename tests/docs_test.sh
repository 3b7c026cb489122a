#!/usr/bin/env bash
# docs_test.sh - every option of `s3mirror --help` is in the man page and in both shell
# completions (`s3mirror completion bash|zsh`), every command too, and the man page renders
# without warnings.
set -euo pipefail
bin=${S3MIRROR_BIN:-build/s3mirror}
man_text=$(MANWIDTH=200 man -l man/s3mirror.1 2>/dev/null | col -b)
help_text=$("$bin" --help)
bash_text=$("$bin" completion bash)
zsh_text=$("$bin" completion zsh)
fail=0 n=0
for opt in $(grep -oE -- '--[a-z][a-z-]+' <<<"$help_text" | sort -u); do
    n=$((n + 1))
    grep -qF -- "$opt" <<<"$man_text" || { echo "docs: $opt is in --help but not in man/s3mirror.1"; fail=1; }
    grep -qE -- "(^| |')$opt( |'|\)|=|\[)" <<<"$bash_text" || { echo "docs: $opt missing from the bash completion"; fail=1; }
    grep -qE -- "[{',]$opt[=\[,}]" <<<"$zsh_text" || { echo "docs: $opt missing from the zsh completion"; fail=1; }
done
for cmd in sync copy check apply ls lsd shard-plan completion version; do
    n=$((n + 1))
    grep -qE "^  $cmd " <<<"$help_text" || { echo "docs: command $cmd missing from --help"; fail=1; }
    grep -qE "^ +$cmd( |$)" <<<"$man_text" || { echo "docs: command $cmd missing from the man page"; fail=1; }
    grep -qE "'([^']* )?$cmd( [^']*)?'" <<<"$bash_text" || { echo "docs: command $cmd missing from the bash completion"; fail=1; }
    grep -qE "^ +'$cmd:" <<<"$zsh_text" || { echo "docs: command $cmd missing from the zsh completion"; fail=1; }
done
[ -z "$(man --warnings -l man/s3mirror.1 2>&1 >/dev/null)" ] || { echo "docs: man warnings"; fail=1; }
[ $fail = 0 ] && echo "docs: $n options and commands documented in --help and the man page"
exit $fail
