/** Runnable examples: each a {@code main} that delegates to a {@code run(...)} taking its sizes, smoke-tested tiny. */
package org.mtl4j.examples;
