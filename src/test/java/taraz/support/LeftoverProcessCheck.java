package taraz.support;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

import java.io.IOException;
import java.util.List;

/**
 * The end of a test run: no child gateway of the run and no embedded PostgreSQL of a child's
 * data directory may still be running. A crash test's kill -9 orphans its child's PostgreSQL;
 * {@link GatewayProcess#close} stops it, and this check fails the run for any the tests left,
 * after stopping them. Registered in META-INF/services, so every launcher session (Surefire's
 * run) ends with it.
 */
public final class LeftoverProcessCheck implements LauncherSessionListener {

    @Override
    public void launcherSessionClosed(LauncherSession session) {
        // The shared in-process gateway is the run's own: stopped here, not left to the JVM's exit.
        TestGateway.stopShared();
        List<String> left;
        try {
            left = GatewayProcess.stopLeftovers();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot look for leftover processes", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping leftover processes", e);
        }
        if (!left.isEmpty()) {
            throw new AssertionError("the tests left " + left.size() + " process(es) of theirs running (now stopped): " + left);
        }
    }
}
