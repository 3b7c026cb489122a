#!/usr/bin/env bash
# layers_test.sh - self-test of scripts/check-layers.sh: tiny fake trees in a temporary
# directory, each of which must pass or fail one rule (and name the right file:line).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
check=$here/scripts/check-layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

# a clean tree: one module per layer, each including its own and lower layers
base() {
    rm -rf "$tmp/t"
    mkdir -p "$tmp/t/include/s3m"
    local l prev=""
    for l in util core net s3 engine cli; do # module m<layer>: a header and a .c file
        mkdir -p "$tmp/t/src/$l"
        printf '#ifndef M_%s\n#define M_%s\n%s\nvoid m_%s(void);\n#endif\n' "$l" "$l" \
            "${prev:+#include \"s3m/m$prev.h\"}" "$l" >"$tmp/t/include/s3m/m$l.h"
        printf '/* m%s.c - a module of the %s layer. */\n#include "s3m/m%s.h"\n%s\nvoid m_%s(void)\n{\n}\n' \
            "$l" "$l" "$l" "${prev:+#include \"s3m/m$prev.h\"}" "$l" >"$tmp/t/src/$l/m$l.c"
        prev=$l
    done
    # s3m/util.h names a layer, not a module: it is that layer's
    printf 'void u(void);\n' >"$tmp/t/include/s3m/util.h"
    # a private header of the engine layer
    printf 'void e_int(void);\n' >"$tmp/t/src/engine/e_int.h"
    # libuv and curl inside net/ are fine, and in the allowed cli/version.c
    printf '#include <uv.h>\n#include <curl/curl.h>\nvoid n(void)\n{\n    uv_run(0, UV_RUN_ONCE);\n    curl_easy_init();\n}\n' \
        >"$tmp/t/src/net/loop.c"
    printf '#include <uv.h>\nvoid v(void)\n{\n    uv_version_string();\n}\n' >"$tmp/t/src/cli/version.c"
    # the words in comments and strings are no use of the libraries
    printf '/* uv_run is not called here */\nconst char *s = "curl_easy_init CURLE_OK";\n// uv_close\n' \
        >"$tmp/t/src/engine/talk.c"
}

# expect PASS|FAIL [grep pattern that must be in the output] -- description
expect() {
    local want=$1 pat=$2 what=$3 out rc
    n=$((n + 1))
    out=$("$check" "$tmp/t" 2>&1)
    rc=$?
    if [ "$want" = PASS ] && [ $rc -ne 0 ]; then
        echo "layers_test: FAIL: $what: the check failed on a clean tree:"; echo "$out"; fail=1
    elif [ "$want" = FAIL ] && [ $rc -ne 1 ]; then
        echo "layers_test: FAIL: $what: the check passed (rc $rc):"; echo "$out"; fail=1
    elif [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
        echo "layers_test: FAIL: $what: no line matching '$pat' in:"; echo "$out"; fail=1
    fi
}

fn() { # a function named $2 whose body ("{" to "}") is $1 lines
    local i
    printf 'static int %s(int x)\n{\n' "$2"
    for ((i = 0; i < $1 - 2; i++)); do printf '    x++;\n'; done
    printf '}\n'
}

base
expect PASS "" "clean tree"

base
printf '#include "s3m/mengine.h"\n' >>"$tmp/t/src/core/mcore.c"
expect FAIL '^src/core/mcore\.c:[0-9]+: layer: includes "s3m/mengine\.h" \(engine\) from the core layer' \
    "core includes an engine header"

base
printf '#include "s3m/mcli.h"\n' >>"$tmp/t/include/s3m/ms3.h"
expect FAIL '^include/s3m/ms3\.h:[0-9]+: layer: .*\(cli\) from the s3 layer' "a public s3 header includes a cli header"

base
printf '#include "../engine/e_int.h"\n' >>"$tmp/t/src/net/mnet.c"
expect FAIL '^src/net/mnet\.c:[0-9]+: layer: includes "\.\./engine/e_int\.h" \(engine\)' \
    "net includes the engine's private header"

base
printf '#include "e_int.h"\n#include "s3m/util.h"\n#include "s3m/ms3.h"\n' >>"$tmp/t/src/engine/mengine.c"
expect PASS "" "engine includes its private header, util.h and an s3 header"

base
printf 'void orphan(void);\n' >"$tmp/t/include/s3m/orphan.h"
expect FAIL '^include/s3m/orphan\.h:1: layer: no layer' "a public header with no module"

base
printf 'void f(void)\n{\n    int a;\n    uv_timer_start(&a);\n}\n' >>"$tmp/t/src/engine/mengine.c"
expect FAIL '^src/engine/mengine\.c:10: lib: uv_timer_start outside net/' "uv_ in engine"

base
printf 'struct h { uv_idle_t kick; };\n' >>"$tmp/t/include/s3m/mengine.h"
expect FAIL '^include/s3m/mengine\.h:6: lib: uv_idle_t' "a libuv type in an engine header"

base
printf 'int f(int c)\n{\n    return c == CURLE_OK;\n}\n' >>"$tmp/t/src/s3/ms3.c"
expect FAIL '^src/s3/ms3\.c:[0-9]+: lib: CURLE_OK' "a curl constant in s3"

base
printf '#include <curl/curl.h>\n' >>"$tmp/t/src/cli/mcli.c"
expect FAIL '^src/cli/mcli\.c:[0-9]+: lib: #include <curl/curl\.h>' "curl included by the cli"

base
printf 'void w(void)\n{\n    uv_run(0, UV_RUN_ONCE);\n}\n' >>"$tmp/t/src/cli/version.c"
expect PASS "" "the allowed cli/version.c"

base
for ((i = 0; i < 594; i++)); do echo "int v$i;"; done >>"$tmp/t/src/core/mcore.c" # 600 lines
expect PASS "" "a file of 600 lines"
echo "int v_last;" >>"$tmp/t/src/core/mcore.c"
expect FAIL '^src/core/mcore\.c:601: file: 601 lines \(max 600\)' "a file of 601 lines"

base
for ((i = 0; i < 700; i++)); do echo "void d$i(void);"; done >"$tmp/t/src/engine/e_int.h"
expect FAIL '^src/engine/e_int\.h:700: file: 700 lines' "a private header of 700 lines"

base
fn 60 sixty >>"$tmp/t/src/util/mutil.c"
expect PASS "" "a function of 60 lines"
{ echo; fn 61 sixtyone; } >>"$tmp/t/src/util/mutil.c"
expect FAIL '^src/util/mutil\.c:[0-9]+: func: sixtyone is 61 lines \(max 60\)' "a function of 61 lines"
n=$((n + 1))
! "$check" "$tmp/t" | grep -q 'func: sixty ' || { echo "layers_test: FAIL: the 60-line function was reported"; fail=1; }

base
# a multi-line signature; the braces of an initializer and of inner blocks do not count
{
    printf 'static const int table[] = {\n    1,\n    2,\n};\n'
    printf 'struct s3m_x *\nlong_signature(int a,\n               int b)\n{\n'
    for ((i = 0; i < 30; i++)); do printf '    if (a) {\n        b++;\n'; printf '    }\n'; done
    printf '}\n'
} >>"$tmp/t/src/engine/mengine.c"
expect FAIL '^src/engine/mengine\.c:[0-9]+: func: long_signature is 92 lines' "a long function with a wrapped signature"

[ $fail = 0 ] && echo "layers_test: $n cases of scripts/check-layers.sh as expected"
exit $fail
