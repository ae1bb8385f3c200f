/**
 * The HTTP API of the brief: {@code Api} routes; {@code Guards} decide who may call and whether this node serves;
 * {@code Pipeline} checks each request against openapi.yaml ({@code RequestParams}, {@code RequestBodies}), then claims
 * the idempotency key, runs the step and stores its answer; {@code Responses} maps what escaped to the error shape,
 * and {@code Failure} is where alone a domain code becomes a status. May import the flows and everything below them;
 * only app imports it.
 */
package taraz.http;
