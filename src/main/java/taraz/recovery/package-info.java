/**
 * Boot recovery: replays the journal's incomplete payments through their flows before ready.
 * It finishes work only through the flows' own steps; it never writes the ledger itself.
 */
package taraz.recovery;
