/**
 * The benchmark harness: measures a real brambled against floors taken in the same run and prints the table of
 * the developers' brief.
 */
package dev.bramble.bench;
