/**
 * Operations: metrics, readiness phases, the start's timing, logging, the schedule of periodic rounds and the ledger watch.
 * May import ledger (the invariants it watches) and nothing above; it observes and reports, and never moves money.
 */
package taraz.ops;
