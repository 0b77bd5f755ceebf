package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * Appends records to the cluster chain and keeps the incidents projection, inside the caller's
 * transaction.
 *
 * <h2>Locks, always in this order: incident rows, then the head</h2>
 * A caller first locks the incident rows of every entity its records touch
 * ({@link #lockIncidents}, sorted by entity and sequence), then the head row
 * ({@link #lockHead}), appends, {@link #storeHead} and commits. A claim holds incident rows taken
 * with SKIP LOCKED (it never waits for one) and then waits for the head; whoever holds the head
 * waits for nothing. So no two appenders wait for each other in a cycle, and a flag for an entity
 * whose open incident is being finalized waits for that claim to commit instead of being judged a
 * duplicate of an incident that is about to close.
 *
 * <h2>Which records count: "superseded"</h2>
 * Every record delivered goes into the chain; nothing a gateway wrote is dropped. A record the
 * projection refuses goes in with type {@code superseded}, its own type in {@code supersededType}
 * and the reason in {@code supersededBecause}; the reports (which read only {@code flag},
 * {@code provisional} and {@code final}) then count each incident once. The rules:
 * <ul>
 * <li>{@code flag}: opens the incident unless the entity has one open, or that (entity, sequence)
 * exists — {@code INSERT … ON CONFLICT DO NOTHING} on the primary key and the partial unique index
 * {@code incidents_one_open}; the database, not a check before it, decides.
 * <li>{@code provisional}: counts while its incident is open and came from the same gateway's flag
 * (the flagging gateway keeps an incident's provisional updates; those of a superseded flag, made
 * from one gateway's share of the traffic, would replace the real figures in a report).
 * <li>{@code final}: closes its open incident; a final for an incident already final is superseded
 * (exactly one final per incident counts); a final for an incident the cluster has never seen (a
 * gateway's history from before it joined) records the incident as final.
 * </ul>
 * Rejecting the duplicate instead (keeping it out of the chain) would lose a gateway's record, and
 * the chain would no longer hold everything each gateway's own ledger holds; rewriting the earlier
 * record is impossible in a hash chain. Marking it keeps both properties.
 */
final class ChainAppender {
    /** Members the chain writes itself; a record's own members of these names are not copied. */
    private static final Set<String> RESERVED = Set.of("seq", "time", "type", "prev", "hash", "node", "localSeq", "localHash",
            "supersededType", "supersededBecause");

    /**
     * The chain's head, as locked: the last sequence and hash; and the records appended after it in
     * this transaction, sent as one batch by {@link #storeHead} (one round trip, not one per record).
     */
    static final class Head {
        long seq;
        String hash;
        PreparedStatement inserts;
    }

    /**
     * A record to append: {@code type}, {@code time} (ISO instant) and {@code fields} from node
     * {@code nodeId}'s local ledger at {@code localSeq} with {@code localHash}, or written by the
     * cluster itself (a claimed final: localSeq 0, localHash null).
     */
    record Incoming(String nodeId, long localSeq, String localHash, String type, String time, ObjectNode fields) {
        static Incoming of(String nodeId, LedgerRecord local) {
            return new Incoming(nodeId, local.seq(), local.hash(), local.type(), local.time(), local.fields());
        }

        String entity() {
            return fields.path("entity").asText(null);
        }
    }

    private ChainAppender() {
    }

    /** Locks every incident row of {@code entities}, in a fixed order (see the class comment). */
    static void lockIncidents(Connection c, Collection<String> entities) throws SQLException {
        Set<String> sorted = new TreeSet<>();
        entities.forEach(e -> {
            if (e != null) {
                sorted.add(e);
            }
        });
        if (sorted.isEmpty()) {
            return;
        }
        try (PreparedStatement p = c.prepareStatement(
                "SELECT 1 FROM incidents WHERE entity = ANY (?) ORDER BY entity, sequence FOR UPDATE")) {
            p.setArray(1, c.createArrayOf("text", sorted.toArray()));
            p.executeQuery().close();
        }
    }

    /** Locks the head row (serializing appends cluster-wide) and reads it. */
    static Head lockHead(Connection c) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE");
                ResultSet r = p.executeQuery()) {
            if (!r.next()) {
                throw new SQLException("the cluster ledger has no head row (table ledger_head): the schema was altered");
            }
            Head h = new Head();
            h.seq = r.getLong(1);
            h.hash = r.getString(2);
            h.inserts = c.prepareStatement("INSERT INTO ledger_record (seq, type, recorded_at, node_id, local_seq, local_hash, prev, "
                    + "hash, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
            return h;
        }
    }

    /** Sends the records appended after the head was locked and stores the new head. */
    static void storeHead(Connection c, Head h) throws SQLException {
        try (PreparedStatement batch = h.inserts) {
            batch.executeBatch();
        }
        try (PreparedStatement p = c.prepareStatement("UPDATE ledger_head SET seq = ?, hash = ? WHERE id = 1")) {
            p.setLong(1, h.seq);
            p.setString(2, h.hash);
            p.executeUpdate();
        }
    }

    /** Appends {@code in} after {@code head} (advancing it) and applies it to the incidents projection. */
    static LedgerRecord append(Connection c, Head head, Incoming in) throws SQLException {
        long seq = head.seq + 1;
        String refused = project(c, seq, in);
        ObjectNode body = Chain.JSON.createObjectNode();
        body.put("seq", seq);
        body.put("time", in.time());
        body.put("type", refused == null ? in.type() : "superseded");
        body.put("node", in.nodeId());
        if (in.localSeq() > 0) {
            body.put("localSeq", in.localSeq());
            body.put("localHash", in.localHash());
        }
        if (refused != null) {
            body.put("supersededType", in.type());
            body.put("supersededBecause", refused);
        }
        in.fields().fields().forEachRemaining(f -> {
            if (!RESERVED.contains(f.getKey())) {
                body.set(f.getKey(), f.getValue());
            }
        });
        body.put("prev", head.hash);
        String line = Chain.seal(body);
        String hash = Chain.hashOf(line);
        PreparedStatement p = head.inserts;
        p.setLong(1, seq);
        p.setString(2, body.path("type").asText());
        p.setObject(3, time(in.time()));
        p.setString(4, in.nodeId());
        if (in.localSeq() > 0) {
            p.setLong(5, in.localSeq());
            p.setString(6, in.localHash());
        } else {
            p.setNull(5, Types.BIGINT);
            p.setNull(6, Types.CHAR);
        }
        p.setString(7, head.hash);
        p.setString(8, hash);
        p.setString(9, line);
        p.addBatch();
        head.seq = seq;
        head.hash = hash;
        return new LedgerRecord(seq, body.path("type").asText(), in.time(), body, hash);
    }

    /** Applies {@code in} (to be record {@code seq}) to the projection; null if it counts, else why it is superseded. */
    private static String project(Connection c, long seq, Incoming in) throws SQLException {
        String type = in.type();
        if (!type.equals("flag") && !type.equals("provisional") && !type.equals("final")) {
            return null;
        }
        ObjectNode f = in.fields();
        String entity = in.entity();
        long sequence = f.path("sequence").asLong(0);
        if (entity == null || sequence <= 0 || !f.hasNonNull("flaggedAt")) {
            return "a " + type + " record without entity, sequence and flaggedAt";
        }
        Existing row = existing(c, entity, sequence);
        switch (type) {
            case "flag" -> {
                try (PreparedStatement p = c.prepareStatement("INSERT INTO incidents (entity, sequence, status, flagged_at, flag_count, "
                        + "node_id, flag_seq) VALUES (?, ?, 'open', ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                    p.setString(1, entity);
                    p.setLong(2, sequence);
                    p.setObject(3, time(f.path("flaggedAt").asText()));
                    p.setLong(4, f.path("flagCount").asLong());
                    p.setString(5, in.nodeId());
                    p.setLong(6, seq);
                    if (p.executeUpdate() == 1) {
                        return null;
                    }
                }
                if (row != null) {
                    return "incident " + entity + "#" + sequence + " already exists (" + row.status + ", flagged by " + row.node + ")";
                }
                Existing open = open(c, entity);
                return "entity " + entity + " already has an open incident"
                        + (open == null ? "" : " (" + entity + "#" + open.sequence + ", flagged by " + open.node + ")");
            }
            case "provisional" -> {
                if (row == null) {
                    return "no incident " + entity + "#" + sequence + " is open in the cluster (its flag was superseded)";
                }
                if (!row.status.equals("open")) {
                    return "incident " + entity + "#" + sequence + " is already final";
                }
                if (!row.node.equals(in.nodeId())) {
                    return "incident " + entity + "#" + sequence + " was flagged by " + row.node + ", whose updates count";
                }
                figures(c, entity, sequence, f, seq, "open", null);
                return null;
            }
            default -> {
                if (row != null && !row.status.equals("open")) {
                    return "incident " + entity + "#" + sequence + " is already final (record " + row.finalSeq + ")";
                }
                if (row == null) {
                    Existing open = open(c, entity);
                    if (open != null) {
                        return "entity " + entity + " has another incident open (" + entity + "#" + open.sequence + ")";
                    }
                    try (PreparedStatement p = c.prepareStatement("INSERT INTO incidents (entity, sequence, status, flagged_at, "
                            + "flag_count, node_id) VALUES (?, ?, 'final', ?, ?, ?)")) {
                        p.setString(1, entity);
                        p.setLong(2, sequence);
                        p.setObject(3, time(f.path("flaggedAt").asText()));
                        p.setLong(4, f.path("flagCount").asLong());
                        p.setString(5, in.nodeId());
                        p.executeUpdate();
                    }
                }
                figures(c, entity, sequence, f, seq, "final", in.nodeId());
                return null;
            }
        }
    }

    private record Existing(long sequence, String status, String node, long finalSeq) {
    }

    private static Existing existing(Connection c, String entity, long sequence) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(
                "SELECT sequence, status, node_id, coalesce(final_seq, 0) FROM incidents WHERE entity = ? AND sequence = ?")) {
            p.setString(1, entity);
            p.setLong(2, sequence);
            return one(p);
        }
    }

    private static Existing open(Connection c, String entity) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(
                "SELECT sequence, status, node_id, 0 FROM incidents WHERE entity = ? AND status = 'open'")) {
            p.setString(1, entity);
            return one(p);
        }
    }

    private static Existing one(PreparedStatement p) throws SQLException {
        try (ResultSet r = p.executeQuery()) {
            return r.next() ? new Existing(r.getLong(1), r.getString(2), r.getString(3), r.getLong(4)) : null;
        }
    }

    /** The figures of a provisional or final record onto its incident row; a final also closes it. */
    private static void figures(Connection c, String entity, long sequence, ObjectNode f, long seq, String status, String finalizer)
            throws SQLException {
        try (PreparedStatement p = c.prepareStatement("UPDATE incidents SET status = ?, period_start = ?, period_end = ?, posts = ?, "
                + "requests = ?, amount = ?, currency = ?, figures_seq = ?, final_seq = ?, finalized_by = ? WHERE entity = ? AND sequence = ?")) {
            p.setString(1, status);
            p.setObject(2, timeOrNull(f.path("periodStart")));
            p.setObject(3, timeOrNull(f.path("periodEnd")));
            p.setObject(4, f.hasNonNull("posts") ? f.path("posts").asLong() : null, Types.BIGINT);
            p.setObject(5, f.hasNonNull("requests") ? f.path("requests").asLong() : null, Types.BIGINT);
            p.setBigDecimal(6, decimal(f.path("amount")));
            p.setString(7, f.path("currency").asText(null));
            p.setLong(8, seq);
            if (finalizer != null) {
                p.setLong(9, seq);
            } else {
                p.setNull(9, Types.BIGINT);
            }
            p.setString(10, finalizer);
            p.setString(11, entity);
            p.setLong(12, sequence);
            p.executeUpdate();
        }
    }

    private static BigDecimal decimal(JsonNode n) {
        try {
            return n.isMissingNode() || n.isNull() ? null : new BigDecimal(n.asText());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static OffsetDateTime timeOrNull(JsonNode n) {
        return n.isMissingNode() || n.isNull() ? null : time(n.asText());
    }

    static OffsetDateTime time(String iso) {
        return OffsetDateTime.ofInstant(Instant.parse(iso), ZoneOffset.UTC);
    }
}
