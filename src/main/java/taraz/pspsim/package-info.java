/**
 * Owns the PSP simulator: a fake Zarinpal v4 bank gateway with durable state and fault injection, for tests, the bench and demos.
 * Never used by the gateway in production code paths; it must not touch the database, the ledger or the journal.
 */
package taraz.pspsim;
