package dev.tollgate.cluster.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster ledger's schema: plain versioned SQL files ({@code db/V<n>__<name>.sql} next to this
 * class), applied in order at start. Several gateways start at once, so the whole migration runs in
 * one transaction that first takes a transaction-level advisory lock: the second gateway waits for
 * the first to commit, then finds {@code schema_version} up to date and applies nothing. A file
 * that fails rolls everything of that start back (a half-applied version never stays).
 */
final class Schema {
    private static final Logger log = LoggerFactory.getLogger(Schema.class);
    /** The advisory lock key of migrations ("tollgate" in ASCII, as a number). */
    static final long LOCK = 0x746f6c6c67617465L;
    /** The versions, in order; the file of version n is {@code db/V<n>__<name>.sql}. */
    static final List<String> FILES = List.of("V1__ledger.sql");

    private Schema() {
    }

    /** The latest version this code knows. */
    static int latest() {
        return FILES.size();
    }

    /** Applies the versions the database lacks; returns how many were applied. */
    static int migrate(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(" + LOCK + ")");
            s.execute("CREATE TABLE IF NOT EXISTS schema_version (version int PRIMARY KEY, name text NOT NULL, "
                    + "applied_at timestamptz NOT NULL DEFAULT now())");
            int have = current(c);
            if (have > latest()) {
                throw new SQLException("the cluster ledger's schema is at version " + have + ", newer than this Tollgate knows ("
                        + latest() + "): upgrade this gateway");
            }
            int applied = 0;
            for (int v = have + 1; v <= latest(); v++) {
                String name = FILES.get(v - 1);
                s.execute(sql(name));
                try (PreparedStatement p = c.prepareStatement("INSERT INTO schema_version (version, name) VALUES (?, ?)")) {
                    p.setInt(1, v);
                    p.setString(2, name);
                    p.executeUpdate();
                }
                applied++;
            }
            c.commit();
            if (applied > 0) {
                log.info("cluster ledger: schema now at version {} ({} applied)", latest(), applied);
            }
            return applied;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** The version the database is at (0 when it has none). */
    static int current(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT coalesce(max(version), 0) FROM schema_version")) {
            r.next();
            return r.getInt(1);
        }
    }

    /** True if the database has a {@code schema_version} table (a Tollgate ledger, perhaps empty). */
    static boolean present(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT to_regclass('schema_version') IS NOT NULL")) {
            r.next();
            return r.getBoolean(1);
        }
    }

    private static String sql(String name) {
        try (InputStream in = Schema.class.getResourceAsStream("db/" + name)) {
            if (in == null) {
                throw new IllegalStateException("schema file db/" + name + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
