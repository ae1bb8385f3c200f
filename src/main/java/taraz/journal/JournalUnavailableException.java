package taraz.journal;

/** The journal cannot take a record now (queue full, closed, or failed); the caller must not take the step. */
public final class JournalUnavailableException extends RuntimeException {
    public JournalUnavailableException(String message) {
        super(message);
    }

    public JournalUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
