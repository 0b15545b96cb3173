#!/bin/sh
# One line a second: "<unix time> <state>", state 1 when the daemon is synchronised to an authenticated source,
# 0 when it is synchronised to none, U when it is synchronised to a source without authentication.
while :; do
    state=0
    if command -v chronyc >/dev/null; then
        peer=$(chronyc -n sources 2>/dev/null | awk '/^\^\*/ {print $2}')
        if [ -n "$peer" ]; then
            state=U
            chronyc ntpdata "$peer" 2>/dev/null | grep -q '^Authenticated *: Yes' && state=1
        fi
    else
        auth=$(ntpq -n -c as 2>/dev/null | awk '$7 == "sys.peer" {print $6}')
        if [ -n "$auth" ]; then
            state=U
            [ "$auth" = ok ] && state=1
        fi
    fi
    echo "$(date +%s) $state"
    sleep 1
done
