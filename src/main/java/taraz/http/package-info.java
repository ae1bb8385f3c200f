/**
 * The HTTP API of the brief: routing, strict request validation, idempotency, error shape.
 * It calls the flows; it must not touch the database or the journal itself.
 */
package taraz.http;
