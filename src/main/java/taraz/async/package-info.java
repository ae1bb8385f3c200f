/**
 * Small building blocks for Vert.x future composition that several flows share (bounded concurrency).
 * It knows no flow, no money and no storage, and imports nothing of taraz.
 */
package taraz.async;
