/**
 * DL4J graph vertices of the mixing units (cross-stitch, sluice), with their parameters in the network's
 * flat parameter vector: a configuration class (serialised with the graph) and a runtime class each.
 */
package org.mtl4j.sharing.graph;
