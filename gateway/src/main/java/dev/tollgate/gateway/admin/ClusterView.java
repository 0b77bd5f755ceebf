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
     * The global sliding post count read from Redis now (this gateway's last answer if Redis does
     * not answer): the list's figures, which the last answers alone would leave stale for an
     * entity this gateway no longer ships (paced shipping: SPEC §9 as amended by issue 12).
     */
    long posts24hNow(String entity);

    /** Adds {@code localPosts24h} and the Redis exchange time to an entity's JSON. */
    void describe(String entity, ObjectNode json);
}
