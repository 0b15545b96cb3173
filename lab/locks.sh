# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced by lab/setup.sh, lab/lock.sh and tests/run: Python environments that hold exactly what a lock file
# of tests/requirements/ names. A lock is `pip freeze` of an environment built from its .in file, with
# comment lines on top; environments are compared with their lock by the same `pip freeze`.

# lock_lines LOCK: the lock's requirement lines, in one order
lock_lines() {
    grep -v -e '^#' -e '^[[:space:]]*$' "$1" | LC_ALL=C sort -f
}

# frozen_lines DIR: what the environment DIR holds, in the same order
frozen_lines() {
    "$1/bin/pip" freeze --disable-pip-version-check 2>/dev/null | LC_ALL=C sort -f
}

# lock_drift DIR LOCK: prints "name: locked -> installed" for each difference, nothing when they match
lock_drift() {
    python3 - <(lock_lines "$2") <(frozen_lines "$1") <<'PY'
import sys
def read(path):
    with open(path) as handle:
        return dict(line.strip().split('==', 1) if '==' in line else (line.strip(), '?') for line in handle if line.strip())
locked, installed = read(sys.argv[1]), read(sys.argv[2])
fold = lambda names: {name.lower().replace('_', '-'): name for name in names}
lnames, inames = fold(locked), fold(installed)
for key in sorted(set(lnames) | set(inames)):
    old = locked.get(lnames.get(key), 'absent')
    new = installed.get(inames.get(key), 'absent')
    if old != new:
        print('%s: %s -> %s' % (lnames.get(key) or inames.get(key), old, new))
PY
}

# locked_venv DIR LOCK: DIR holds exactly LOCK; an environment that differs is built anew (an upgrade in place
# would keep packages the lock no longer names). Fails, naming the differences, if pip cannot reach the lock.
locked_venv() {
    local dir=$1 lock=$2 drift
    if [ -x "$dir/bin/pip" ]; then
        drift=$(lock_drift "$dir" "$lock")
        if [ -z "$drift" ]; then
            echo "$(basename "$dir"): matches ${lock#"${here:-}/"} ($(lock_lines "$lock" | wc -l) packages)"
            return 0
        fi
        echo "$(basename "$dir"): differs from ${lock#"${here:-}/"}, built anew ($(wc -l <<<"$drift") packages differ)"
    fi
    rm -rf "$dir"
    python3 -m venv "$dir"
    # --no-deps: the lock is complete, nothing outside it may come in; pip check then proves it consistent
    "$dir/bin/pip" install -q --disable-pip-version-check --no-deps -r "$lock"
    "$dir/bin/pip" check --disable-pip-version-check >/dev/null \
        || { "$dir/bin/pip" check; echo "$lock: inconsistent lock (pip check above)" >&2; return 1; }
    drift=$(lock_drift "$dir" "$lock")
    if [ -n "$drift" ]; then
        echo "$dir does not match $lock after installing it:" >&2
        echo "$drift" >&2
        return 1
    fi
    echo "$(basename "$dir"): built from ${lock#"${here:-}/"} ($(lock_lines "$lock" | wc -l) packages)"
}
