#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Refresh the lock files of the test environments from their .in files with today's releases:
#   lab/lock.sh [ENV...]      ENV: newest, oldest, cryptography-2.8, sanity (default: all, in that order)
# Each environment is built in a temporary directory and its `pip freeze` written to tests/requirements/ENV.txt.
# sanity takes the ansible-core of newest.txt and the requirements its ansible-test pins for sanity tests.
# A refresh is a deliberate commit: run the tests on the new locks (tests/run), then commit them together
# with whatever the new releases needed. `tests/run drift` shows what a refresh would change, without one.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
requirements=$here/tests/requirements
# shellcheck source=lab/locks.sh
. "$here/lab/locks.sh"

envs=("$@")
[ ${#envs[@]} -gt 0 ] || envs=(newest oldest cryptography-2.8 sanity)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for env in "${envs[@]}"; do
    [ -f "$requirements/$env.in" ] || { echo "lab/lock.sh: no $requirements/$env.in" >&2; exit 2; }
    python3 -m venv "$work/$env"
    pip=("$work/$env/bin/pip" install -q --disable-pip-version-check)
    if [ "$env" = sanity ]; then
        core=$(lock_lines "$requirements/newest.txt" | grep -i '^ansible-core==')
        "${pip[@]}" "$core"
        data=$("$work/$env/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_data/requirements
        for file in "$data"/sanity.*.txt; do
            "${pip[@]}" -r "$file"
        done
    else
        "${pip[@]}" -r "$requirements/$env.in"
    fi
    "$work/$env/bin/pip" check --disable-pip-version-check
    # shellcheck disable=SC1091
    {
        echo "# Lock of tests/requirements/$env.in: exact versions for $(python3 --version) on $(. /etc/os-release && echo "$PRETTY_NAME")."
        echo "# Written by lab/lock.sh on $(date -u +%Y-%m-%d); lab/setup.sh builds the environment from it and compares pip freeze."
        frozen_lines "$work/$env"
    } >"$requirements/$env.txt"
    echo "$env: $(lock_lines "$requirements/$env.txt" | wc -l) packages -> tests/requirements/$env.txt"
done
