/**
 * Where a rank computes: the {@link dev.longbow.backend.Backend} SPI (tensor, attention and model
 * operations on one device, on one stream in program order), chosen by a
 * {@link dev.longbow.backend.BackendChoice} and found through
 * {@link dev.longbow.backend.BackendProvider} and {@link java.util.ServiceLoader}. The runtime
 * provides "cpu"; the {@code longbow-kernels-ptx} artifact provides "cuda".
 * {@link dev.longbow.backend.Backend#upload} and {@link dev.longbow.backend.Backend#download} move
 * Java arrays in and out of a backend's memory.
 */
package dev.longbow.backend;
