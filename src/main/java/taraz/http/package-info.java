/**
 * The HTTP API of the brief: routing, strict request validation, the idempotency pipeline, and the error shape, where
 * alone a domain code becomes a status (Failure). May import the flows and everything below them; only app imports it.
 */
package taraz.http;
