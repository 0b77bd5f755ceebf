package dev.tollgate.cluster.redis;

import dev.tollgate.meter.Meter;

/**
 * Where the {@link WindowShipper} reads this gateway's counts: the meter's change feed. Both
 * methods hand over ABSOLUTE counts (this gateway's whole count of the bucket so far), which is
 * what makes shipping them idempotent. The feed re-marks nothing by itself: what the shipper
 * could not ship it keeps and retries.
 *
 * <p>The shape of meter-core's {@code Meter.ChangeFeed} (issue 12's seam); until that lands the
 * gateway adapts {@code Meter.drainChanges} and {@code Meter.forEachBucket} to it.
 */
public interface ChangeSource {
    /**
     * Hands {@code sink} every bucket from {@code fromMillis} to now of each entity recorded since
     * the last drain, and forgets that they changed.
     *
     * @return the number of entities drained
     */
    int drain(long fromMillis, Meter.BucketConsumer sink);

    /** Hands {@code sink} every bucket with traffic of every entity (the last two windows): for a full re-ship. */
    void forEachBucket(Meter.BucketConsumer sink);
}
