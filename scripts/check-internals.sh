#!/usr/bin/env bash
# check-internals.sh - the state-machine table at the top of docs/internals/README.md against the
# code: every state/phase enum of src/ and include/s3m/ (the convention is in that README) must
# have its row, keyed by its tag or by <dir>/<file>.c:set_state, with the same states in the same
# order, and every row must have its enum. Prints each difference; exits 1 when there is any.
# Usage: scripts/check-internals.sh [ROOT]   (default .)
set -euo pipefail
cd "${1:-.}"
exec python3 - <<'PY'
import glob, re, sys

def strip(text):
    """comments and the insides of literals blanked, line structure kept"""
    text = re.sub(r'/\*.*?\*/', lambda m: re.sub(r'[^\n]', ' ', m.group()), text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)

code = {}  # key -> (where, [states])
for f in sorted(glob.glob('src/*/*.[ch]') + glob.glob('include/s3m/*.h')):
    text = strip(open(f, encoding='utf-8').read())
    for m in re.finditer(r'\benum\s+(\w+)?\s*\{([^}]*)\}', text):
        tag, body = m.group(1), m.group(2)
        states = [m2.group(1) for m2 in (re.match(r'\s*(\w+)', c) for c in body.split(',')) if m2]
        if tag and re.search(r'_(state|phase)$', tag):
            key = tag
        elif not tag:
            setter = None
            for fn in ('set_state', 'set_phase'):
                calls = re.findall(r'\b%s\s*\(([^;]*)' % fn, text)
                if any(re.search(r'\b(%s)\b' % '|'.join(states), c) for c in calls):
                    setter = fn
            if not setter:
                continue
            key = '%s:%s' % (f[len('src/'):] if f.startswith('src/') else f, setter)
        else:
            continue
        if key in code:
            print('check-internals: %s: enum %s is defined twice' % (f, key))
            sys.exit(1)
        code[key] = (f, states)

readme = 'docs/internals/README.md'
lines = open(readme, encoding='utf-8').read().split('\n')
try:
    b = lines.index('<!-- state-machines: begin -->')
    e = lines.index('<!-- state-machines: end -->')
except ValueError:
    print('check-internals: %s has no <!-- state-machines: begin/end --> table' % readme)
    sys.exit(1)
doc = {}
for i in range(b + 1, e):
    cells = [c.strip() for c in lines[i].strip().strip('|').split('|')]
    if len(cells) < 4 or cells[0] in ('Machine', '') or set(cells[0]) <= set('-: '):
        continue
    key = re.match(r'`([^`]+)`', cells[1])
    if not key:
        print('%s:%d: the Enum cell names no `enum tag` or `file.c:set_state`' % (readme, i + 1))
        sys.exit(1)
    doc[key.group(1)] = (i + 1, re.findall(r'`([^`]+)`', cells[2]))

bad = 0
for key, (f, states) in sorted(code.items()):
    if key not in doc:
        print('%s: state enum %s (%s) has no row in the table of %s'
              % (f, key, ' '.join(states), readme)); bad += 1
    elif doc[key][1] != states:
        print('%s:%d: %s: the table says %s, %s says %s'
              % (readme, doc[key][0], key, ' '.join(doc[key][1]), f, ' '.join(states))); bad += 1
for key, (ln, _) in sorted(doc.items()):
    if key not in code:
        print('%s:%d: row %s: no such state enum in src/ or include/s3m/ (gone or renamed?)'
              % (readme, ln, key)); bad += 1
if bad:
    print('check-internals: %d difference(s) between the state-machine table and the code' % bad)
    sys.exit(1)
print('check-internals: %d state machines, table and code agree' % len(code))
PY
