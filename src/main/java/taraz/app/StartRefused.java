package taraz.app;

/**
 * A start refused for a reason the operator can act on (a port in use, a data directory in use): its message is the
 * one line {@code serve} prints, with no stack trace, before it exits with status 1.
 */
final class StartRefused extends Exception {

    StartRefused(String message) {
        // No stack trace: the message is the whole story, and nothing prints the frames.
        super(message, null, false, false);
    }
}
