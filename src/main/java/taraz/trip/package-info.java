/**
 * Trip payments: hold, settle, cancel and expire, each journaled and atomic in the ledger.
 * It moves money only through the ledger; it knows nothing of HTTP or idempotency keys.
 */
package taraz.trip;
