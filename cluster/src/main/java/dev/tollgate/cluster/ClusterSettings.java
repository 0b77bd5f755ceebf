package dev.tollgate.cluster;

import static dev.tollgate.meter.MeterConfig.format;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code cluster:} section of the configuration (SPEC §9), validated: every gateway of one
 * meter has a unique {@code nodeId}, reaches the same Redis (the live global windows) and the same
 * PostgreSQL (the records). Secrets are never part of it: passwords come from files (or the
 * environment), so the settings can go into the ledger's config record as they are.
 *
 * @param nodeId   this gateway's name in the cluster: in Redis fields, ledger records and reports
 * @param redis    where the global windows live
 * @param postgres where the cluster ledger lives
 */
public record ClusterSettings(String nodeId, Redis redis, Postgres postgres) {

    /** Longest node id: it is part of every Redis field this gateway writes. */
    public static final int MAX_NODE_ID_LENGTH = 64;

    public ClusterSettings {
        Objects.requireNonNull(redis, "cluster.redis");
        Objects.requireNonNull(postgres, "cluster.postgres");
        if (nodeId == null || nodeId.isEmpty() || nodeId.length() > MAX_NODE_ID_LENGTH || !nodeId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("cluster.nodeId: '" + nodeId + "' (expected: 1 to " + MAX_NODE_ID_LENGTH
                    + " letters, digits, '.', '_' or '-', unique per gateway)");
        }
    }

    /**
     * @param nodes                      seed nodes, {@code redis://host:port}: a Redis Cluster, or one
     *                                   plain Redis when a single node is given that is not a cluster
     * @param flushInterval              a changed entity this gateway holds no allowance for is
     *                                   shipped at least this often
     * @param nearThresholdFlushInterval entities above 80 % of the threshold are shipped this often
     * @param coldFlushInterval          how long an allowance lasts: an entity far from the
     *                                   threshold is shipped at least this often (equal to
     *                                   flushInterval: every changed entity every flush)
     * @param commandTimeout             a Redis command taking longer fails (and is retried later)
     * @param passwordFile               a file holding the Redis password (AUTH), or null
     */
    public record Redis(List<URI> nodes, Duration flushInterval, Duration nearThresholdFlushInterval, Duration coldFlushInterval,
            Duration commandTimeout, Path passwordFile) {

        /** Longest grant lifetime: an entity's counts are never older than this in Redis. */
        public static final Duration MAX_COLD_FLUSH_INTERVAL = Duration.ofMinutes(5);

        public Redis {
            nodes = List.copyOf(nodes);
            if (nodes.isEmpty()) {
                throw new IllegalArgumentException("cluster.redis.nodes: empty (expected: at least one redis://host:port)");
            }
            for (URI u : nodes) {
                checkNode(u);
            }
            positive("cluster.redis.flushInterval", flushInterval);
            positive("cluster.redis.nearThresholdFlushInterval", nearThresholdFlushInterval);
            positive("cluster.redis.commandTimeout", commandTimeout);
            positive("cluster.redis.coldFlushInterval", coldFlushInterval);
            if (flushInterval.compareTo(MAX_COLD_FLUSH_INTERVAL) > 0) {
                throw new IllegalArgumentException("cluster.redis.flushInterval: " + format(flushInterval) + " (expected: at most "
                        + format(MAX_COLD_FLUSH_INTERVAL) + ")");
            }
            if (nearThresholdFlushInterval.compareTo(flushInterval) > 0) {
                throw new IllegalArgumentException("cluster.redis.nearThresholdFlushInterval: " + format(nearThresholdFlushInterval)
                        + " (expected: at most cluster.redis.flushInterval, " + format(flushInterval) + ")");
            }
            if (coldFlushInterval.compareTo(flushInterval) < 0 || coldFlushInterval.compareTo(MAX_COLD_FLUSH_INTERVAL) > 0) {
                throw new IllegalArgumentException("cluster.redis.coldFlushInterval: " + format(coldFlushInterval)
                        + " (expected: from cluster.redis.flushInterval, " + format(flushInterval) + ", to "
                        + format(MAX_COLD_FLUSH_INTERVAL) + ")");
            }
        }

        /** A seed node's URI, checked: {@code redis://host:port}, no password in it (use passwordFile). */
        public static URI node(String text) {
            URI u;
            try {
                u = new URI(text.trim());
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("cluster.redis.nodes: '" + text + "' (expected: redis://host:port)");
            }
            checkNode(u);
            return u;
        }

        private static void checkNode(URI u) {
            if (!"redis".equalsIgnoreCase(u.getScheme()) || u.getHost() == null || u.getPort() <= 0) {
                throw new IllegalArgumentException("cluster.redis.nodes: '" + u + "' (expected: redis://host:port, e.g. redis://127.0.0.1:7001)");
            }
            if (u.getRawUserInfo() != null) {
                throw new IllegalArgumentException("cluster.redis.nodes: '" + u.getScheme() + "://…@" + u.getHost() + ":" + u.getPort()
                        + "' (expected: no password in the URL; put it in cluster.redis.passwordFile)");
            }
            if (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/")) {
                throw new IllegalArgumentException("cluster.redis.nodes: '" + u + "' (expected: redis://host:port with no path or database)");
            }
        }

        /** The password, or null when none is configured. */
        public String password() {
            return passwordFile == null ? null : readSecret("cluster.redis.passwordFile", passwordFile);
        }
    }

