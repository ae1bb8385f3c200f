/**
 * Idempotency keys for every money-moving request, stored in PostgreSQL with leases.
 * It stores requests and responses only; it must not move money or know any flow.
 */
package taraz.idempotency;
