/**
 * Owns the journal: the durable, append-only record of every payment state change, and reading it back for recovery and ops.
 * Must not touch the database or the flows; it stores and returns records, it never interprets or acts on them.
 */
package taraz.journal;
