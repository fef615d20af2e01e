/**
 * Benchmarks of mtl4j against plain DL4J: {@link org.mtl4j.bench.SideBySide}, the side-by-side timing
 * harness that trains an mtl4j network and its hand-wired DL4J twin in one JVM and reports per-step
 * medians and memory footprints.
 */
package org.mtl4j.bench;
