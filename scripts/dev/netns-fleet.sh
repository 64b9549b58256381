#!/usr/bin/env bash
# Several test hosts on one machine for the fleet test (Tests/kilnTests/FleetTests.swift): one network namespace per
# host, each with a veth pair to a bridge in a namespace of its own (the switch), on 10.77.0.0/24 — addresses of the
# project's own test hosts, nothing of the machine's own network is touched. Needs root (ip netns).
#   scripts/dev/netns-fleet.sh up PREFIX HOST=N ...     # PREFIX-HOST gets 10.77.0.N, e.g. db=2 w1=11 n1=21
#   scripts/dev/netns-fleet.sh cut PREFIX HOST N ...    # HOST can no longer reach 10.77.0.N (its packets dropped)
#   scripts/dev/netns-fleet.sh heal PREFIX HOST N ...   # and can again
#   scripts/dev/netns-fleet.sh down PREFIX              # every namespace of PREFIX, and their links, gone
# A cut is a blackhole route in HOST's namespace: what it sends to N is dropped without an answer, as a partition
# drops it (TCP retransmits until healed); the other direction's packets arrive but get no answer either.
set -euo pipefail
command -v ip >/dev/null || { echo "ip (Debian's iproute2) is needed" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "netns-fleet.sh needs root (ip netns)" >&2; exit 1; }
action=${1:-}
prefix=${2:-}
[ -n "$action" ] && [ -n "$prefix" ] || { sed -n '2,9p' "$0" >&2; exit 2; }
shift 2
subnet=10.77.0
switch="$prefix-sw"

case "$action" in
up)
    ip netns add "$switch"
    ip -n "$switch" link set lo up
    ip -n "$switch" link add br0 type bridge
    ip -n "$switch" link set br0 up
    index=0
    for pair in "$@"; do
        host=${pair%%=*} number=${pair##*=}
        index=$((index + 1))
        ns="$prefix-$host"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # The host's end is eth0 in its namespace; the other end joins the bridge.
        ip link add "kf$$x$index" type veth peer name "kf$$y$index"
        ip link set "kf$$x$index" netns "$ns"
        ip link set "kf$$y$index" netns "$switch"
        ip -n "$ns" link set "kf$$x$index" name eth0
        ip -n "$ns" addr add "$subnet.$number/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$switch" link set "kf$$y$index" master br0
        ip -n "$switch" link set "kf$$y$index" up
    done
    ;;
cut | heal)
    host=${1:?HOST}
    shift
    for number in "$@"; do
        if [ "$action" = cut ]; then
            ip -n "$prefix-$host" route add blackhole "$subnet.$number/32"
        else
            ip -n "$prefix-$host" route del blackhole "$subnet.$number/32" 2>/dev/null || true
        fi
    done
    ;;
down)
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$prefix-" || true); do
        # Whatever still runs inside is ended first: a namespace with processes in it outlives `ip netns del`.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    done
    ;;
*)
    echo "usage: $0 up|cut|heal|down PREFIX ..." >&2
    exit 2
    ;;
esac
