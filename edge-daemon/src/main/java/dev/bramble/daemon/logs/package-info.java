/** Function logs: stored per function and environment stream in SQLite, capped, and queried by time. */
package dev.bramble.daemon.logs;
