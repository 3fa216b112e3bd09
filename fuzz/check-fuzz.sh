#!/bin/bash
# make check for fuzz/: every harness replays its committed seed corpus
# (fuzz/corpus/NAME/) built with the build's own compiler and flags (under
# ASan in the ASan build); then, when clang's libFuzzer works, each harness
# is built with -fsanitize=fuzzer,address,undefined and fuzzed for a few
# seconds (FUZZ_SECONDS, default 3) on a scratch copy of its corpus.
set -u
b=${XEND_BUILDDIR:-.}
s=${XEND_SRCDIR:-${srcdir:-.}}
export XEND_CREATE_SCHEMA="$s/config/create.rng"
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $*"; }
bad()  { fail=$((fail + 1)); echo "not ok - $*"; }

# (a make that runs this test passes -w through MAKEFLAGS: "Entering directory"
# lines would be read as target names; the list is asked of a make of its own)
targets=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$b" fuzz-targets)
if ! make -s --no-print-directory -C "$b" fuzz-replay >/tmp/fuzz-replay.$$ 2>&1; then
    cat /tmp/fuzz-replay.$$; rm -f /tmp/fuzz-replay.$$
    bad "building the replay programs (make fuzz-replay)"
    echo "$pass passed, $fail failed"; exit 1
fi
rm -f /tmp/fuzz-replay.$$
for t in $targets; do
    if [ ! -d "$s/fuzz/corpus/$t" ] || [ -z "$(ls -A "$s/fuzz/corpus/$t")" ]; then
        bad "$t: no seed corpus in fuzz/corpus/$t"; continue
    fi
    if out=$("$b/fuzz/replay-$t" "$s/fuzz/corpus/$t" 2>&1); then
        ok "$t: $(echo "$out" | head -1)"
    else
        echo "$out" | tail -40; bad "$t: replaying fuzz/corpus/$t crashed or failed"
    fi
done

# A brief fuzz run when libFuzzer is available.
probe=$(mktemp -d)
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' > "$probe/p.c"
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>/dev/null; then
    echo "SKIP: the brief fuzz runs: clang with libFuzzer (-fsanitize=fuzzer) is not available"
    rm -rf "$probe"
    echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit
fi
rm -rf "$probe"
if ! make -s --no-print-directory -C "$b" fuzz >/tmp/fuzz-build.$$ 2>&1; then
    cat /tmp/fuzz-build.$$; rm -f /tmp/fuzz-build.$$
    bad "building the fuzzers (make fuzz)"
    echo "$pass passed, $fail failed"; exit 1
fi
rm -f /tmp/fuzz-build.$$
for t in $targets; do
    work=$(mktemp -d)
    cp -r "$s/fuzz/corpus/$t" "$work/corpus"
    chmod -R u+w "$work"
    if (cd "$work" && "$b/fuzz/fuzz-$t" -max_total_time="${FUZZ_SECONDS:-3}" -rss_limit_mb=2048 \
            -timeout=120 -print_final_stats=1 corpus >log 2>&1); then
        ok "$t: fuzzed ${FUZZ_SECONDS:-3} s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$') executions, no crash"
    else
        tail -60 "$work/log"; bad "$t: the fuzzer found a crash (input above; saved as $work/crash-*)"
        continue
    fi
    rm -rf "$work"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
