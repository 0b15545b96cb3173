#!/bin/sh
# One line a second: "<unix time> <state>", state 1 when the host's time daemon is synchronised to an authenticated
# source, 0 when it is synchronised to none (or no daemon runs), U when it is synchronised to a source without
# authentication. The daemon asked is the one running (chronyd or ntpd), so a host changing daemon is judged by
# whichever keeps its clock at that second; ntpq is taken from /var/tmp/ntpq when the ntp package (which holds it)
# is gone while its ntpd still runs.
while :; do
    state=0
    ntpq=/usr/bin/ntpq
    [ -x "$ntpq" ] || ntpq=/var/tmp/ntpq
    if pidof chronyd >/dev/null; then
        peer=$(chronyc -n sources 2>/dev/null | awk '/^\^\*/ {print $2}')
        if [ -n "$peer" ]; then
            state=U
            chronyc ntpdata "$peer" 2>/dev/null | grep -q '^Authenticated *: Yes' && state=1
        fi
    elif pidof ntpd >/dev/null; then
        auth=$("$ntpq" -n -c as 2>/dev/null | awk '$7 == "sys.peer" {print $6}')
        if [ -n "$auth" ]; then
            state=U
            [ "$auth" = ok ] && state=1
        fi
    fi
    echo "$(date +%s) $state"
    sleep 1
done
