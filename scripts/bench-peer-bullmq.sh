#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the BullMQ peer benchmark (bench/peers/bullmq/bench.js) against a private
# redis-server on 127.0.0.1, once with appendfsync always (durable) and once
# with appendfsync everysec (relaxed), writing OUT_DIR/bullmq-always.json and
# OUT_DIR/bullmq-everysec.json.
#
# usage: scripts/bench-peer-bullmq.sh OUT_DIR [--smoke]
#
# Sizes: the full run uses --jobs 50000 (throughput-single: 10000) and
# --chains 5000, half of bench.js' defaults, so that both modes finish in about
# 10 minutes on 2 cores; --smoke uses bench.js' smoke sizes.
#
# Environment: BULLMQ_BENCH_ARGS  extra arguments for bench.js, after the above
#                                 (e.g. "--jobs 100000 --chains 10000" for full size)
#              BENCH_TMPDIR       where redis keeps its AOF (default: mktemp -d, i.e.
#                                 $TMPDIR or /tmp); must be a real disk, not tmpfs,
#                                 for the fsync figures to mean anything.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peer="$root/bench/peers/bullmq"

usage() { echo "usage: $0 OUT_DIR [--smoke]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out_dir="$1"; shift
sizes=(--jobs 50000 --chains 5000)
for a in "$@"; do
  case "$a" in
    --smoke) sizes=(--smoke) ;;
    *) usage ;;
  esac
done

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v redis-cli >/dev/null 2>&1 || missing="$missing redis-cli"
command -v node >/dev/null 2>&1 || missing="$missing node"
[ -d "$peer/node_modules/bullmq" ] || missing="$missing bench/peers/bullmq/node_modules"
if [ -n "$missing" ]; then
  echo "bench-peer-bullmq: missing:$missing" >&2
  echo "bench-peer-bullmq: run scripts/install-bench-deps.sh first" >&2
  exit 2
fi

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

redis_pid=""
redis_port=""
bench_pid=""
tmp=""
cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  bench_pid=""
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  redis_pid=""
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
  tmp=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local p
  for p in $(seq "$1" $(( $1 + 50 ))); do
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "bench-peer-bullmq: no free port near $1" >&2
  return 1
}

base_port=16379
start=$(date +%s)
for mode in always everysec; do
  redis_port="$(pick_port "$base_port")"
  base_port=$(( redis_port + 1 ))
  if [ -n "${BENCH_TMPDIR:-}" ]; then
    mkdir -p "$BENCH_TMPDIR"
    tmp="$(mktemp -d "$BENCH_TMPDIR/bullmq-redis.XXXXXX")"
  else
    tmp="$(mktemp -d -t bullmq-redis.XXXXXX)"
  fi
  echo "bench-peer-bullmq: redis-server appendfsync=$mode on 127.0.0.1:$redis_port dir=$tmp" >&2
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" \
    --appendonly yes --appendfsync "$mode" --save '' --daemonize no \
    --logfile "$tmp/redis.log" &
  redis_pid=$!

  ok=""
  for _ in $(seq 100); do
    if ! kill -0 "$redis_pid" 2>/dev/null; then break; fi
    if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null || true)" = "PONG" ]; then
      ok=1; break
    fi
    sleep 0.1
  done
  if [ -z "$ok" ]; then
    echo "bench-peer-bullmq: redis-server did not answer PING on port $redis_port" >&2
    [ -f "$tmp/redis.log" ] && tail -n 20 "$tmp/redis.log" >&2
    exit 1
  fi

  # In the background + wait, so that a TERM/INT to this script runs the
  # traps at once (stopping bench.js and redis) instead of after bench.js.
  # shellcheck disable=SC2086
  node "$peer/bench.js" --port "$redis_port" --mode "$mode" \
    --out "$out_dir/bullmq-$mode.json" "${sizes[@]}" ${BULLMQ_BENCH_ARGS:-} &
  bench_pid=$!
  wait "$bench_pid"
  bench_pid=""

  cleanup
done
echo "bench-peer-bullmq: done in $(( $(date +%s) - start ))s; results in $out_dir" >&2
