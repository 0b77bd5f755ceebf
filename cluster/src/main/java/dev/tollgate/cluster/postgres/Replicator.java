package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers this gateway's local ledger to the cluster chain, in order, on its own thread
 * ({@code tollgate-pg-replicator}); the request path never waits for it.
 *
 * <h2>Threads</h2>
 * The replicator thread alone reads the local file ({@link LocalTail}), talks to PostgreSQL for
 * delivery and writes {@code delivered}; any thread reads the volatile status fields. A claim on
 * another thread adds the cluster sequence of each final it wrote to {@code claimedHere}, so the
 * start-up repair below never copies a final this process is already copying.
 *
 * <h2>Resume, order, idempotence</h2>
 * At start (and after each failure) the resume point is the highest {@code local_seq} PostgreSQL
 * holds from this node, with its hash; the local record at that sequence must have that hash (a
 * node id reused with a new data directory would otherwise have its first records silently
 * skipped: the replicator refuses, says so, and stays degraded). Records go in batches, each one
 * transaction, in local order; the unique {@code (node_id, local_seq)} makes a batch that was
 * committed but whose answer was lost fail as a whole on retry, after which the resume point is
 * read again. So every record arrives once, in order, whatever fails when.
 *
 * <h2>Claimed finals</h2>
 * A final written by {@link Claims} is in the chain before its local copy exists; the copy carries
 * {@code clusterSeq}. Delivering it records its {@code local_seq} on that chain row instead of
 * appending it again. If the claimer stopped between its commit and the local copy, the first
 * catch-up after start writes the missing copies (the repair), so each claimed final ends in the
 * claimer's own ledger too, once.
 *
 * <h2>PostgreSQL down</h2>
 * Records wait in the local file (they are durable there already); the replicator retries with a
 * backoff from 100 ms to 2 s, reports {@code up=false} and since when, and delivers in order once
 * the database answers.
 */
