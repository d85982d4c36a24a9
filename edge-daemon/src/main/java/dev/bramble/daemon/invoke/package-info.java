/**
 * Invocation: resolves a function and qualifier, takes an environment, runs the event and writes Lambda's
 * START/END/REPORT lines. Every trigger goes through {@link dev.bramble.daemon.invoke.Invoker}.
 */
package dev.bramble.daemon.invoke;
