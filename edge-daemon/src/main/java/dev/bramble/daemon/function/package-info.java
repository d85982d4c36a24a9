/** Functions, their immutable versions and movable aliases: kept in SQLite, served from memory, deployed locally. */
package dev.bramble.daemon.function;
