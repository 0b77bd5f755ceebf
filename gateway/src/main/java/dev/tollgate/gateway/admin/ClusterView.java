package dev.tollgate.gateway.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.util.List;

/**
 * What the admin API shows differently in cluster mode (SPEC §9): the records come from the
 * cluster ledger (so every gateway answers the same), and each entity also shows this gateway's
 * own count and the time of the last exchange with Redis.
 */
public interface ClusterView {
    /** The cluster chain's records, in order. */
    List<LedgerRecord> records() throws Exception;

    /** True if the cluster counts posts of {@code entity} now, though this gateway may never have served it. */
    boolean counts(String entity);

    /**
     * The global sliding post count of each entity read from Redis now, in order: the list's
     * figures, which the last answers alone would leave stale for an entity this gateway no
     * longer ships (paced shipping). After a failed read (Redis away, a master failing over) the
     * rest are this gateway's last answers, so a list costs at most one command timeout.
     */
    long[] posts24hNow(List<String> entities);

    /** Adds {@code localPosts24h} and the Redis exchange time to an entity's JSON. */
    void describe(String entity, ObjectNode json);
}
