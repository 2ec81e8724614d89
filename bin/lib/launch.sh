# Sourced by bin/conduct, bin/player, bin/fixture: finds a JDK, builds the jar
# on first use (or when the sources are newer), then runs MAIN_CLASS.
set -eu
CONDUCTOR_HOME=$(cd "$(dirname "$0")/.." && pwd)
. "$CONDUCTOR_HOME/bin/lib/find-jdk.sh"
conductor_find_jdk || exit 2
JAR="$CONDUCTOR_HOME/target/conductor.jar"
conductor_needs_build() {
  [ -f "$JAR" ] || return 0
  [ -n "$(find "$CONDUCTOR_HOME/src/main" "$CONDUCTOR_HOME/pom.xml" -newer "$JAR" -type f -print -quit 2>/dev/null)" ]
}
if conductor_needs_build; then
  echo "conductor: building $JAR (first use or sources changed; takes a minute) ..." >&2
  if ! (cd "$CONDUCTOR_HOME" && ./mvnw -q -B -Dmaven.test.skip=true package >"$CONDUCTOR_HOME/target-build.log" 2>&1); then
    echo "conductor: build failed; see $CONDUCTOR_HOME/target-build.log" >&2
    tail -n 30 "$CONDUCTOR_HOME/target-build.log" >&2
    exit 2
  fi
  rm -f "$CONDUCTOR_HOME/target-build.log"
fi
# Small, steady memory by default (a serial collector and a capped heap: G1 would size the
# heap from the machine's RAM). A player also starts with a small heap, compiles with C1 only
# and hands freed native memory back every second, so that an idle one stays under 64 MB;
# with TLS it keeps C2, whose AES intrinsics encrypt 20 times faster than C1's code.
# CONDUCTOR_JAVA_OPTS, even empty, replaces these flags. (dev.conductor.cli.LaunchFlags says
# the same; a test keeps them equal.)
case "$MAIN_CLASS" in
  dev.conductor.cli.PlayerCommand)
    CONDUCTOR_DEFAULT_OPTS="-XX:+UseSerialGC -Xms8m -Xmx128m -XX:TieredStopAtLevel=1 -XX:+IgnoreUnrecognizedVMOptions -XX:TrimNativeHeapInterval=1000 -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,dev/conductor/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,com/fasterxml/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/lang/Process*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/io/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/util/*.*,0.1"
    for conductor_arg in "$@"; do
      case "$conductor_arg" in
        --tls-cert|--tls-cert=*)
          CONDUCTOR_DEFAULT_OPTS="-XX:+UseSerialGC -Xms8m -Xmx128m -XX:+IgnoreUnrecognizedVMOptions -XX:TrimNativeHeapInterval=1000 -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,dev/conductor/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,com/fasterxml/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/lang/Process*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/io/*.*,0.1 -XX:CompileCommand=CompileThresholdScaling,java/util/*.*,0.1" ;;
      esac
    done ;;
  *)
    CONDUCTOR_DEFAULT_OPTS="-XX:+UseSerialGC -Xmx128m" ;;
esac
# The flags are split into words but never taken as file patterns (they hold '*').
set -f
exec "$JAVA_HOME/bin/java" ${CONDUCTOR_JAVA_OPTS-$CONDUCTOR_DEFAULT_OPTS} -cp "$JAR" "$MAIN_CLASS" "$@"
