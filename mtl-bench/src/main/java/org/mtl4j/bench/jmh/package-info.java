/**
 * JMH benchmarks of the hot pieces, to find where the time of a step goes: {@link org.mtl4j.bench.jmh.StepBenchmark}
 * (a whole training step under each sharing strategy and gradient-level combinator, on the bench's small MLP)
 * and {@link org.mtl4j.bench.jmh.CombinatorBenchmark} (a combinator's own arithmetic on a Gram matrix).
 * Run with {@code mvn -B -q -pl mtl-bench exec:exec -Dbench.main=org.openjdk.jmh.Main -Dbench.args="StepBenchmark"}
 * (after {@code mvn -B -q install -DskipTests}); JMH's own options follow the benchmark name.
 */
package org.mtl4j.bench.jmh;
