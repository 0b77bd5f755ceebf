package dev.tollgate.cluster.postgres;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The cluster ledger in PostgreSQL (SPEC §9): one SHA-256 chain of every gateway's records, the
 * incidents projection that allows one open incident per entity, and finalization exactly once.
 *
 * <p>A gateway {@link #start}s one: it applies the schema ({@link Schema}) and runs the
 * {@link Replicator}, which delivers the gateway's local ledger (written first, its own evidence)
 * in order, retrying while PostgreSQL is down; nothing here is on the request path. The lead calls
 * {@link #claimDue} to finalize due incidents ({@link Claims}), and reads {@link #records()} for
 * reports and {@code /api/v1/incidents}: the records are in the local ledger's JSON shape, so
 * {@code DamageReport.fromLedger} and {@code IncidentHistory.of} read them unchanged, and give the
 * same answer on every gateway. The command line uses {@link #openReadOnly} (no replicator, no
 * schema change) for {@code tollgate report} and {@code tollgate verify-ledger}.
 *
 * <p>Each cluster record is the local record with the chain's own {@code seq}, {@code prev} and
 * {@code hash}, plus {@code node} (the gateway it came from) and {@code localSeq}/{@code localHash}
 * (its place in that gateway's ledger: the two chains can be checked against each other); a record
 * the projection refused is stored with type {@code superseded} (see {@link ChainAppender}).
 */
public final class ClusterLedger implements AutoCloseable {
    /** Where the ledger lives. The password comes resolved (from {@code passwordFile} or {@code TOLLGATE_PG_PASSWORD}). */
    public record Settings(String url, String user, String password) {
        public Settings {
            Objects.requireNonNull(url, "url");
            if (!url.startsWith("jdbc:postgresql://")) {
                throw new IllegalArgumentException("cluster.postgres.url: '" + url + "' (expected: jdbc:postgresql://HOST:PORT/DATABASE)");
            }
            if (user == null || user.isBlank()) {
                throw new IllegalArgumentException("cluster.postgres.user: missing (expected: the PostgreSQL role Tollgate logs in as)");
            }
        }

        @Override
        public String toString() {
            return "Settings[url=" + url + ", user=" + user + ", password=" + (password == null ? "none" : "****") + "]";
        }
    }

    /** An open incident, as the lead needs it to finalize. */
    public record OpenIncident(String entity, long sequence, Instant flaggedAt, long flagCount, String nodeId) {
        static OpenIncident of(ResultSet r) throws SQLException {
            return new OpenIncident(r.getString(1), r.getLong(2), r.getObject(3, OffsetDateTime.class).toInstant(), r.getLong(4),
                    r.getString(5));
        }

        /** {@code entity#sequence}, as the records name it. */
        public String incidentId() {
            return entity + "#" + sequence;
        }
    }

    /**
     * Delivery of this gateway's records: {@code up} (the last attempt reached PostgreSQL) and
     * {@code since} when it is so; {@code pending} local records not yet delivered;
     * {@code lastDelivered} the local sequence PostgreSQL holds last, at {@code lastDeliveredAt}
     * (null before any delivery by this process); {@code lastError} while down.
     */
    public record Status(boolean up, Instant since, long pending, long lastDelivered, Instant lastDeliveredAt, String lastError) {
    }

    /** Computes an incident's final record (a damage period with {@code status: "final"}); null to leave it open for now. */
    @FunctionalInterface
    public interface Finalizer {
        ObjectNode finalRecord(OpenIncident incident);
    }

    private final HikariDataSource pool;
    private final String nodeId;
    private final Replicator replicator;
    private final ChainReader reader;

    private ClusterLedger(HikariDataSource pool, String nodeId, Replicator replicator) {
        this.pool = pool;
        this.reader = new ChainReader(pool);
        this.nodeId = nodeId;
        this.replicator = replicator;
    }

    /**
     * Starts the cluster ledger of gateway {@code nodeId}: a small pool, the schema (applied by the
     * replicator thread once PostgreSQL answers, so a gateway starts while it is down) and the
     * replicator of {@code local}. Returns at once; {@link #status()} says how delivery goes.
     */
    public static ClusterLedger start(Settings settings, String nodeId, Ledger local, Clock clock) {
        if (nodeId == null || nodeId.isBlank()) {
            throw new IllegalArgumentException("cluster.nodeId: missing (expected: a name unique among the gateways)");
        }
        HikariDataSource pool = pool(settings, nodeId, 4);
        Replicator r = new Replicator(pool, nodeId, local, clock);
        r.start();
        return new ClusterLedger(pool, nodeId, r);
    }

    /**
     * Opens the ledger to read only (the command line): no replicator, no schema change.
     *
     * @throws SQLException if PostgreSQL cannot be reached, or the database holds no Tollgate ledger
     */
    public static ClusterLedger openReadOnly(Settings settings) throws SQLException {
        HikariDataSource pool = pool(settings, "read-only", 2);
        try (Connection c = pool.getConnection()) {
            if (!Schema.present(c) || Schema.current(c) < 1) {
                throw new SQLException("cluster.postgres.url: " + settings.url() + " holds no Tollgate cluster ledger (no schema_version "
                        + "table; a gateway creates it at its first start)");
            }
        } catch (java.sql.SQLTransientConnectionException e) {
            pool.close();
            throw new SQLException("cluster.postgres.url: cannot reach " + settings.url() + " as " + settings.user() + ": " + describe(e), e);
        } catch (SQLException | RuntimeException e) {
            pool.close();
            throw e;
        }
        return new ClusterLedger(pool, null, null);
    }

    private static HikariDataSource pool(Settings s, String nodeId, int size) {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(s.url());
        cfg.setUsername(s.user());
        cfg.setPassword(s.password());
        cfg.setPoolName("tollgate-pg-" + nodeId);
        cfg.setMaximumPoolSize(size);
        cfg.setMinimumIdle(1);
        cfg.setConnectionTimeout(2000);
        cfg.setValidationTimeout(1000);
        cfg.setInitializationFailTimeout(-1); // start while PostgreSQL is down; connections come when it answers
        cfg.addDataSourceProperty("connectTimeout", "2");
        cfg.addDataSourceProperty("socketTimeout", "60");
        cfg.addDataSourceProperty("tcpKeepAlive", "true");
        cfg.addDataSourceProperty("reWriteBatchedInserts", "true"); // a batch of appended records as multi-row inserts
        cfg.addDataSourceProperty("ApplicationName", "tollgate " + nodeId);
        // a statement never hangs a thread; a claimer that stalls inside its transaction releases its rows
        cfg.addDataSourceProperty("options", "-c statement_timeout=30000 -c lock_timeout=30000 "
                + "-c idle_in_transaction_session_timeout=60000");
        return new HikariDataSource(cfg);
    }

    /**
     * Finalizes the open incidents whose flag is at least {@code windowMillis} before
     * {@code nowMillis}, each exactly once cluster-wide (see {@link Claims}): {@code finalizer} is
     * called for each incident this gateway won, inside the claim transaction.
     *
     * @return the final records written to the cluster chain by this call (tell Redis {@code close} for each)
     */
    public List<LedgerRecord> claimDue(long nowMillis, long windowMillis, Finalizer finalizer) throws SQLException {
        requireWriter();
        return Claims.claimDue(pool, replicator, nodeId, nowMillis, windowMillis, finalizer);
    }

    /** The open incidents, oldest flag first. */
    public List<OpenIncident> openIncidents() throws SQLException {
        List<OpenIncident> out = new ArrayList<>();
        try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT entity, sequence, flagged_at, flag_count, node_id FROM incidents "
                        + "WHERE status = 'open' ORDER BY flagged_at, entity")) {
            while (r.next()) {
                out.add(OpenIncident.of(r));
            }
        }
        return out;
    }

    /**
     * The records of the cluster chain, in order, for reports and {@code IncidentHistory}: read once
     * and then extended with what was appended since (each new record checked against the chain; at
     * a record that does not follow, the records before it). {@link #verify()} checks everything.
     */
    public List<LedgerRecord> records() throws SQLException {
        return reader.records();
    }

    /**
     * Checks the whole chain: every record's hash recomputed from its text, its sequence and prev,
     * the table's columns against the text, and the head row against the last record.
     * {@code badLine} is the position (sequence) of the first bad record, 0 when sound;
     * {@code records} the sound ones before it; {@code head()} their head.
     */
    public LedgerVerification verify() throws SQLException {
        return Verifier.verify(pool);
    }

    /** How delivery of this gateway's records goes. */
    public Status status() {
        requireWriter();
        return new Status(replicator.up(), replicator.since(), replicator.pending(), replicator.delivered(), replicator.lastDeliveredAt(),
                replicator.lastError());
    }

    /** Asks the replicator to look for new local records now rather than at its next poll. */
    public void wake() {
        if (replicator != null) {
            replicator.wake();
        }
    }

    /**
     * One line for a failure: the pool's "connection is not available" names its cause (refused,
     * authentication failed, unknown database), which is what an operator needs.
     */
    static String describe(Throwable e) {
        Throwable t = e;
        while (t instanceof java.sql.SQLTransientConnectionException && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null ? t.toString() : m.lines().findFirst().orElse(m);
    }

    private void requireWriter() {
        if (replicator == null) {
            throw new IllegalStateException("the cluster ledger was opened read-only");
        }
    }

    /** Stops the replicator (what is not delivered waits in the local ledger) and closes the pool. */
    @Override
    public void close() {
        if (replicator != null) {
            replicator.close();
        }
        pool.close();
    }
}
