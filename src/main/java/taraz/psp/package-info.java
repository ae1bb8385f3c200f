/**
 * The bank-gateway port and its Zarinpal v4 adapter, the payout provider port and its HTTP adapter, and the CSV of
 * their reports: protocol calls with timeouts and bounded retries.
 * It imports no other taraz package; it speaks to the PSP only, never to the ledger, the journal or the database.
 */
package taraz.psp;
