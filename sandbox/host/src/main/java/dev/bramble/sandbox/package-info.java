/**
 * Starts child processes in containment and stops their whole tree. It takes limits, a command and an
 * environment, and knows nothing of functions or triggers.
 */
package dev.bramble.sandbox;
