/**
 * The vocabulary every flow shares: the closed set of error codes a step can be refused with (ErrorCode, DomainError).
 * It imports no other taraz package; every package may import it, and only the HTTP layer knows how a code is answered.
 */
package taraz.domain;
