#!/usr/bin/env bash
# The lean `ftcodec` against `ftcodec-full` (every backend, libtorch: what `ftcodec` was before the
# split) on the job of a program that runs the CLI once per tensor: `enc` + `dec` of one
# 64×14×14 f32 sample (the first of data/features/fmnist_s1_relu.npy) with --codec ans --bits 4.
# The two run in turn (A B A B ...) in the same run, after one warm-up round each; printed per
# executable: the median, min and max wall time of a round trip, and the median of the per-round
# ratios lean/full. Both must write the same bytes. docs/benchmarks.md quotes it.
#
#   bench/lean_cli.sh [ROUNDS]      (default 20; the build in ${FTC_BUILD_DIR:-build};
#                                    LEAN=path FULL=path compare other executables)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
dir=${FTC_BUILD_DIR:-build}
lean=${LEAN:-$dir/ftcodec}
full=${FULL:-$dir/ftcodec-full}
for exe in "$lean" "$full"; do
  [ -x "$exe" ] || { echo "lean_cli.sh: no executable $exe (build first: scripts/build)" >&2; exit 1; }
done
case $rounds in '' | *[!0-9]* | 0) echo "lean_cli.sh: ROUNDS must be a positive number" >&2; exit 1 ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ftcodec-lean-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# One sample: a .npy 1.0 header for 1x64x14x14 <f4, then the first 64*14*14*4 bytes of the data.
src=data/features/fmnist_s1_relu.npy
hlen=$(od -An -tu2 -j8 -N2 "$src" | tr -d ' ')  # the source's header length (u16, little-endian)
dict="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64, 14, 14), }"
pad=$(( (64 - (10 + ${#dict} + 1) % 64) % 64 ))
len=$(( ${#dict} + pad + 1 ))
{
  printf '\223NUMPY\001\000'
  printf "\\$(printf '%03o' $((len % 256)))\\$(printf '%03o' $((len / 256)))"
  printf '%s%*s\n' "$dict" "$pad" ''
  head -c $((10 + hlen + 64 * 14 * 14 * 4)) "$src" | tail -c $((64 * 14 * 14 * 4))
} > "$tmp/x.npy"

# One round trip; prints its wall time in microseconds.
round_trip() {
  local exe=$1 tag=$2 t0 t1
  t0=${EPOCHREALTIME/./}
  "$exe" enc -q -f "$tmp/x.npy" "$tmp/$tag.ftc" --codec ans --bits 4
  "$exe" dec -q -f "$tmp/$tag.ftc" "$tmp/$tag.npy"
  t1=${EPOCHREALTIME/./}
  echo $((t1 - t0))
}

round_trip "$lean" lean >/dev/null
round_trip "$full" full >/dev/null
cmp -s "$tmp/lean.ftc" "$tmp/full.ftc" || { echo "lean_cli.sh: the .ftc files differ" >&2; exit 1; }
cmp -s "$tmp/lean.npy" "$tmp/full.npy" || { echo "lean_cli.sh: the decoded .npy differ" >&2; exit 1; }
: > "$tmp/lean.us"
: > "$tmp/full.us"
: > "$tmp/ratio"
for ((i = 0; i < rounds; i++)); do
  a=$(round_trip "$lean" lean)
  b=$(round_trip "$full" full)
  echo "$a" >> "$tmp/lean.us"
  echo "$b" >> "$tmp/full.us"
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", a / b }' >> "$tmp/ratio"
done

# median min max of a file of numbers
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'; }
libs() { ldd "$1" 2>/dev/null | grep -c '=>' || true; }

echo "enc + dec of one 1x64x14x14 f32 sample (--codec ans --bits 4), $rounds rounds each, alternating"
printf '%-28s %10s %10s %10s %17s\n' executable "median ms" "min ms" "max ms" "shared libraries"
for side in lean full; do
  exe=$lean
  [ $side = full ] && exe=$full
  read -r m lo hi < <(stats "$tmp/$side.us")
  printf '%-28s %10.1f %10.1f %10.1f %17s\n' "$exe" "$(awk -v x="$m" 'BEGIN{print x/1000}')" \
    "$(awk -v x="$lo" 'BEGIN{print x/1000}')" "$(awk -v x="$hi" 'BEGIN{print x/1000}')" "$(libs "$exe")"
done
read -r m lo hi < <(stats "$tmp/ratio")
printf 'lean / full, per round: median %.4f (min %.4f, max %.4f; goal <= 0.05)\n' "$m" "$lo" "$hi"
