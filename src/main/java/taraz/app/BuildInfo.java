package taraz.app;

import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * What this build is: the project's version and the git commit it was built from, written into
 * {@code taraz-build.properties} by the build (pom.xml, exec-maven-plugin); {@code unknown} for what the build could
 * not tell (no git, or classes not built by Maven).
 */
final class BuildInfo implements CommandLine.IVersionProvider {

    static final String RESOURCE = "/taraz-build.properties";
    static final String UNKNOWN = "unknown";

    /** {@code taraz <version> (<commit>)}. */
    static String line() {
        Properties build = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                build.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        return "taraz " + known(build.getProperty("version")) + " (" + known(build.getProperty("commit")) + ")";
    }

    private static String known(String value) {
        return value == null || value.isBlank() ? UNKNOWN : value.strip();
    }

    @Override
    public String[] getVersion() {
        return new String[] {line()};
    }
}
