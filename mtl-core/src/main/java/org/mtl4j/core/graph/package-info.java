/** Assembly of the network's one DL4J ComputationGraph from trunk, sharing strategy and task heads. */
package org.mtl4j.core.graph;
