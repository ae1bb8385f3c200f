/**
 * The bank-gateway port and its Zarinpal v4 adapter: protocol calls with timeouts and bounded retries.
 * It imports no other taraz package; it speaks to the PSP only, never to the ledger, the journal or the database.
 */
package taraz.psp;
