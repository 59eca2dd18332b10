#!/bin/sh
# Runs one fuzz target (docs/fuzzing.md): ./run.sh profile|schedule|check_config [SECONDS]
# The corpus grows in corpus/TARGET (not committed); crashes land in artifacts/TARGET.
# Seeds: seeds/TARGET and the shipped example files themselves.
set -eu
cd "$(dirname "$0")"
target=${1:?usage: ./run.sh profile|schedule|check_config [SECONDS]}
secs=${2:-600}
case $target in
    profile) shipped=../experiments/profiles ;;
    schedule) shipped=../experiments/schedules ;;
    check_config) shipped=../experiments/profiles/check ;;
    *) echo "unknown target $target; one of profile, schedule, check_config" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target"
exec cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" "$shipped" -- \
    -dict="dicts/$target.dict" -max_total_time="$secs" -timeout=10 -print_final_stats=1
