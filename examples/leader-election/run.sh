#!/bin/bash
# Leader election on a 5-node netns fixture, checked step by step. Run as root:
#   examples/leader-election/run.sh
# It creates fixture 'leaderdemo' under a temporary directory, starts Leader.java in every
# node, kills the leader, partitions the new leader (and one follower) from the majority,
# heals, and destroys the fixture. Each check prints PASS or FAIL; the exit code is the
# number of failed checks. Needs bash, iproute2 and a JDK >= 21 (found like bin/fixture does).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
HOME_DIR=$(cd "$HERE/../.." && pwd)
FIXTURE="$HOME_DIR/bin/fixture"
NAME=${NAME:-leaderdemo}
SUBNET=${SUBNET:-10.77.0.0/24}
WORK=$(mktemp -d /tmp/leader-election.XXXXXX)
ROOT="$WORK/$NAME"
FAILED=0

if [ "$(id -u)" != 0 ]; then
  echo "run.sh: the netns backend needs root; run: sudo $0" >&2
  exit 2
fi
. "$HOME_DIR/bin/lib/find-jdk.sh"
conductor_find_jdk || exit 2

cleanup() {
  if [ -x "$ROOT/control" ]; then "$ROOT/control" destroy >/dev/null 2>&1; fi
  "$FIXTURE" destroy --name "$NAME" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

check() { # check DESCRIPTION CONDITION...
  local what=$1; shift
  if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; FAILED=$((FAILED + 1)); fi
}

# GET /leader of one node over bash's /dev/tcp (no curl needed); prints the JSON body
view() {
  local ip=$1
  timeout 2 bash -c "exec 3<>/dev/tcp/$ip/8080 && printf 'GET /leader HTTP/1.0\r\nHost: $ip\r\n\r\n' >&3 && sed -n '/^{/p' <&3" 2>/dev/null
}
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",]*\).*/\1/p" <<<"$1"; }

# leader_of IP...: prints the leader if exactly one claims it and every node names it
leader_of() {
  local claimants=() named=() v
  for ip in "$@"; do
    v=$(view "$ip") || return 1
    [ -n "$v" ] || return 1
    [ "$(field "$v" isLeader)" = true ] && claimants+=("$ip")
    named+=("$(field "$v" leader)")
  done
  [ ${#claimants[@]} -eq 1 ] || return 1
  for n in "${named[@]}"; do [ "$n" = "${claimants[0]}" ] || return 1; done
  echo "${claimants[0]}"
}

# await_leader SECONDS IP...: polls until one agreed leader; prints it
await_leader() {
  local limit=$1; shift
  local end=$((SECONDS + limit)) l
  while [ $SECONDS -lt $end ]; do
    if l=$(leader_of "$@"); then echo "$l"; return 0; fi
    sleep 0.3
  done
  return 1
}

echo "== compiling Leader.java"
mkdir -p "$WORK/classes"
"$JAVA_HOME/bin/javac" -d "$WORK/classes" "$HERE/Leader.java" || exit 2
CMD="exec '$JAVA_HOME/bin/java' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx48m -cp '$WORK/classes' Leader"

echo "== creating 5-node netns fixture '$NAME' ($SUBNET) at $ROOT"
"$FIXTURE" create --name "$NAME" --root "$ROOT" --instances 5 --subnet "$SUBNET" --app-port 8080 --command "$CMD" --start || exit 2
IPS=($(sed -n 's/.*"ip" : "\(.*\)".*/\1/p' "$ROOT/spec.json"))
name_of() { for i in 1 2 3 4 5; do [ "${IPS[$((i-1))]}" = "$1" ] && printf 'i%03d' "$i"; done; }

L1=$(await_leader 60 "${IPS[@]}")
check "5 nodes: exactly one leader, named by all (${L1:-none})" test -n "$L1"
[ -n "$L1" ] || exit 1

echo "== killing the leader $L1 ($(name_of "$L1"))"
"$ROOT/control" kill "$(name_of "$L1")" >/dev/null
START=$SECONDS
REST=(); for ip in "${IPS[@]}"; do [ "$ip" != "$L1" ] && REST+=("$ip"); done
L2=$(await_leader 10 "${REST[@]}")
check "after the kill: exactly one new leader among the other 4 within 10 s (${L2:-none}, ~$((SECONDS - START)) s)" \
  test -n "$L2" -a "$L2" != "$L1"
[ -n "$L2" ] || exit 1

echo "== restarting $(name_of "$L1")"
"$ROOT/control" start "$(name_of "$L1")" >/dev/null
L2b=$(await_leader 30 "${IPS[@]}")
check "restarted node rejoins; the leader stays $L2 (${L2b:-none})" test "$L2b" = "$L2"

BUDDY=""; for ip in "${IPS[@]}"; do [ "$ip" != "$L2" ] && { BUDDY=$ip; break; }; done
MAJ=(); for ip in "${IPS[@]}"; do [ "$ip" != "$L2" ] && [ "$ip" != "$BUDDY" ] && MAJ+=("$ip"); done
echo "== partition $(name_of "$L2"),$(name_of "$BUDDY") -- the other three"
majnames=$(for ip in "${MAJ[@]}"; do name_of "$ip"; echo; done | paste -sd,)
"$ROOT/control" partition "$(name_of "$L2"),$(name_of "$BUDDY")" -- "$majnames" >/dev/null
L3=$(await_leader 15 "${MAJ[@]}")
check "majority side elects its own leader (${L3:-none})" test -n "$L3" -a "$L3" != "$L2" -a "$L3" != "$BUDDY"
minority_claims=0
for ip in "$L2" "$BUDDY"; do [ "$(field "$(view "$ip")" isLeader)" = true ] && minority_claims=$((minority_claims + 1)); done
check "minority side claims no leadership" test "$minority_claims" -eq 0

echo "== heal"
"$ROOT/control" heal >/dev/null
L4=$(await_leader 15 "${IPS[@]}")
check "after heal: exactly one leader for all 5 (${L4:-none})" test -n "$L4"

echo "== destroy"
"$ROOT/control" destroy >/dev/null
check "no namespaces of '$NAME' left" bash -c "! ip netns list | grep -q '^cf-$NAME-'"
check "no link cf-$NAME left" bash -c "! ip link show dev cf-$NAME >/dev/null 2>&1"
check "no process of '$NAME' left" bash -c "! grep -lsa 'CONDUCTOR_FIXTURE=$NAME' /proc/[0-9]*/environ | grep -v '/proc/self/' | grep -q ."
echo "== $FAILED check(s) failed"
exit "$FAILED"
