package dev.tollgate.gateway.admin;

import dev.tollgate.gateway.entity.KeyHasher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's bearer token (SPEC §7): from {@code admin.tokenFile}, else from
 * {@code TOLLGATE_ADMIN_TOKEN}, else generated at first start into {@code <dataDir>/admin.token}
 * (owner-only). The path is logged, never the token.
 */
public final class AdminToken {
    private static final Logger log = LoggerFactory.getLogger(AdminToken.class);
    public static final String ENV = "TOLLGATE_ADMIN_TOKEN";

    private final byte[] token;

    private AdminToken(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    public static AdminToken open(Path tokenFile, Path dataDir) throws IOException {
        if (tokenFile != null) {
            String t = Files.readString(tokenFile).trim();
            if (t.isEmpty()) {
                throw new IOException("admin.tokenFile: '" + tokenFile + "' is empty (expected: the admin bearer token)");
            }
            return new AdminToken(t);
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return new AdminToken(env.trim());
        }
        Path generated = dataDir.resolve("admin.token");
        if (!Files.exists(generated)) {
            Files.createDirectories(dataDir);
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            KeyHasher.writeOwnerOnly(generated, HexFormat.of().formatHex(random) + "\n");
            log.info("generated an admin API token in {} (readable by its owner only)", generated);
        } else {
            log.info("admin API token from {}", generated);
        }
        return new AdminToken(Files.readString(generated).trim());
    }

    /** True if {@code authorization} is {@code Bearer <token>}; constant time in the token. */
    public boolean accepts(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(given, token);
    }

    /** The token itself, for the demo and tests that call the admin API in process. */
    public String value() {
        return new String(token, StandardCharsets.UTF_8);
    }
}
