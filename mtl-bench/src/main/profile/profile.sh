#!/usr/bin/env bash
# Profiles one bench case with async-profiler and prints where each side's step time goes, by category.
#
#   mtl-bench/src/main/profile/profile.sh CASE [BUDGET_S]      (from the repository root, after
#                                                               mvn -B -q install -DskipTests)
#
# async-profiler 3.0 comes from Maven Central (tools.profiler:async-profiler) into the local Maven repository;
# it samples Java and native frames every millisecond of CPU time (itimer, so no perf_events permission is
# needed). The collapsed stacks go to target/profile-CASE.collapsed; categories.py sums them per side. Extra
# JVM options for the bench: BENCH_JVM="...". Not part of the build or of CI.
set -euo pipefail
case_name=${1:?usage: profile.sh CASE [BUDGET_S]}
budget=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
jar="$HOME/.m2/repository/tools/profiler/async-profiler/3.0/async-profiler-3.0.jar"
[ -f "$jar" ] || mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:3.0
lib="$root/mtl-bench/target/async-profiler"
mkdir -p "$lib"
unzip -q -o "$jar" 'linux-x64/libasyncProfiler.so' -d "$lib"
out="$root/mtl-bench/target/profile-$case_name.collapsed"
cd "$root"
mvn -B -q -pl mtl-bench exec:exec \
  -Dbench.jvm="-agentpath:$lib/linux-x64/libasyncProfiler.so=start,event=itimer,interval=1ms,file=$out,collapsed ${BENCH_JVM:-}" \
  -Dbench.args="--cases $case_name --budget-s $budget --memory inproc" | grep -E '^(HEADER|RESULT|TIMING)'
python3 "$here/categories.py" "$out"
