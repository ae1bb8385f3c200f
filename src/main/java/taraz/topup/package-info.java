/**
 * Wallet top-ups through a bank gateway: request, callback, verify, credit, the sweeper's rounds.
 * It moves money only through the ledger and talks to the bank only through the psp port.
 */
package taraz.topup;
