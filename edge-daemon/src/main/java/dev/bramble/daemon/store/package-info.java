/** The daemon's SQLite database: opening it in WAL mode and migrating its schema. */
package dev.bramble.daemon.store;
