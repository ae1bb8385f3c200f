/**
 * Operations: readiness phases, metrics, periodic checks and the housekeeping timers.
 * It observes and reports; it must not move money except through a flow's own step.
 */
package taraz.ops;
