/**
 * The bank-gateway port and its Zarinpal v4 adapter: protocol calls with timeouts and bounded retries.
 * It speaks to the PSP only; it must not touch the ledger, the journal or the database.
 */
package taraz.psp;
