/**
 * Operations: metrics, readiness phases, the start's timing, logging, the schedule of periodic rounds.
 * May import ledger and nothing above; it observes and reports, and never moves money.
 */
package taraz.ops;
