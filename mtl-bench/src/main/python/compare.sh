#!/usr/bin/env bash
# mtl4j against PyTorch: ms per training step of five mtl-bench cases, with a markdown table of the medians.
#
# Usage, from anywhere in the repository:
#
#   mtl-bench/src/main/python/compare.sh [--threads N] [--cases a,b,...] [--repeats R] [--budget-s S]
#                                        [--peer-budget-s S] [--natives CLASSIFIER] [--out DIR]
#   NATIVES=linux-x86_64 mtl-bench/src/main/python/compare.sh
#
#   --threads N        OpenMP threads of the Java side (OMP_NUM_THREADS) and torch intra-/inter-op and OpenBLAS
#                      threads of the peer (default 1; 2 for the machine's two cores)
#   --cases            default: hard-mlp-small,hard-mlp-large,hard-cnn,hard-lstm,cross-stitch-4
#   --repeats R        runs of each side per case, alternating Java, peer, Java, peer, ... (default 3)
#   --budget-s S       the Java bench's --budget-s per run (default 20; a slow case takes longer, since the
#                      bench takes at least 15 timed samples a side)
#   --peer-budget-s S  the peer's --budget-s per run (default 6)
#   --natives C        the nd4j-native classifier (default: $NATIVES, else the build's linux-x86_64-onednn-avx2), passed to Maven as
#                      -Dnd4j.classifier=C when the classpath is built
#   --out DIR          where the logs and the table go (default mtl-bench/target/torch-compare-<natives>-t<N>)
#   PYTHON=...         the interpreter with torch (default /usr/bin/python3: Debian's python3-torch)
#   MVN_FLAGS=...      extra Maven flags (default -o, offline)
#
# What it does: builds mtl-bench and the modules it needs in this checkout (mvn package, no install, tests
# skipped) and writes their classpath, with the natives chosen; for each case, R times: runs
# org.mtl4j.bench.SideBySide on that case alone (--memory inproc: memory is not compared here), which times
# mtl4j against the plain DL4J graph, then torch_peer.py on the same case. Debian's torch calls the reference
# libblas.so.3, so the peer gets the OpenBLAS build that ND4J loads (org.bytedeco openblas, extracted from the
# jar on the classpath) first on LD_LIBRARY_PATH. The table gives each side's median over the R runs of the
# run's median ms/step, the ratio of the medians, the DL4J graph's ms/step from the same Java runs, the
# medians of the CPU ms/step of the timing thread (steadier than wall time on a shared machine; with
# --threads 2 it misses the worker threads), and each side's parameter count. Exit status 3 when the
# parameter counts differ or a run fails to report.
set -euo pipefail

THREADS=1
CASES=hard-mlp-small,hard-mlp-large,hard-cnn,hard-lstm,cross-stitch-4
REPEATS=3
BUDGET_S=20
PEER_BUDGET_S=6
NATIVES=${NATIVES:-linux-x86_64-onednn-avx2}
OUT=
PYTHON=${PYTHON:-/usr/bin/python3}
MVN_FLAGS=${MVN_FLAGS--o}

while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --budget-s) BUDGET_S=$2; shift 2 ;;
    --peer-budget-s) PEER_BUDGET_S=$2; shift 2 ;;
    --natives) NATIVES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
cd "$ROOT"
OUT=${OUT:-mtl-bench/target/torch-compare-$NATIVES-t$THREADS}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/runs.log"
: > "$LOG"

echo "building mtl-bench with natives $NATIVES ..." >&2
# shellcheck disable=SC2086
mvn -B -q $MVN_FLAGS package dependency:build-classpath -DskipTests -Dmaven.javadoc.skip=true -pl mtl-bench -am \
  -Dnd4j.classifier="$NATIVES" -Dmdep.outputFile="$OUT/classpath.txt" >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log" >&2; exit 1; }
CP="$ROOT/mtl-bench/target/classes:$(cat "$OUT/classpath.txt")"
case ":$CP:" in
  *"nd4j-native-"*"-$NATIVES.jar"*) ;;
  *) echo "the classpath has no nd4j-native jar for $NATIVES" >&2; exit 1 ;;
esac

