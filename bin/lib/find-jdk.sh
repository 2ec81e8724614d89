# Sourced by bin/* and ./mvnw: sets JAVA_HOME to a JDK >= 21.
# Order: $JAVA_HOME if it is new enough, then the usual install folders.
# Prints a clear message and returns 1 when there is none.

conductor_java_major() {
  # "$1/bin/java -version" prints e.g.: openjdk version "25.0.3" or "21" or "1.8.0_402"
  "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1/p' | head -n 1
}

conductor_find_jdk() {
  _need=21
  _tried=""
  # ./mvnw runs with 'set -f'; the folder globs below need expansion.
  case $- in *f*) _noglob=1 ;; *) _noglob=0 ;; esac
  set +f
  for _cand in "${JAVA_HOME-}" /usr/lib/jvm/* /usr/local/lib/jvm/* /opt/java/* /opt/jdk* "$HOME/.sdkman/candidates/java/current"; do
    [ -n "$_cand" ] && [ -x "$_cand/bin/java" ] && [ -x "$_cand/bin/javac" ] || continue
    _major=$(conductor_java_major "$_cand")
    _tried="$_tried $_cand(${_major:-?})"
    if [ -n "$_major" ] && [ "$_major" -ge "$_need" ] 2>/dev/null; then
      JAVA_HOME=$_cand
      export JAVA_HOME
      [ "$_noglob" = 1 ] && set -f
      return 0
    fi
  done
  [ "$_noglob" = 1 ] && set -f
  echo "conductor: no JDK >= $_need found (looked at JAVA_HOME and /usr/lib/jvm, /usr/local/lib/jvm, /opt)." >&2
  [ -n "$_tried" ] && echo "conductor: found only:$_tried" >&2
  echo "conductor: install one (e.g. 'apt-get install openjdk-21-jdk-headless') or set JAVA_HOME to it." >&2
  return 1
}
