/**
 * Boot recovery: replays the journal's incomplete payments through their flows before the node is ready.
 * May import journal, ops and domain; it reaches the flows only through the resumers app gives it, never the ledger.
 */
package taraz.recovery;