    /**
     * @param url          {@code jdbc:postgresql://host:port/database}
     * @param user         the database role
     * @param passwordFile a file holding the role's password; null: the environment variable
     *                     {@code TOLLGATE_PG_PASSWORD}
     */
    public record Postgres(String url, String user, Path passwordFile) {
        public static final String PASSWORD_ENV = "TOLLGATE_PG_PASSWORD";

        public Postgres {
            if (url == null || !url.startsWith("jdbc:postgresql://") || url.length() == "jdbc:postgresql://".length()) {
                throw new IllegalArgumentException("cluster.postgres.url: '" + url
                        + "' (expected: jdbc:postgresql://host:port/database, e.g. jdbc:postgresql://127.0.0.1:5432/tollgate)");
            }
            if (url.contains("password=")) {
                throw new IllegalArgumentException("cluster.postgres.url: contains a password (expected: the password in "
                        + "cluster.postgres.passwordFile or " + PASSWORD_ENV + ")");
            }
            if (user == null || user.isBlank()) {
                throw new IllegalArgumentException("cluster.postgres.user: missing (expected: the database role, e.g. tollgate)");
            }
        }

        /** The password: from {@link #passwordFile}, else from {@value #PASSWORD_ENV}; an error naming both if neither is set. */
        public String password() {
            if (passwordFile != null) {
                return readSecret("cluster.postgres.passwordFile", passwordFile);
            }
            String env = System.getenv(PASSWORD_ENV);
            if (env == null || env.isEmpty()) {
                throw new IllegalArgumentException("cluster.postgres.passwordFile: missing, and " + PASSWORD_ENV
                        + " is not set (expected: one of them, holding the password of role '" + user + "')");
            }
            return env;
        }
    }

    /** The first line of a secret file, checked to exist and be non-empty. */
    static String readSecret(String key, Path file) {
        try {
            String text = Files.readString(file).strip();
            if (text.isEmpty()) {
                throw new IllegalArgumentException(key + ": '" + file + "' is empty (expected: the password on its first line)");
            }
            return text.lines().findFirst().orElseThrow().strip();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException(key + ": '" + file + "' (expected: an existing file holding the password)");
        } catch (IOException e) {
            throw new IllegalArgumentException(key + ": '" + file + "' cannot be read (" + e.getMessage() + ")");
        }
    }

    private static void positive(String key, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(key + ": " + (d == null ? "missing" : format(d)) + " (expected: a positive duration)");
        }
    }
}