final class Replicator implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Replicator.class);
    static final int BATCH = 200;
    private static final long POLL_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 2000;
    /** An idle replicator still checks PostgreSQL this often, so the status names a link that went down while nothing was sent. */
    private static final long HEARTBEAT_NANOS = 5_000_000_000L;

    private final DataSource pool;
    private final String nodeId;
    private final Ledger local;
    private final Clock clock;
    final Set<Long> claimedHere = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private LocalTail tail;
    private boolean repaired;
    private boolean schemaReady;
    /** When PostgreSQL last answered this thread (System.nanoTime). */
    private long lastContact = System.nanoTime();
    /** Whether a state was ever reported (the first one is logged whichever it is). */
    private boolean known;
    private volatile boolean closed;
    private volatile long delivered = -1;
    private volatile boolean up;
    private volatile Instant since;
    private volatile Instant lastDeliveredAt;
    private volatile String lastError;

    Replicator(DataSource pool, String nodeId, Ledger local, Clock clock) {
        this.pool = pool;
        this.nodeId = nodeId;
        this.local = local;
        this.clock = clock;
        this.since = clock.instant();
        this.thread = new Thread(this, "tollgate-pg-replicator");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        long backoff = 100;
        while (!closed) {
            try {
                if (!schemaReady) {
                    try (Connection c = pool.getConnection()) {
                        Schema.migrate(c);
                    }
                    schemaReady = true;
                }
                if (tail == null) {
                    resume();
                }
                deliverAll();
                if (!repaired) {
                    repair();
                    repaired = true;
                }
                if (System.nanoTime() - lastContact > HEARTBEAT_NANOS) {
                    try (Connection c = pool.getConnection()) {
                        if (!c.isValid(2)) {
                            throw new SQLException("PostgreSQL does not answer a validity check within 2 s");
                        }
                    }
                    lastContact = System.nanoTime();
                }
                changeState(true, null);
                backoff = 100;
                pause(POLL_MILLIS);
            } catch (SQLException | IOException | RuntimeException e) {
                tail = null; // read the resume point again: a batch may have committed without its answer
                changeState(false, e);
                pause(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    /** Reads the resume point and positions a new tail just after it. */
    private void resume() throws SQLException, IOException {
        long seq = 0;
        String hash = null;
        try (Connection c = pool.getConnection();
                PreparedStatement p = c.prepareStatement("SELECT local_seq, local_hash FROM ledger_record WHERE node_id = ? "
                        + "AND local_seq IS NOT NULL ORDER BY local_seq DESC LIMIT 1")) {
            p.setString(1, nodeId);
            try (ResultSet r = p.executeQuery()) {
                if (r.next()) {
                    seq = r.getLong(1);
                    hash = r.getString(2);
                }
            }
        }
        LocalTail t = new LocalTail(local.file());
        long at = 0;
        while (at < seq) {
            List<LedgerRecord> skip = t.next(seq, BATCH);
            if (skip.isEmpty()) {
                throw new IOException("PostgreSQL holds record " + seq + " of node " + nodeId + " but this gateway's local ledger "
                        + local.file() + " has only " + local.head().records() + ": is the node id " + nodeId
                        + " used by another gateway, or was the data directory replaced? Nothing is delivered until this is resolved");
            }
            LedgerRecord last = skip.get(skip.size() - 1);
            at = last.seq();
            if (at == seq && !last.hash().equals(hash)) {
                throw new IOException("record " + seq + " of node " + nodeId + " in PostgreSQL is not record " + seq + " of the local "
                        + "ledger " + local.file() + " (hashes differ): is the node id " + nodeId + " used by another gateway, or was the "
                        + "data directory replaced? Nothing is delivered until this is resolved");
            }
        }
        tail = t;
        delivered = seq;
    }

    /** Delivers the local records durable now and not yet delivered, batch by batch (each one reports the link up). */
    private void deliverAll() throws SQLException, IOException {
        long target = local.head().records();
        while (delivered < target) {
            List<LedgerRecord> batch = tail.next(target, BATCH);
            if (batch.isEmpty()) {
                return;
            }
            deliver(batch);
            lastContact = System.nanoTime();
            delivered = batch.get(batch.size() - 1).seq();
            lastDeliveredAt = clock.instant();
            changeState(true, null);
        }
    }

    private void deliver(List<LedgerRecord> batch) throws SQLException {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<String> entities = new ArrayList<>();
                batch.forEach(r -> entities.add(r.fields().path("entity").asText(null)));
                ChainAppender.lockIncidents(c, entities);
                ChainAppender.Head head = ChainAppender.lockHead(c);
                for (LedgerRecord r : batch) {
                    if (!copyOfClaim(c, r)) {
                        ChainAppender.append(c, head, ChainAppender.Incoming.of(nodeId, r));
                    }
                }
                ChainAppender.storeHead(c, head);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** True if {@code r} is the local copy of a final this node claimed, now linked to its chain row. */
    private boolean copyOfClaim(Connection c, LedgerRecord r) throws SQLException {
        long clusterSeq = r.fields().path("clusterSeq").asLong(0);
        if (clusterSeq <= 0) {
            return false;
        }
        try (PreparedStatement p = c.prepareStatement("UPDATE ledger_record SET local_seq = ?, local_hash = ? "
                + "WHERE seq = ? AND node_id = ? AND local_seq IS NULL AND hash = ?")) {
            p.setLong(1, r.seq());
            p.setString(2, r.hash());
            p.setLong(3, clusterSeq);
            p.setString(4, nodeId);
            p.setString(5, r.fields().path("clusterHash").asText());
            if (p.executeUpdate() == 1) {
                return true;
            }
        }
        log.warn("cluster ledger: local record {} says it copies cluster record {}, which is not an unlinked claim of node {}; "
                + "it goes into the chain as a record of its own", r.seq(), clusterSeq, nodeId);
        return false;
    }

    /** Writes the local copy of each final this node claimed whose copy never reached the local ledger. */
    private void repair() throws SQLException {
        List<LedgerRecord> missing = new ArrayList<>();
        try (Connection c = pool.getConnection();
                PreparedStatement p = c.prepareStatement("SELECT seq, line FROM ledger_record WHERE node_id = ? AND local_seq IS NULL "
                        + "ORDER BY seq")) {
            p.setString(1, nodeId);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    if (!claimedHere.contains(r.getLong(1))) {
                        missing.add(parse(r.getLong(1), r.getString(2)));
                    }
                }
            }
        }
        for (LedgerRecord m : missing) {
            log.warn("cluster ledger: final record {} claimed by this gateway ({}) is missing from its local ledger (it stopped "
                    + "between the claim and the copy); writing the copy now", m.seq(), nodeId);
            copyLocally(m);
        }
    }

    /** Queues the local copy of cluster record {@code r} (a claimed final) in this gateway's ledger. */
    void copyLocally(LedgerRecord r) {
        ObjectNode copy = Chain.JSON.createObjectNode();
        r.fields().fields().forEachRemaining(f -> {
            if (!Set.of("seq", "time", "type", "node", "prev", "hash").contains(f.getKey())) {
                copy.set(f.getKey(), f.getValue());
            }
        });
        copy.put("clusterSeq", r.seq());
        copy.put("clusterHash", r.hash());
        local.submit(r.type(), copy).whenComplete((done, failed) -> {
            if (failed != null) {
                log.error("cluster ledger: the local copy of final record {} (claimed by {}) was not written ({}); the next start of this "
                        + "gateway writes it", r.seq(), nodeId, failed.toString());
            }
        });
    }

    static LedgerRecord parse(long seq, String line) {
        try {
            ObjectNode body = (ObjectNode) Chain.JSON.readTree(line);
            String hash = body.path("hash").asText();
            body.remove("hash");
            return new LedgerRecord(seq, body.path("type").asText(), body.path("time").asText(), body, hash);
        } catch (IOException e) {
            throw new IllegalStateException("cluster record " + seq + " is not JSON", e);
        }
    }

    private void changeState(boolean nowUp, Exception e) {
        if (!known || nowUp != up) {
            known = true;
            since = clock.instant();
            if (nowUp) {
                log.info("cluster ledger: PostgreSQL delivery running again for node {}; delivered up to local record {}", nodeId, delivered);
            } else {
                log.warn("cluster ledger: delivery to PostgreSQL stopped ({}); local records wait in {} and are retried", ClusterLedger.describe(e),
                        local.file(), e instanceof RuntimeException ? e : null);
            }
        }
        up = nowUp;
        lastError = e == null ? null : ClusterLedger.describe(e);
    }

    private synchronized void pause(long millis) {
        if (!closed) {
            try {
                wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
        }
    }

    synchronized void wake() {
        notifyAll();
    }

    boolean up() {
        return up;
    }

    Instant since() {
        return since;
    }

    long delivered() {
        return Math.max(delivered, 0);
    }

    long pending() {
        return delivered < 0 ? local.head().records() : Math.max(0, local.head().records() - delivered);
    }

    Instant lastDeliveredAt() {
        return lastDeliveredAt;
    }

    String lastError() {
        return lastError;
    }

    void close() {
        closed = true;
        wake();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