# OpenBLAS for torch: the same build ND4J's linux-x86_64 natives load
BLAS_DIR="$OUT/torch-blas"
OPENBLAS_JAR=$(tr ':' '\n' < "$OUT/classpath.txt" | grep -E '/openblas-[^/]*-linux-x86_64\.jar$' | head -1 || true)
if [ -n "$OPENBLAS_JAR" ]; then
  rm -rf "$BLAS_DIR" && mkdir -p "$BLAS_DIR"
  unzip -q -o -j "$OPENBLAS_JAR" 'org/bytedeco/openblas/linux-x86_64/*.so*' -d "$BLAS_DIR"
  ln -sf libopenblas.so.0 "$BLAS_DIR/libblas.so.3"
  ln -sf libopenblas.so.0 "$BLAS_DIR/liblapack.so.3"
  PEER_LD="$BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  echo "WARNING no org.bytedeco openblas jar on the classpath: the peer uses the system's libblas.so.3" >&2
  PEER_LD="${LD_LIBRARY_PATH:-}"
fi

java_run() {
  OMP_NUM_THREADS=$THREADS SPARK_LOCAL_IP=127.0.0.1 java -Xms2g -Xmx2g -XX:+AlwaysPreTouch \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" org.mtl4j.bench.SideBySide \
    --cases "$1" --budget-s "$BUDGET_S" --memory inproc
}

peer_run() {
  OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS LD_LIBRARY_PATH="$PEER_LD" \
    "$PYTHON" "$HERE/torch_peer.py" --cases "$1" --threads "$THREADS" --budget-s "$PEER_BUDGET_S"
}

# the value of key=value in the first line of $2 matching $1
field() { { grep -E "$1" "$2" || true; } | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "NA"; else if (NR % 2) print v[(NR+1)/2];
  else printf "%.3f\n", (v[NR/2] + v[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f\n", a / b}'; }

status=0
IFS=',' read -r -a case_list <<< "$CASES"
ROWS=()
for c in "${case_list[@]}"; do
  : > "$OUT/$c.peer" ; : > "$OUT/$c.mtl" ; : > "$OUT/$c.dl4j" ; : > "$OUT/$c.peer-cpu" ; : > "$OUT/$c.mtl-cpu"
  for r in $(seq 1 "$REPEATS"); do
    echo "$c run $r/$REPEATS: java ..." >&2
    java_run "$c" > "$OUT/$c.java.$r.txt" 2>&1 || true
    echo "$c run $r/$REPEATS: peer ..." >&2
    peer_run "$c" > "$OUT/$c.peer.$r.txt" 2>&1 || true
    cat "$OUT/$c.java.$r.txt" "$OUT/$c.peer.$r.txt" >> "$LOG"
    j="$OUT/$c.java.$r.txt"; p="$OUT/$c.peer.$r.txt"
    field "^RESULT $c " "$j" mtl4j_ms >> "$OUT/$c.mtl"
    field "^RESULT $c " "$j" baseline_ms >> "$OUT/$c.dl4j"
    field "^TIMING $c side=mtl4j " "$j" thread_cpu_median >> "$OUT/$c.mtl-cpu"
    field "^PEER case=$c " "$p" ms_per_step >> "$OUT/$c.peer"
    field "^PEER case=$c " "$p" thread_cpu_ms >> "$OUT/$c.peer-cpu"
    mtl_params=$(field "^CHECK $c " "$j" params)
    peer_params=$(field "^PEER case=$c " "$p" params)
    if [ -z "$mtl_params" ] || [ -z "$peer_params" ]; then
      echo "ERROR $c run $r: a side did not report (see $j and $p)" >&2; status=3
    elif [ "$mtl_params" != "$peer_params" ]; then
      echo "ERROR $c: mtl4j has $mtl_params parameters, the PyTorch peer $peer_params" >&2; status=3
    fi
  done
  pt=$(median < "$OUT/$c.peer"); mt=$(median < "$OUT/$c.mtl"); dl=$(median < "$OUT/$c.dl4j")
  pc=$(median < "$OUT/$c.peer-cpu"); mc=$(median < "$OUT/$c.mtl-cpu")
  ROWS+=("| $c | $pt | $mt | $(ratio "$mt" "$pt") | $dl | $pc | $mc | $(ratio "$mc" "$pc") | ${mtl_params:-?} / ${peer_params:-?} |")
done

{
  echo "$(grep -m1 '^HEADER' "$LOG" || true)"
  echo "$(grep -m1 '^PEER-HEADER' "$LOG" || true)"
  echo
  echo "threads=$THREADS natives=$NATIVES repeats=$REPEATS java --budget-s $BUDGET_S, peer --budget-s $PEER_BUDGET_S"
  echo
  echo "| case | PyTorch ms/step | mtl4j ms/step | mtl4j / PyTorch | DL4J graph ms/step | PyTorch CPU ms/step | mtl4j CPU ms/step | CPU mtl4j / PyTorch | params mtl4j / PyTorch |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/table.md"
exit $status
