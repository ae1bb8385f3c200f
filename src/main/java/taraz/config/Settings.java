package taraz.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import taraz.db.Database;
import taraz.psp.ZarinpalPsp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every setting of a taraz process, read once at start and validated: the defaults in
 * {@code conf/taraz.json} (a copy ships inside the jar), then {@code ./conf/taraz.json} or the
 * file named by {@code TARAZ_CONFIG} if present, then environment variables, then flags. The
 * limits of the system (body size, amounts, page size, leases, queue bounds) live here so that
 * every bound has one name and one place.
 */
public record Settings(JsonObject json) {

    /** The brief's floor for an API key or the admin token. */
    public static final int SECRET_LENGTH_MIN = 32;
    private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]{1,44}");

    /** Environment variable to setting key: the contract of the brief, plus our additions. */
    static final Map<String, String> ENVIRONMENT = Map.ofEntries(
            Map.entry("TARAZ_HTTP_PORT", "httpPort"),
            Map.entry("TARAZ_DATA_DIR", "dataDir"),
            Map.entry("TARAZ_PG_URL", "pgUrl"),
            Map.entry("TARAZ_PSP_URL", "pspUrl"),
            Map.entry("TARAZ_PSP_MERCHANT_ID", "pspMerchantId"),
            Map.entry("TARAZ_PUBLIC_URL", "publicUrl"),
            Map.entry("TARAZ_DRAIN_TIMEOUT_MS", "drainTimeoutMillis"),
            Map.entry("TARAZ_READINESS_GRACE_MS", "readinessGraceMillis"),
            Map.entry("TARAZ_FAILPOINTS", "failpoints"),
            Map.entry("TARAZ_ADMIN_TOKEN", "adminToken"),
            Map.entry("TARAZ_API_KEYS", "apiKeys"),
            Map.entry("TARAZ_NODE_ID", "nodeId"),
            Map.entry("TARAZ_JOURNAL_SYNC", "journalSync"),
            Map.entry("TARAZ_PG_POOL_SIZE", "pgPoolSize"));

    public static Settings load(Map<String, String> env, Map<String, Object> flags) {
        JsonObject json = readDefaults();
        Path file = Path.of(env.getOrDefault("TARAZ_CONFIG", "conf/taraz.json"));
        if (Files.isRegularFile(file)) {
            try {
                json.mergeIn(new JsonObject(Files.readString(file)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("bad JSON in " + file + ": " + e.getMessage(), e);
            }
        }
        ENVIRONMENT.forEach((variable, key) -> {
            String value = env.get(variable);
            if (value != null && !value.isBlank()) {
                json.put(key, coerce(json.getValue(key), value, variable));
            }
        });
        flags.forEach((key, value) -> {
            if (value != null) {
                json.put(key, value);
            }
        });
        Settings settings = new Settings(json);
        settings.validate();
        return settings;
    }

    public static Settings defaults() {
        return load(Map.of(), Map.of());
    }

    /** A copy with some keys replaced; for tests and for commands that add their own flags. */
    public Settings with(Map<String, Object> overrides) {
        JsonObject copy = json.copy();
        overrides.forEach(copy::put);
        Settings settings = new Settings(copy);
        settings.validate();
        return settings;
    }

    private static JsonObject readDefaults() {
        try (InputStream in = Settings.class.getResourceAsStream("/taraz.json")) {
            if (in == null) {
                throw new IllegalStateException("taraz.json missing from the classpath");
            }
            return new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Object coerce(Object current, String value, String variable) {
        if (current instanceof Number) {
            try {
                return Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(variable + " must be an integer, got '" + value + "'");
            }
        }
        return value;
    }

    private void validate() {
        requireRange("httpPort", 1, 65535);
        requireRange("pgPoolSize", 1, 256);
        requireRange("pgPoolQueueMax", 1, 1_000_000);
        requireRange("drainTimeoutMillis", 0, 3_600_000);
        requireRange("readinessGraceMillis", 0, 600_000);
        requireRange("bodyLimitBytes", 256, 1 << 20);
        requireRange("httpIdleTimeoutSeconds", 1, 3600);
        requireRange("httpRequestHeadTimeoutMillis", 100, 600_000);
        requireRange("httpRequestBodyTimeoutMillis", 100, 600_000);
        requireRange("httpHeaderSizeMaxBytes", 1024, 1 << 20);
        requireRange("httpConnectionsMax", 1, 1_000_000);
        requireRange("amountRialsMax", 1, Long.MAX_VALUE / 4);
        requireRange("pageSizeDefault", 1, longValue("pageSizeMax"));
        requireRange("pageSizeMax", 1, 10_000);
        requireRange("idempotencyLeaseMillis", 1000, 3_600_000);
        requireRange("idempotencyRetentionHours", 24, 24 * 365);
        requireRange("idempotencyRetryAfterSeconds", 1, 60);
        requireRange("holdTtlSecondsDefault", 1, 30L * 24 * 3600);
        requireRange("holdSweepIntervalMillis", 100, 3_600_000);
        requireRange("holdSweepBatchMax", 1, 100_000);
        requireRange("housekeepingIntervalMillis", 1000, 86_400_000);
        requireRange("pspTimeoutMillis", 100, 120_000);
        requireRange("pspRetriesMax", 0, 10);
        requireRange("topupWindowSeconds", 1, 7 * 86_400);
        requireRange("topupCallbackGraceSeconds", 0, 86_400);
        requireRange("topupCreateGraceSeconds", 1, 86_400);
        requireRange("topupSweepIntervalMillis", 100, 3_600_000);
        requireRange("topupSweepBatchMax", 1, 10_000);
        requireRange("topupLeaseMillis", 1000, 3_600_000);
        requireRange("topupSweepConcurrency", 1, 64);
        requireRange("callbackAddressRatePerSecond", 1, 1_000_000);
        requireRange("callbackAddressBurstRequests", 1, 1_000_000);
        requireRange("callbackTotalRatePerSecond", 1, 1_000_000);
        requireRange("callbackTotalBurstRequests", 1, 1_000_000);
        requireRange("callbackAddressesMax", 1, 10_000_000);
        callbackTrustedProxies();
        if (string("pspMerchantId") == null || string("pspMerchantId").length() != 36) {
            throw new IllegalArgumentException("pspMerchantId must be the 36-character merchant id the PSP issued");
        }
        requireRange("checkIntervalMillis", 1000, 86_400_000);
        requireRange("stuckGraceSeconds", 0, 86_400);
        requireRange("reconcileIntervalMillis", 1000, 86_400_000);
        requireRange("reconcileLookbackHours", 1, 24 * 365);
        requireRange("reconcileTimeoutMillis", 1000, 3_600_000);
        requireRange("journalSyncIntervalMillis", 1, 10_000);
        requireRange("journalQueueCapacity", 16, 1 << 24);
        requireRange("journalRetentionDays", 1, 3650);
        requireRange("recoveryStepTimeoutMillis", 100, 600_000);
        requireRange("recoveryConcurrency", 1, 100_000);
        requireLongerThanPspVerify("recoveryStepTimeoutMillis");
        requireRange("ledgerBatchMax", 1, 10_000);
        requireRange("ledgerQueueMax", 1, 1_000_000);
        String sync = string("journalSync");
        if (!"every".equals(sync) && !"batch".equals(sync) && !"none".equals(sync)) {
            throw new IllegalArgumentException("journalSync must be every, batch or none, got '" + sync + "'");
        }
        if (adminToken() != null) {
            requireStrong("adminToken (TARAZ_ADMIN_TOKEN)", adminToken());
        }
        apiKeys().forEach(key -> requireStrong("each of apiKeys (TARAZ_API_KEYS)", key));
        if (string("dataDir") == null) {
            throw new IllegalArgumentException("dataDir must be set");
        }
        if (pgUrl() != null) {
            // A malformed URL, an unknown sslmode or an unreadable CA file fails the start, not the first query.
            Database.connectOptions(pgUrl());
        }
    }

    /**
     * A step that may wait on a PSP verify (with its retries) must outlast it, or it gives up on a payment the bank
     * is still answering for: recovery would leave every such top-up to the sweeper.
     */
    private void requireLongerThanPspVerify(String key) {
        long verifyMillisMax = ZarinpalPsp.retriedCallMillisMax(longValue("pspTimeoutMillis"), intValue("pspRetriesMax"));
        if (longValue(key) <= verifyMillisMax) {
            throw new IllegalArgumentException(key + " (" + longValue(key) + ") must be longer than the PSP's worst verify, "
                    + verifyMillisMax + " ms: (pspRetriesMax + 1) x 2 x pspTimeoutMillis (connect, then answer) plus the backoffs, "
                    + "with pspTimeoutMillis "
                    + longValue("pspTimeoutMillis") + " and pspRetriesMax " + longValue("pspRetriesMax"));
        }
    }

    private void requireRange(String key, long min, long max) {
        Object value = json.getValue(key);
        if (!(value instanceof Number number) || number.doubleValue() != number.longValue()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + value);
        }
        long v = number.longValue();
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + v);
        }
    }

    public String string(String key) {
        Object value = json.getValue(key);
        return value == null ? null : value.toString();
    }

    public long longValue(String key) {
        return ((Number) json.getValue(key)).longValue();
    }

    public int intValue(String key) {
        return Math.toIntExact(longValue(key));
    }

    public int httpPort() { return intValue("httpPort"); }
    public Path dataDir() { return Path.of(string("dataDir")).toAbsolutePath().normalize(); }
    public Path journalDir() { return dataDir().resolve("journal"); }
    public Path postgresDir() { return dataDir().resolve("postgres"); }
    public String pgUrl() { return blankToNull(string("pgUrl")); }
    public String pspUrl() { return string("pspUrl"); }
    public String adminToken() { return blankToNull(string("adminToken")); }
    /** The configured API keys (comma-separated); empty when none are, and one is generated. */
    public List<String> apiKeys() {
        String keys = blankToNull(string("apiKeys"));
        return keys == null ? List.of() : Arrays.stream(keys.split(",", -1)).map(String::strip).toList();
    }
    public String failpoints() { return blankToNull(string("failpoints")); }
    public long amountRialsMax() { return longValue("amountRialsMax"); }

    /**
     * The load balancers whose {@code X-Forwarded-For} names the callback's client: IP literals
     * (a name would need a DNS lookup per request); none by default.
     */
    public Set<InetAddress> callbackTrustedProxies() {
        Object value = json.getValue("callbackTrustedProxies");
        if (!(value instanceof JsonArray array)) {
            throw new IllegalArgumentException("callbackTrustedProxies must be an array of IP addresses, got " + value);
        }
        Set<InetAddress> proxies = new HashSet<>();
        for (Object proxy : array) {
            InetAddress address = proxy instanceof String text ? ipLiteral(text) : null;
            if (address == null) {
                throw new IllegalArgumentException("callbackTrustedProxies: '" + proxy + "' is not an IP address");
            }
            proxies.add(address);
        }
        return proxies;
    }

    /**
     * An IP address written as a literal, or null. Only a dotted quad or text with a colon (which
     * the JDK parses as IPv6 and never resolves) reaches {@link InetAddress}, so no input can
     * cause a DNS lookup.
     */
    public static InetAddress ipLiteral(String text) {
        if (text == null || !IP_LITERAL.matcher(text).matches()) {
            return null;
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    public String publicUrl(int boundPort) {
        String url = blankToNull(string("publicUrl"));
        return url != null ? url : "http://127.0.0.1:" + boundPort;
    }

    /**
     * The node's name in the journal and in idempotency claims: configured, else host name and
     * HTTP port, which stays the same across restarts of one replica (a StatefulSet pod keeps
     * its host name), so a restarted node can recognise its own orphaned claims.
     */
    public String nodeId() {
        String id = blankToNull(string("nodeId"));
        if (id != null) {
            return id;
        }
        String host = System.getenv().getOrDefault("HOSTNAME", "localhost");
        return host + ":" + httpPort();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    /** At least 32 characters, printable ASCII with no space or comma (a header value, a list item). */
    public static void requireStrong(String what, String secret) {
        if (secret.length() < SECRET_LENGTH_MIN || !secret.chars().allMatch(c -> c > 0x20 && c < 0x7F && c != ',')) {
            throw new IllegalArgumentException(what + " must be at least " + SECRET_LENGTH_MIN
                    + " printable ASCII characters without spaces or commas");
        }
    }
}
