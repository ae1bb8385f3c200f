/**
 * Trip payments: hold, settle, cancel and expire, each journaled and atomic in the ledger, and the hold sweeper.
 * May import ledger, journal, ops, failpoint and domain; it knows nothing of HTTP, and of idempotency keys only what the writer carries.
 */
package taraz.trip;
