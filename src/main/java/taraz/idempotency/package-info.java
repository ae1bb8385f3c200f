/**
 * Idempotency keys for every money-moving request, stored in PostgreSQL with leases, and their retention.
 * It imports no other taraz package; it stores requests and answers only, and never moves money or knows a flow.
 */
package taraz.idempotency;
