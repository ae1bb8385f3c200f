/**
 * Wallet top-ups through a bank gateway: the flow's phases (TopupService), its rows (TopupStore), the sweeper's rounds.
 * May import ledger, journal, psp, ops, failpoint and domain; it moves money only through the ledger writer.
 */
package taraz.topup;
