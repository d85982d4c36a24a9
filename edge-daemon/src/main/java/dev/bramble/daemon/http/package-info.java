/**
 * The daemon's HTTP surface on one Helidon SE listener: the Lambda Invoke API, Function URLs, status, logs and
 * local deployment, with one error handler per exception type.
 */
package dev.bramble.daemon.http;
