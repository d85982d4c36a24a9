/**
 * The main class of every child JVM and the wire format it speaks with the daemon: loads one AWS Lambda
 * Java handler from a bundle and runs the invocations the daemon sends over stdin/stdout frames.
 */
package dev.bramble.runtime;
