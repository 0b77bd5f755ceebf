package dev.tollgate.gateway.entity;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows an API key without revealing it (SPEC §4): {@code key:} + the first 16 hex digits of its
 * HMAC-SHA-256 under a secret + {@code :} + its last four characters, e.g.
 * {@code key:3f9a0c1d2e4b5a69:ey-1}. The same key gives the same form as long as the secret stays,
 * so keep the secret file with the data directory.
 */
public final class KeyHasher {
    private static final Logger log = LoggerFactory.getLogger(KeyHasher.class);
    public static final String SECRET_ENV = "TOLLGATE_KEY_HASH_SECRET";

    private final SecretKeySpec secret;
    private final ThreadLocal<Mac> macs;
    /** Recently seen keys; a memo only, so a size bound loses nothing. */
    private final Cache<String, String> memo = Caffeine.newBuilder().maximumSize(100_000).build();

    public KeyHasher(byte[] secret) {
        if (secret.length < 16) {
            throw new IllegalArgumentException("key hash secret: " + secret.length + " bytes (expected: at least 16)");
        }
        this.secret = new SecretKeySpec(secret.clone(), "HmacSHA256");
        this.macs = ThreadLocal.withInitial(this::newMac);
    }

    /**
     * The secret from {@code file} if given, else from {@value #SECRET_ENV}, else from
     * {@code dataDir/key-hash.secret}, created with 32 random bytes (owner-only) at first start.
     */
    public static KeyHasher open(Path file, Path dataDir) throws IOException {
        if (file != null) {
            return new KeyHasher(Files.readString(file).trim().getBytes(StandardCharsets.UTF_8));
        }
        String env = System.getenv(SECRET_ENV);
        if (env != null && !env.isBlank()) {
            return new KeyHasher(env.trim().getBytes(StandardCharsets.UTF_8));
        }
        Path generated = dataDir.resolve("key-hash.secret");
        if (!Files.exists(generated)) {
            Files.createDirectories(dataDir);
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            writeOwnerOnly(generated, HexFormat.of().formatHex(random));
            log.info("generated the API key hash secret in {}; keep it with the data directory", generated);
        }
        return new KeyHasher(Files.readString(generated).trim().getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code text} to a new file readable by its owner only (where the file system allows). */
    public static void writeOwnerOnly(Path file, String text) throws IOException {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, text);
    }

    /** The shown form of {@code apiKey}. */
    public String show(String apiKey) {
        return memo.get(apiKey, this::compute);
    }

    private String compute(String apiKey) {
        byte[] h = macs.get().doFinal(apiKey.getBytes(StandardCharsets.UTF_8));
        String last4 = apiKey.length() <= 4 ? apiKey : apiKey.substring(apiKey.length() - 4);
        return "key:" + HexFormat.of().formatHex(h, 0, 8) + ":" + last4;
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(secret);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java 17 runtime", e);
        }
    }
}
