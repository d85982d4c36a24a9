/**
 * {@code bramble local}: a function run on this machine by the daemon's own code, in-process, with no installed
 * daemon, no keys and no root (the author's loop).
 */
package dev.bramble.daemon.local;
