/**
 * The double-entry ledger: accounts, immutable balanced transfers, entries and two-phase holds.
 * It owns every write to a balance; it knows nothing of HTTP, the journal or payment flows.
 */
package taraz.ledger;
