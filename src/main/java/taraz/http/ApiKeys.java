package taraz.http;

import org.apache.commons.codec.digest.DigestUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.config.Settings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * The callers' credentials: the API keys of {@code /v1/*} and the admin token. Only their
 * SHA-256 hashes are kept, so a heap dump shows no key; a presented credential is hashed and
 * compared in constant time ({@link MessageDigest#isEqual}), so the answer's timing does not
 * tell how much of a guess was right.
 */
public final class ApiKeys {

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeys.class);
    /** A generated key: 32 random bytes, base64url without padding (43 characters). */
    private static final int GENERATED_BYTES = 32;
    static final String FILE_NAME = "api-key";
    static final String ADMIN_TOKEN_FILE_NAME = "admin-token";

    private final List<byte[]> keyHashes;
    private final byte[] adminHash;

    public ApiKeys(List<String> keys, String adminToken) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("at least one API key is needed");
        }
        keys.forEach(key -> Settings.requireStrong("an API key", key));
        if (adminToken != null) {
            Settings.requireStrong("the admin token", adminToken);
        }
        this.keyHashes = keys.stream().map(DigestUtils::sha256).toList();
        this.adminHash = adminToken == null ? null : DigestUtils.sha256(adminToken);
    }

    /** Who a request's {@code Authorization} header names. */
    public enum Caller { NONE, SERVICE, ADMIN }

    public Caller caller(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) {
            return Caller.NONE;
        }
        byte[] given = DigestUtils.sha256(authorization.substring("Bearer ".length()));
        // Every hash is compared, matched or not, so the time taken does not depend on which key matched.
        boolean service = false;
        for (byte[] hash : keyHashes) {
            service |= MessageDigest.isEqual(hash, given);
        }
        boolean admin = adminHash != null && MessageDigest.isEqual(adminHash, given);
        return admin ? Caller.ADMIN : service ? Caller.SERVICE : Caller.NONE;
    }

    public boolean adminConfigured() {
        return adminHash != null;
    }

    /**
     * The key of a gateway started with none configured: read from {@code dataDir/api-key}, or
     * generated into it on the first start (mode 0600, created with that mode so no other user
     * can ever read it). The path is logged; the key never is.
     */
    public static String loadOrGenerate(Path dataDir) {
        return loadOrGenerate(dataDir, FILE_NAME, "API key", "TARAZ_API_KEYS");
    }

    /**
     * The admin token of a gateway on its embedded defaults started with none configured, kept like the generated
     * API key, in {@code dataDir/admin-token}: so that support can use the admin API on a fresh machine without
     * choosing a token, and no start of such a gateway leaves the admin API open to anyone.
     */
    public static String loadOrGenerateAdminToken(Path dataDir) {
        return loadOrGenerate(dataDir, ADMIN_TOKEN_FILE_NAME, "admin token", "TARAZ_ADMIN_TOKEN");
    }

    private static String loadOrGenerate(Path dataDir, String fileName, String what, String variable) {
        Path file = dataDir.resolve(fileName);
        try {
            Files.createDirectories(dataDir);
            if (!Files.exists(file)) {
                byte[] random = new byte[GENERATED_BYTES];
                new SecureRandom().nextBytes(random);
                String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
                Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(ownerOnly));
                    Files.writeString(file, secret + "\n", StandardCharsets.US_ASCII);
                    LOG.info("no {} configured ({}): generated one into {} (mode 0600)", what, variable, file);
                    return secret;
                } catch (FileAlreadyExistsException raced) {
                    // Another process of this data directory wrote it first: use theirs.
                }
            }
            String secret = Files.readString(file, StandardCharsets.US_ASCII).strip();
            Settings.requireStrong("the " + what + " in " + file, secret);
            LOG.info("no {} configured ({}): using the one in {}", what, variable, file);
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the " + what + " file " + file, e);
        }
    }
}
