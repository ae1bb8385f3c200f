/**
 * The one wiring of the money flows ({@link taraz.wiring.Flows}): the ledger, its batched writer, trips and top-ups,
 * built from the settings for every process that moves money (the gateway, and {@code reconcile --apply}). It may
 * import the flows (trip, topup) and everything below them; only app and reconcile import it.
 */
package taraz.wiring;
