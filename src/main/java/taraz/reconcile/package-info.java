/**
 * Reconciliation: finds half-done or doubled payments, fixes them through the flows' own steps, writes the support report,
 * and runs the gateway's checks (one replica, by an advisory lock) behind the monitoring gauges. A flow above trip and topup: may import them, ledger, journal, psp, ops, config, db, domain.
 */
package taraz.reconcile;
