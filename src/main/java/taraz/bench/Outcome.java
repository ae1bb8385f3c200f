package taraz.bench;

/**
 * How one operation ended: ok or not, the HTTP status of its last answer (0 when none came),
 * and, when no answer came, why.
 */
record Outcome(boolean ok, int status, Failure failure) {

    /** Why an operation got no answer; NONE when it got one. */
    enum Failure { NONE, TIMEOUT, CONNECT, OTHER }

    static Outcome answered(int status, boolean ok) {
        return new Outcome(ok, status, Failure.NONE);
    }

    static Outcome failed(Throwable cause) {
        return new Outcome(false, 0, classify(cause));
    }

    private static Failure classify(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException || t.getClass().getSimpleName().contains("Timeout")) {
                return Failure.TIMEOUT;
            }
            if (t instanceof java.net.ConnectException || t.getClass().getSimpleName().contains("Connect")) {
                return Failure.CONNECT;
            }
        }
        return Failure.OTHER;
    }
}
