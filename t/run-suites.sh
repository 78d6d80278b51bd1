#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# make test's runner: runs each suite (a make target) to its end whatever
# the others did, then prints every suite's result and wall time, and
# exits non-zero when any suite failed.
#
#   t/run-suites.sh unit prove e2e fuzz asan deb-install
#
# MAKE is the make to run them with (make test passes its own, so that
# command-line variables reach the suites through MAKEFLAGS).

set -u

make=${MAKE:-make}
names=()
results=()
secs=()
failed=0
start=$(date +%s)

for suite in "$@"; do
    echo "======== make $suite"
    t0=$(date +%s)
    if $make --no-print-directory "$suite"; then
        result=ok
    else
        result=FAILED
        failed=1
    fi
    t1=$(date +%s)
    echo "======== make $suite: $result ($((t1 - t0)) s)"
    names+=("$suite")
    results+=("$result")
    secs+=($((t1 - t0)))
done

mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

echo
echo "======== make test"
for i in "${!names[@]}"; do
    printf '  %-11s %-7s %9s\n' "${names[$i]}" "${results[$i]}" \
        "$(mmss "${secs[$i]}")"
done
printf '  %-11s %-7s %9s\n' all "$([ $failed -eq 0 ] && echo ok || echo FAILED)" \
    "$(mmss $(($(date +%s) - start)))"

exit $failed
