#!/usr/bin/env bash
# Fuzzes Kiln's parsers with libFuzzer + AddressSanitizer (README "Reliability").
#
#   scripts/dev/fuzz.sh SECONDS [TARGET…]     every target (or those named) for SECONDS each
#
# Builds kiln-fuzz with KILN_FUZZ=1 (Package.swift: libFuzzer coverage + ASan on Kiln's own modules and the C
# shims) in $KILN_FUZZ_SCRATCH (default .build-fuzz), then runs each target over Fuzz/corpus/<target> (read
# only: new inputs go to $KILN_FUZZ_WORK/<target>, default a temporary folder) and Fuzz/regressions/<target>,
# with Fuzz/dict/<target>.dict when
# there is one. Limits per input: 10 s, 2 GiB RSS, 1 GiB in one allocation — a hang or an unbounded
# allocation is a finding like a crash. Findings are written to Fuzz/findings/<target>-crash-… (ignored by git;
# a fixed one is copied to Fuzz/regressions/<target>/, which the tests run on every build).
# $KILN_FUZZ_JOBS targets run side by side (default: the number of cores).
# Prints one line per target: executions, executions/s, coverage (edges, features), corpus size, new inputs,
# findings; exits 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: scripts/dev/fuzz.sh SECONDS [TARGET…]}
shift
scratch=${KILN_FUZZ_SCRATCH:-.build-fuzz}
work=${KILN_FUZZ_WORK:-$(mktemp -d)}
jobs=${KILN_FUZZ_JOBS:-$(nproc)}

# libFuzzer without its own main, from the toolchain that builds (clang's runtime folder next to swiftc).
toolchain=$(dirname "$(readlink -f "$(command -v swiftc)")")/..
library=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a 2>/dev/null | head -1)
test -n "$library" || { echo "this Swift toolchain has no libFuzzer (libclang_rt.fuzzer_no_main)" >&2; exit 1; }

echo "== building kiln-fuzz (libFuzzer + AddressSanitizer) in $scratch" >&2
KILN_FUZZ=1 KILN_FUZZ_LIBRARY=$library swift build --scratch-path "$scratch" --product kiln-fuzz 2>&1 | grep -v "Cannot export local symbol" | grep -E "error|Compiling kiln_fuzz|Build complete" >&2 || true
test -x "$scratch/debug/kiln-fuzz" || { echo "kiln-fuzz did not build" >&2; exit 1; }
# Run a copy, so that a rebuild during a long campaign does not pull the binary from under it.
mkdir -p "$work"
cp "$scratch/debug/kiln-fuzz" "$work/kiln-fuzz"
bin="$work/kiln-fuzz"

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(ls Fuzz/corpus); fi
mkdir -p Fuzz/findings

fuzz_one() {
    local target=$1 seconds=$2 bin=$3 work=$4
    local log="$work/$target.log"
    mkdir -p "$work/$target"
    local dict=()
    if [ -f "Fuzz/dict/$target.dict" ]; then dict=("-dict=Fuzz/dict/$target.dict"); fi
    # Past findings run first (read only), under the same limits: a fixed bug that comes back fails at once.
    local regressions=()
    if [ -d "Fuzz/regressions/$target" ]; then regressions=("Fuzz/regressions/$target"); fi
    set +e
    # SWIFT_BACKTRACE off: the Swift backtracer reading a crashed process trips ASan and buries the real report.
    KILN_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 SWIFT_BACKTRACE=enable=no \
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="Fuzz/findings/$target-" "${dict[@]}" \
        "$work/$target" "Fuzz/corpus/$target" "${regressions[@]}" >"$log" 2>&1
    local status=$?
    set -e
    local runs cov ft corpus new found
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    new=$(grep -oE 'stat::new_units_added: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    found=$(grep -cE '^==[0-9]+==ERROR|Fatal error|fuzz property failed|ERROR: libFuzzer' "$log" || true)
    printf '%-17s %6ss %10s runs %8s/s  cov %5s  ft %6s  corpus %5s  new %5s  findings %s  exit %s\n' \
        "$target" "$seconds" "$runs" "$((runs / (seconds > 0 ? seconds : 1)))" "$cov" "$ft" "$corpus" "$new" "$found" "$status"
    if [ "$status" -ne 0 ]; then
        echo "---- $target: the end of its log ($log)" >&2
        tail -40 "$log" >&2
        return 1
    fi
}
export -f fuzz_one

printf '%s\n' "${targets[@]}" |
    xargs -P "$jobs" -I{} bash -c 'fuzz_one "$@"' _ {} "$seconds" "$bin" "$work"
