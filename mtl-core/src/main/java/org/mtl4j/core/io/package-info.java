/** Persistence: the saved model file format. */
package org.mtl4j.core.io;
