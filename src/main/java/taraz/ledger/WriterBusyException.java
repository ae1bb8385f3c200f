package taraz.ledger;

/** The ledger writer refused a command without running it: its queue is full, or it is closed. A 503. */
public final class WriterBusyException extends RuntimeException {
    public WriterBusyException(String message) {
        super(message, null, false, false);
    }
}
