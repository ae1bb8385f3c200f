/**
 * Owns the PSP simulator: a fake Zarinpal v4 bank gateway with durable state and fault injection, for tests, the bench
 * and demos. It imports only psp (the settlement report's columns, {@code SettlementCsv}); the gateway never runs it,
 * and it never touches the ledger or the journal.
 */
package taraz.pspsim;
