package taraz.ops;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's phase, which readiness reports and the API gates on. It moves one way:
 * STARTING, RECOVERING, READY, DRAINING, CLOSING. Readiness is UP only when READY; payments are
 * accepted when READY and, after a stop signal, during the DRAINING grace, so that the load
 * balancer sees readiness DOWN before the node turns anyone away; CLOSING turns new requests
 * away while those already running finish.
 */
public final class Readiness {

    public enum Phase { STARTING, RECOVERING, READY, DRAINING, CLOSING }

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.STARTING);

    public Phase phase() {
        return phase.get();
    }

    /** What /health/ready reports. */
    public boolean ready() {
        return phase.get() == Phase.READY;
    }

    /** Whether a new payment request is taken. */
    public boolean accepting() {
        Phase now = phase.get();
        return now == Phase.READY || now == Phase.DRAINING;
    }

    /** Moves forward only; a late "ready" can never undo a "draining". */
    public void advance(Phase next) {
        phase.updateAndGet(current -> next.ordinal() > current.ordinal() ? next : current);
    }
}
