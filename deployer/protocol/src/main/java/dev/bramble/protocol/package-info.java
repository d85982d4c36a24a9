/**
 * The contract between authors, the deployer and devices: the function bundle, its manifest
 * ({@code function.json}) and the validation both ends apply to them.
 */
package dev.bramble.protocol;
