/** The training step: batch validation, masked per-task losses, and the forward/backward/update of one minibatch. */
package org.mtl4j.core.train;
