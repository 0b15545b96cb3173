#!/bin/sh
# One line a second: "<unix time> 1" when ntpd is synchronised to an association verified through an
# identity scheme (sys.peer with VRFY, a scheme bit and ident), else "<unix time> 0".
while :; do
    ok=0
    assid=$(ntpq -n -c as 2>/dev/null | awk '$7 == "sys.peer" {print $2}')
    if [ -n "$assid" ]; then
        rv=$(ntpq -n -c "rv $assid flags,ident" 2>/dev/null)
        flags=$(echo "$rv" | sed -n 's/.*flags=\(0x[0-9a-f]*\).*/\1/p')
        if [ -n "$flags" ] && echo "$rv" | grep -q 'ident="' \
                && [ $((flags & 0x200)) -ne 0 ] && [ $((flags & 0xf0)) -ne 0 ]; then
            ok=1
        fi
    fi
    echo "$(date +%s) $ok"
    sleep 1
done
