#!/bin/sh
# Builds stepstart (see stepstart.c) into $1 with the machine's C compiler: on x86-64 without the
# C library where that works, else static, else dynamic; each build is tried once before it is
# kept. Without a compiler it says so and succeeds: players then start steps through the JVM.
set -u
src="$(dirname "$0")/stepstart.c"
out="$1"
if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
cc="${CC:-}"
if [ -z "$cc" ]; then
  for c in cc gcc clang; do
    if command -v "$c" >/dev/null 2>&1; then cc="$c"; break; fi
  done
fi
if [ -z "$cc" ]; then
  echo "[stepstart] no C compiler (cc, gcc, clang): not built; players will start steps through the JVM (slower starts, see docs/PERFORMANCE.md)" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp"
# Runs 'exit 7' through the build: it must say when it started, then be the shell.
works() {
  said="$(echo 0 | "$tmp" -n -- /bin/sh -c 'exit 7')"
  [ $? -eq 7 ] && case "$said" in "stepstart "[0-9]*) true ;; *) false ;; esac
}
flags="-O2 -Wall -Wextra -Werror -s"
nolibc="-static -nostdlib -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie -fcf-protection=none -DSTEPSTART_NOLIBC"
for how in nolibc static dynamic; do
  case "$how" in
    nolibc) [ "$(uname -m)" = x86_64 ] || continue; extra="$nolibc" ;;
    static) extra="-static" ;;
    dynamic) extra="" ;;
  esac
  rm -f "$tmp"
  if "$cc" $flags $extra -o "$tmp" "$src" 2>"$tmp.log" && works; then
    mv -f "$tmp" "$out"
    rm -f "$tmp.log"
    exit 0
  fi
done
echo "[stepstart] $cc could not build a working $src (last try: $(head -3 "$tmp.log" 2>/dev/null)); players will start steps through the JVM" >&2
rm -f "$tmp" "$tmp.log"
exit 0
