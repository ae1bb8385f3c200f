/**
 * The double-entry ledger: accounts, balanced transfers, entries, two-phase holds, and the one writer of every balance.
 * May import domain, idempotency (a key is stored with its answer) and failpoint; it knows nothing of HTTP or the flows.
 */
package taraz.ledger;
