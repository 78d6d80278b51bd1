#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Smoke run of the load generator against a server already listening on
# 127.0.0.1:PORT (ngx_ws in `make test`; the Node reference or the C limit
# work too, the C limit without polling): a few seconds, a handful of
# connections, every mode but events once.
# Checks that everything connected and every message reached every
# subscriber; it measures nothing (the latency bound is only a sanity
# bound).  Exits non-zero on failure.
#
#   bench/smoke.sh PORT [BUILD_DIR]      (loadgen is built into BUILD_DIR)
#
# SMOKE_N (default 20) connections, SMOKE_NSP (default /chat) namespace.

set -uo pipefail

PORT=${1:?usage: bench/smoke.sh PORT [BUILD_DIR]}
BENCH=$(cd "$(dirname "$0")" && pwd)
BUILD_DIR=${2:-$(dirname "$BENCH")/build/bench}
N=${SMOKE_N:-20}
NSP=${SMOKE_NSP:-/chat}
LOADGEN=$BUILD_DIR/loadgen
CC=${CC:-cc}

mkdir -p "$BUILD_DIR" || exit 1

if [ ! -x "$LOADGEN" ] || [ "$BENCH/loadgen.c" -nt "$LOADGEN" ]; then
    $CC -O2 -Wall -Wextra -Werror -o "$LOADGEN" "$BENCH/loadgen.c" || exit 1
fi

fail=0

# check NAME JSON JS-EXPRESSION: the expression is evaluated with r bound
# to the parsed result
check() {
    if node -e '
        const r = JSON.parse(process.argv[1]);
        process.exit(eval(process.argv[2]) ? 0 : 1);
    ' "$2" "$3" 2>/dev/null; then
        echo "ok - smoke $1"
    else
        echo "not ok - smoke $1: $2"
        fail=1
    fi
}

common=(--port "$PORT" --conns "$N" --nsp "$NSP" --addrs 4 --timeout 20)

out=$("$LOADGEN" "${common[@]}" --mode connect 2>/dev/null)
check connect "$out" "r.connected === $N && r.failed === 0"

out=$("$LOADGEN" "${common[@]}" --mode hold --seconds 2 2>/dev/null)
check hold "$out" "r.connected === $N && r.closed === 0"

out=$("$LOADGEN" "${common[@]}" --mode poll --seconds 2 2>/dev/null)
check poll "$out" "r.connected === $N && r.closed === 0
    && r.poll.requests === 4 * $N"

out=$("$LOADGEN" "${common[@]}" --mode fanout --rates 5 --seconds 2 \
      --p99-ms 10000 --settle 0.5 2>/dev/null)
check fanout "$out" "r.connected === $N && r.steps.length === 1
    && r.steps[0].sent === 10 && r.steps[0].acked === 10
    && r.steps[0].received === 10 * $N && r.steps[0].pass"

exit $fail
