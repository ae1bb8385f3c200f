/**
 * Owns the journal: the durable, append-only record of every payment state change, reading it back for recovery and
 * ops, and the steps in flight to journal at the drain deadline. It imports no other taraz package and never acts on a record.
 */
package taraz.journal;
