package dev.tollgate.cluster.postgres;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Finalization, exactly once cluster-wide (SPEC §9).
 *
 * <h2>The claim transaction</h2>
 * One transaction: {@code SELECT … FOR UPDATE SKIP LOCKED} the open incidents whose flag is at least
 * a window old (rows another gateway is finalizing right now are skipped, never waited for), ask
 * the finalizer for each final record (the lead computes it from Redis's global series), lock the
 * head, append each final to the chain (which closes its row in the projection), commit. A second
 * claimer either skips the locked rows or, after the commit, no longer sees them open; if the
 * claimer dies before its commit, PostgreSQL rolls back and releases the rows for the next one.
 *
 * <h2>The claimer's local copy: PostgreSQL first, then the local ledger</h2>
 * The final goes into the cluster chain in the claim transaction (as a record of the claiming node
 * with no local sequence yet) and, after the commit, into the claimer's local ledger with
 * {@code clusterSeq}/{@code clusterHash} naming the chain record. When the replicator delivers that
 * local record it links it to the chain row instead of appending it again. A crash between the
 * commit and the local write loses nothing: the chain has the final, and the claimer's next start
 * writes the missing copy (see {@link Replicator}). The other order (local first, then PostgreSQL)
 * has the worse gap: a crash after the local write releases the row, another gateway finalizes the
 * same incident, and the first final later arrives as a second one for the same incident.
 */
final class Claims {
    /** At most this many incidents per claim transaction (the rest wait for the next call). */
    static final int LIMIT = 100;

    private Claims() {
    }

    static List<LedgerRecord> claimDue(DataSource pool, Replicator replicator, String nodeId, long nowMillis, long windowMillis,
            ClusterLedger.Finalizer finalizer) throws SQLException {
        List<LedgerRecord> written = new ArrayList<>();
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<ClusterLedger.OpenIncident> due = new ArrayList<>();
                try (PreparedStatement p = c.prepareStatement("SELECT entity, sequence, flagged_at, flag_count, node_id FROM incidents "
                        + "WHERE status = 'open' AND flagged_at <= ? ORDER BY flagged_at, entity LIMIT " + LIMIT
                        + " FOR UPDATE SKIP LOCKED")) {
                    p.setObject(1, ChainAppender.time(Instant.ofEpochMilli(nowMillis - windowMillis).toString()));
                    try (ResultSet r = p.executeQuery()) {
                        while (r.next()) {
                            due.add(ClusterLedger.OpenIncident.of(r));
                        }
                    }
                }
                List<ObjectNode> finals = new ArrayList<>();
                for (ClusterLedger.OpenIncident i : due) {
                    ObjectNode f = finalizer.finalRecord(i);
                    if (f == null) {
                        continue;
                    }
                    if (!i.entity().equals(f.path("entity").asText()) || i.sequence() != f.path("sequence").asLong()) {
                        throw new IllegalArgumentException("finalizer: the final record for " + i.entity() + "#" + i.sequence()
                                + " names " + f.path("entity").asText() + "#" + f.path("sequence").asText());
                    }
                    finals.add(f);
                }
                if (!finals.isEmpty()) {
                    ChainAppender.Head head = ChainAppender.lockHead(c);
                    String time = Instant.ofEpochMilli(nowMillis).toString();
                    for (ObjectNode f : finals) {
                        LedgerRecord r = ChainAppender.append(c, head, new ChainAppender.Incoming(nodeId, 0, null, "final", time, f));
                        if (!r.type().equals("final")) {
                            throw new IllegalStateException("the claimed incident " + f.path("entity").asText() + "#"
                                    + f.path("sequence").asText() + " was not open at its final: " + r.fields().path("supersededBecause"));
                        }
                        written.add(r);
                        replicator.claimedHere.add(r.seq()); // before the commit: the start-up repair must not copy it too
                    }
                    ChainAppender.storeHead(c, head);
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                written.forEach(r -> replicator.claimedHere.remove(r.seq()));
                c.rollback();
                throw e;
            }
        }
        for (LedgerRecord r : written) {
            replicator.copyLocally(r);
        }
        return written;
    }
}
