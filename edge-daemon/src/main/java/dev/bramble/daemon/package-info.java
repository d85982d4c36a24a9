/**
 * brambled's composition root, command line and configuration. The daemon's parts live in sub-packages by
 * feature: {@code function} (registry and deploy), {@code env} (environments and pools), {@code invoke},
 * {@code logs} and {@code http}.
 */
package dev.bramble.daemon;
