/**
 * Environments (one child JVM each, with its channel and log stream) and the per-version pools that start,
 * reuse, cap and retire them.
 */
package dev.bramble.daemon.env;
