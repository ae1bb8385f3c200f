/**
 * Driver payouts: the flow's phases (PayoutService), its rows (PayoutStore, PayoutRows), its ledger steps
 * (PayoutCommand), the sweeper's rounds and the IBAN rule. May import ledger, journal, psp, ops, failpoint and domain;
 * it moves money only through the ledger writer.
 */
package taraz.payout;
