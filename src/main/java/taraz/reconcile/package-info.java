/**
 * Reconciliation: finds half-done or doubled payments, fixes them through the flows' own steps, writes the support report,
 * and publishes the periodic counts. A flow above trip and topup: may import them, ledger, journal, psp, ops, config, db, domain.
 */
package taraz.reconcile;
