/**
 * The domain's vocabulary shared by every flow: the closed set of error codes a step can be refused with.
 * It imports no other taraz package; everything may import it, and only taraz.http knows how a code is answered.
 */
package taraz.domain;
