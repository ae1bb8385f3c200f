package taraz.psp;

/** The PSP could not be reached or gave no protocol answer; the call may be retried. */
public final class PspUnavailableException extends RuntimeException {
    public PspUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
