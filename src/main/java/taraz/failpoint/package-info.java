/**
 * Failpoints: named crash, delay and error injection at the step boundaries of every flow.
 * It owns no state of its own beyond the parsed setting; it must not touch money or the journal.
 */
package taraz.failpoint;
