#!/bin/sh
# A Conductor test driving a fixture: 3 nodes, a player in each, the fixture's own
# conductor.cfg run by bin/conduct from the host, then destroy.
#   examples/fixture-player/run.sh            as root: netns backend (own IPs 10.78.0.x)
#   examples/fixture-player/run.sh loopback   anyone: loopback backend (127.0.0.x)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$HERE/../../bin" && pwd)
BACKEND=${1:-netns}
NAME=${NAME:-playerdemo}
WORK=$(mktemp -d /tmp/fixture-player.XXXXXX)
ROOT="$WORK/$NAME"
trap '[ -x "$ROOT/control" ] && "$ROOT/control" destroy >/dev/null 2>&1; rm -rf "$WORK"' EXIT

case $BACKEND in
  netns) SUBNET=${SUBNET:-10.78.0.0/24}; PORT=6970 ;;
  loopback) SUBNET=127.0.0.0/24; PORT=${PLAYER_PORT:-26970} ;;
  *) echo "usage: $0 [netns|loopback]" >&2; exit 2 ;;
esac

echo "== fixture create --with-player ($BACKEND)"
"$BIN/fixture" create --name "$NAME" --root "$ROOT" --instances 3 --backend "$BACKEND" --subnet "$SUBNET" \
  --player-port "$PORT" --with-player --start \
  --command 'echo "node $CONDUCTOR_NODE up on $CONDUCTOR_NODE_IP"; exec sleep 3600'

echo "== the generated test file and one worker file"
cat "$ROOT/conductor.cfg"
cat "$ROOT/i001/player.cfg"

echo "== bin/conduct $ROOT/conductor.cfg"
"$BIN/conduct" "$ROOT/conductor.cfg"
status=$?

echo "== status, then destroy"
"$ROOT/control" status
"$ROOT/control" destroy
exit $status
