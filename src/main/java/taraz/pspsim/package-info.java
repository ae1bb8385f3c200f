/**
 * Owns the PSP simulator: a fake Zarinpal v4 bank gateway and a payout provider, with durable state and fault
 * injection, for tests, the bench and demos. It imports only psp (the reports' codecs, {@code SettlementCsv} and
 * {@code PayoutReportCsv}, and the payout states); the gateway never runs it, and it never touches the ledger or the
 * journal.
 */
package taraz.pspsim;
