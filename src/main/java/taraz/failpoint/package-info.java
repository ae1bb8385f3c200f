/**
 * Failpoints: named crash, delay and error injection at the step boundaries of every flow.
 * It imports no other taraz package and owns no state beyond the parsed setting; it never touches money or the journal.
 */
package taraz.failpoint;
