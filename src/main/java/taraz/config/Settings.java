package taraz.config;

import io.vertx.core.json.JsonObject;
import taraz.db.Database;
import taraz.journal.JournalSettings;
import taraz.psp.ZarinpalPsp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every setting of a taraz process, read once at start, bound into one typed record per concern and validated: the
 * defaults in {@code conf/taraz.json} (a copy ships inside the jar, the only place a default is written), then
 * {@code ./conf/taraz.json} or the file named by {@code TARAZ_CONFIG} if present, then environment variables, then
 * flags. The file stays flat (the key {@code topupSweepBatchMax} is {@link Topups#sweepBatchMax()}); a key that no
 * record claims fails the start. The limits of the system (body size, amounts, page size, leases, queue bounds) live
 * here so that every bound has one name and one place.
 */
public final class Settings {

    /** The brief's floor for an API key or the admin token. */
    public static final int SECRET_LENGTH_MIN = 32;
    private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]{1,44}");
    private static final long DAY_SECONDS = 86_400;
    private static final long HOUR_MILLIS = 3_600_000;
    private static final long DAY_MILLIS = 86_400_000;

    /** Environment variable to setting key: the contract of the brief, plus our additions. */
    static final Map<String, String> ENVIRONMENT = Map.ofEntries(
            Map.entry("TARAZ_HTTP_HOST", "httpHost"),
            Map.entry("TARAZ_HTTP_PORT", "httpPort"),
            Map.entry("TARAZ_DATA_DIR", "dataDir"),
            Map.entry("TARAZ_PG_URL", "pgUrl"),
            Map.entry("TARAZ_PSP_URL", "pspUrl"),
            Map.entry("TARAZ_PSP_MERCHANT_ID", "pspMerchantId"),
            Map.entry("TARAZ_PAYOUT_URL", "payoutUrl"),
            Map.entry("TARAZ_PSP_ACCESS_TOKEN", "pspAccessToken"),
            Map.entry("TARAZ_PUBLIC_URL", "publicUrl"),
            Map.entry("TARAZ_DRAIN_TIMEOUT_MS", "drainTimeoutMillis"),
            Map.entry("TARAZ_READINESS_GRACE_MS", "readinessGraceMillis"),
            Map.entry("TARAZ_FAILPOINTS", "failpoints"),
            Map.entry("TARAZ_ADMIN_TOKEN", "adminToken"),
            Map.entry("TARAZ_API_KEYS", "apiKeys"),
            Map.entry("TARAZ_NODE_ID", "nodeId"),
            Map.entry("TARAZ_JOURNAL_SYNC", "journalSync"),
            Map.entry("TARAZ_PG_POOL_SIZE", "pgPoolSize"));

    /** Where the node keeps its data, how it names itself, and its secrets. */
    public record Node(String dataDir, String publicUrl, String nodeId, String adminToken, String apiKeys, String failpoints) {
        public Node {
            if (blankToNull(dataDir) == null) {
                throw new IllegalArgumentException("dataDir must be set");
            }
            if (blankToNull(adminToken) != null) {
                requireStrong("adminToken (TARAZ_ADMIN_TOKEN)", adminToken);
            }
            keys(apiKeys).forEach(key -> requireStrong("each of apiKeys (TARAZ_API_KEYS)", key));
        }
    }

    /** The shutdown sequence: readiness DOWN, this grace, then a drain of at most the timeout. */
    public record Shutdown(@Range(min = 0, max = HOUR_MILLIS) long drainTimeoutMillis,
                           @Range(min = 0, max = 600_000) long readinessGraceMillis) { }

    /**
     * The HTTP server's address and port, and its connection bounds. The address is an IP literal (never a name to
     * resolve): 0.0.0.0 (every interface, for a container) by default, 127.0.0.1 on a laptop.
     */
    public record Http(String host,
                       @Range(min = 1, max = 65_535) int port,
                       @Range(min = 1, max = 3600) int idleTimeoutSeconds,
                       @Range(min = 100, max = 600_000) long requestHeadTimeoutMillis,
                       @Range(min = 100, max = 600_000) long requestBodyTimeoutMillis,
                       @Range(min = 1024, max = 1 << 20) int headerSizeMaxBytes,
                       @Range(min = 1, max = 1_000_000) int connectionsMax) {
        public Http {
            if (ipLiteral(host) == null) {
                throw new IllegalArgumentException("httpHost (TARAZ_HTTP_HOST) must be an IP address to listen on: 0.0.0.0 "
                        + "(every interface), 127.0.0.1 (this machine only) or another address of this machine, got '" + host + "'");
            }
        }
    }

    /** What one request may carry: its body, an amount, a page. */
    public record Requests(@Range(min = 256, max = 1 << 20) long bodyLimitBytes,
                           @Range(min = 1, max = Long.MAX_VALUE / 4) long amountRialsMax,
                           @Range(min = 1, max = 10_000) int pageSizeDefault,
                           @Range(min = 1, max = 10_000) int pageSizeMax) {
        public Requests {
            if (pageSizeDefault > pageSizeMax) {
                throw new IllegalArgumentException("pageSizeDefault (" + pageSizeDefault + ") must be at most pageSizeMax ("
                        + pageSizeMax + ")");
            }
        }
    }

    /** An external PostgreSQL (none: the embedded one) and the pool to it. */
    public record Postgres(String url,
                           @Range(min = 1, max = 256) int poolSize,
                           @Range(min = 1, max = 1_000_000) int poolQueueMax) {
        public Postgres {
            url = blankToNull(url);
            if (url != null) {
                // A malformed URL, an unknown sslmode or an unreadable CA file fails the start, not the first query.
                Database.connectOptions(url);
            }
        }
    }

    /**
     * The bank (Zarinpal): where it is, our merchant id, the bound of each call, and its window: an unverified
     * payment goes back to the card, and a verified one can no longer be reversed, this long after it was made.
     */
    public record Psp(String url, String merchantId, String accessToken,
                      @Range(min = 100, max = 120_000) long timeoutMillis,
                      @Range(min = 0, max = 10) int retriesMax,
                      @Range(min = 1, max = 7 * DAY_SECONDS) long windowSeconds) {
        public Psp {
            if (merchantId == null || merchantId.length() != 36) {
                throw new IllegalArgumentException("pspMerchantId must be the 36-character merchant id the PSP issued");
            }
            if (accessToken == null || accessToken.isBlank()) {
                throw new IllegalArgumentException("pspAccessToken must be the access token of the PSP's API (its refunds)");
            }
        }
    }

    /** Idempotency keys: how long a claim is leased, how long an answer is kept, when to retry a busy key. */
    public record Idempotency(@Range(min = 1000, max = HOUR_MILLIS) long leaseMillis,
                              @Range(min = 24, max = 24 * 365) long retentionHours,
                              @Range(min = 1, max = 60) int retryAfterSeconds) { }

    /** Trip holds: their default lifetime and the sweeper that expires them. */
    public record Holds(@Range(min = 1, max = 30 * DAY_SECONDS) long ttlSecondsDefault,
                        @Range(min = 100, max = HOUR_MILLIS) long sweepIntervalMillis,
                        @Range(min = 1, max = 100_000) int sweepBatchMax) { }

    /** Top-ups: the grace before the sweeper asks the bank, and the sweeper's pace and leases. */
    public record Topups(@Range(min = 0, max = DAY_SECONDS) long callbackGraceSeconds,
                         @Range(min = 1, max = DAY_SECONDS) long createGraceSeconds,
                         @Range(min = 100, max = HOUR_MILLIS) long sweepIntervalMillis,
                         @Range(min = 1000, max = HOUR_MILLIS) long leaseMillis,
                         @Range(min = 1, max = 10_000) int sweepBatchMax,
                         @Range(min = 1, max = 64) int sweepConcurrency) { }

    /**
     * Driver payouts: the payout provider (where, the bound of each call, status calls retried this many times), the
     * sweeper's pace and leases, and how long the provider may take before a payout counts as stuck.
     */
    public record Payouts(String url,
                          @Range(min = 100, max = 120_000) long timeoutMillis,
                          @Range(min = 0, max = 10) int retriesMax,
                          @Range(min = 100, max = HOUR_MILLIS) long sweepIntervalMillis,
                          @Range(min = 1000, max = HOUR_MILLIS) long leaseMillis,
                          @Range(min = 1, max = 10_000) int sweepBatchMax,
                          @Range(min = 1, max = 64) int sweepConcurrency,
                          @Range(min = 60, max = 30 * DAY_SECONDS) long slaSeconds) {
        public Payouts {
            if (blankToNull(url) == null) {
                throw new IllegalArgumentException("payoutUrl must be the payout provider's base URL");
            }
        }
    }

    /** The rate limits of the bank's callback, by client address and in total, and the proxies trusted to name it. */
    public record Callbacks(@Range(min = 1, max = 1_000_000) long addressRatePerSecond,
                            @Range(min = 1, max = 1_000_000) long addressBurstRequests,
                            @Range(min = 1, max = 1_000_000) long totalRatePerSecond,
                            @Range(min = 1, max = 1_000_000) long totalBurstRequests,
                            @Range(min = 1, max = 10_000_000) int addressesMax,
                            List<String> trustedProxies) {
        public Callbacks {
            if (trustedProxies == null) {
                throw new IllegalArgumentException("callbackTrustedProxies must be an array of IP addresses");
            }
            trustedProxies = List.copyOf(trustedProxies);
            trustedProxyAddresses(trustedProxies);
        }

        /**
         * The load balancers whose {@code X-Forwarded-For} names the callback's client: IP literals (a name would need
         * a DNS lookup per request); none by default.
         */
        public Set<InetAddress> trustedProxyAddresses() {
            return trustedProxyAddresses(trustedProxies);
        }

        private static Set<InetAddress> trustedProxyAddresses(List<String> proxies) {
            Set<InetAddress> addresses = new HashSet<>();
            for (String proxy : proxies) {
                InetAddress address = ipLiteral(proxy);
                if (address == null) {
                    throw new IllegalArgumentException("callbackTrustedProxies: '" + proxy + "' is not an IP address");
                }
                addresses.add(address);
            }
            return addresses;
        }
    }

    /**
     * The node's periodic checks: idempotency retention; the fast checks behind the monitoring gauges (one node of
     * all runs them, every {@code checkIntervalMillis}, over at most {@code checkBatchMax} changed rows of each
     * source a round); and when a payment counts as stuck.
     */
    public record Checks(@Range(min = 1000, max = DAY_MILLIS) long housekeepingIntervalMillis,
                         @Range(min = 1000, max = 30_000) long checkIntervalMillis,
                         @Range(min = 1, max = 1_000_000) int checkBatchMax,
                         @Range(min = 0, max = DAY_SECONDS) long stuckGraceSeconds) { }

    /** The full scan of the checks (the judge of record), every {@code intervalMillis}, over the lookback. */
    public record Reconciliation(@Range(min = 1000, max = DAY_MILLIS) long intervalMillis,
                                 @Range(min = 1, max = 24 * 365) long lookbackHours,
                                 @Range(min = 1000, max = HOUR_MILLIS) long timeoutMillis) { }

    /** The journal's sync policy and bounds; see {@link JournalSettings}. */
    public record Journal(String sync,
                          @Range(min = 1, max = 10_000) long syncIntervalMillis,
                          @Range(min = 16, max = 1 << 24) int queueCapacity,
                          @Range(min = 1, max = 3650) int retentionDays) {
        public Journal {
            if (!JournalSettings.SYNC_POLICIES.contains(sync)) {
                throw new IllegalArgumentException("journalSync must be every, batch or none, got '" + sync + "'");
            }
        }
    }

    /** Payments recovery at start: the bound of one payment's step, and how many run at once. */
    public record Recovery(@Range(min = 100, max = 600_000) long stepTimeoutMillis,
                           @Range(min = 1, max = 100_000) int concurrency) { }

    /** The ledger's batch writer: commands per batch, and commands waiting before new ones are refused. */
    public record Ledger(@Range(min = 1, max = 10_000) int batchMax,
                         @Range(min = 1, max = 1_000_000) int queueMax) { }

    private final JsonObject json;
    private final Node node;
    private final Shutdown shutdown;
    private final Http http;
    private final Requests requests;
    private final Postgres pg;
    private final Psp psp;
    private final Idempotency idempotency;
    private final Holds holds;
    private final Topups topups;
    private final Payouts payouts;
    private final Callbacks callbacks;
    private final Checks checks;
    private final Reconciliation reconciliation;
    private final Journal journalOptions;
    private final Recovery recovery;
    private final Ledger ledger;

    private Settings(JsonObject json) {
        this.json = json;
        Binder binder = new Binder(json);
        node = binder.bind("", Node.class);
        shutdown = binder.bind("", Shutdown.class);
        http = binder.bind("http", Http.class);
        requests = binder.bind("", Requests.class);
        pg = binder.bind("pg", Postgres.class);
        psp = binder.bind("psp", Psp.class);
        idempotency = binder.bind("idempotency", Idempotency.class);
        holds = binder.bind("hold", Holds.class);
        topups = binder.bind("topup", Topups.class);
        payouts = binder.bind("payout", Payouts.class);
        callbacks = binder.bind("callback", Callbacks.class);
        checks = binder.bind("", Checks.class);
        reconciliation = binder.bind("reconcile", Reconciliation.class);
        journalOptions = binder.bind("journal", Journal.class);
        recovery = binder.bind("recovery", Recovery.class);
        ledger = binder.bind("ledger", Ledger.class);
        binder.refuseUnknownKeys();
        requireLongerThanPspVerify();
    }

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
                json.put(key, Binder.coerce(json.getValue(key), value, variable));
            }
        });
        flags.forEach((key, value) -> {
            if (value != null) {
                json.put(key, value);
            }
        });
        return new Settings(json);
    }

    /** One setting as {@code serve --help} lists it: its key in conf/taraz.json, its environment variable (or null), its default. */
    public record Described(String key, String environment, Object defaultValue) {}

    /** Every setting, in the order of conf/taraz.json. */
    public static List<Described> described() {
        Map<String, String> variables = new HashMap<>();
        ENVIRONMENT.forEach((variable, key) -> variables.put(key, variable));
        JsonObject defaults = readDefaults();
        return defaults.fieldNames().stream().map(key -> new Described(key, variables.get(key), defaults.getValue(key))).toList();
    }

    public static Settings defaults() {
        return load(Map.of(), Map.of());
    }

    /** A copy with some keys replaced; for tests and for commands that add their own flags. */
    public Settings with(Map<String, Object> overrides) {
        JsonObject copy = json.copy();
        overrides.forEach(copy::put);
        return new Settings(copy);
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

    /**
     * A step that may wait on a PSP verify (with its retries) must outlast it, or it gives up on a payment the bank
     * is still answering for: recovery would leave every such top-up to the sweeper.
     */
    private void requireLongerThanPspVerify() {
        long verifyMillisMax = ZarinpalPsp.retriedCallMillisMax(psp.timeoutMillis(), psp.retriesMax());
        long step = recovery.stepTimeoutMillis();
        if (step <= verifyMillisMax) {
            throw new IllegalArgumentException("recoveryStepTimeoutMillis (" + step + ") must be longer than the PSP's worst verify, "
                    + verifyMillisMax + " ms: (pspRetriesMax + 1) x 2 x pspTimeoutMillis (connect, then answer) plus the backoffs, "
                    + "with pspTimeoutMillis " + psp.timeoutMillis() + " and pspRetriesMax " + psp.retriesMax());
        }
    }

    public Shutdown shutdown() { return shutdown; }
    public Http http() { return http; }
    public Requests requests() { return requests; }
    public Postgres pg() { return pg; }
    public Psp psp() { return psp; }
    public Idempotency idempotency() { return idempotency; }
    public Holds holds() { return holds; }
    public Topups topups() { return topups; }
    public Payouts payouts() { return payouts; }
    public Callbacks callbacks() { return callbacks; }
    public Checks checks() { return checks; }
    public Reconciliation reconciliation() { return reconciliation; }
    public Recovery recovery() { return recovery; }
    public Ledger ledger() { return ledger; }

    public int httpPort() { return http.port(); }
    public String httpHost() { return http.host(); }
    public Path dataDir() { return Path.of(node.dataDir()).toAbsolutePath().normalize(); }
    public Path journalDir() { return dataDir().resolve("journal"); }
    public Path postgresDir() { return dataDir().resolve("postgres"); }
    public String pgUrl() { return pg.url(); }
    public String adminToken() { return blankToNull(node.adminToken()); }
    /** The configured API keys (comma-separated); empty when none are, and one is generated. */
    public List<String> apiKeys() { return keys(node.apiKeys()); }
    public String failpoints() { return blankToNull(node.failpoints()); }

    /** The journal under the data directory, opened as the journal settings say. */
    public JournalSettings journal() {
        return new JournalSettings(journalDir(), journalOptions.sync(), journalOptions.syncIntervalMillis(),
                journalOptions.queueCapacity(), journalOptions.retentionDays());
    }

    public String publicUrl(int boundPort) {
        String url = blankToNull(node.publicUrl());
        return url != null ? url : "http://127.0.0.1:" + boundPort;
    }

    /**
     * The node's name in the journal and in idempotency claims: configured, else host name and
     * HTTP port, which stays the same across restarts of one replica (a StatefulSet pod keeps
     * its host name), so a restarted node can recognise its own orphaned claims.
     */
    public String nodeId() {
        String id = blankToNull(node.nodeId());
        if (id != null) {
            return id;
        }
        String host = System.getenv().getOrDefault("HOSTNAME", "localhost");
        return host + ":" + httpPort();
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

    private static List<String> keys(String list) {
        String keys = blankToNull(list);
        return keys == null ? List.of() : Arrays.stream(keys.split(",", -1)).map(String::strip).toList();
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
