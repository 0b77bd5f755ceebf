package dev.tollgate.meter;

import java.util.List;

/**
 * What the proxy's enforcement and the admin API read of the meter: the standing of each entity
 * and the incidents. A single gateway reads its {@link Meter}; in cluster mode the cluster link
 * answers with the global figures and the cluster's incidents (SPEC §9), while the local meter
 * goes on counting this gateway's share.
 */
public interface MeterView {
    MeterConfig config();

    /** The entity's sliding post count now. */
    long posts24h(String entity);

    /** The entity's sliding request count now. */
    long requests24h(String entity);

    /** True while the entity has an open incident whose flag is durable. */
    boolean flagged(String entity);

    /** The entity's flag is raised but not durable yet: nothing may show it (no 429 either). */
    boolean flagPending(String entity);

    /** Milliseconds until the entity's sliding post count, with no new posts, is at most {@code level}. */
    long millisUntilAtMost(String entity, long level);

    /** Every final incident, then every provisional one as it stands now; oldest flag first. */
    List<Incident> incidents();

    /** Entities with their sliding counts, highest first. */
    List<EntityCount> top(int limit);
}
