/**
 * The process: the command line (Main), the gateway's wiring and its start and stop sequences (Gateway).
 * The top of the graph with http: it may import every package; nothing but http imports it.
 */
package taraz.app;
