package dev.tollgate.cluster.redis;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.meter.ChangeFeed;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.WindowExport;

/**
 * Where the {@link WindowShipper} reads this gateway's counts: the meter's change feed. Both
 * methods hand over ABSOLUTE counts (this gateway's whole count of the bucket so far), which is
 * what makes shipping them idempotent. The feed re-marks nothing by itself: what the shipper
 * could not ship it keeps and retries.
 *
 * <p>{@link #of} reads a meter through a {@link ChangeFeed} of its own, so the journal's feed and
 * this one never take changes from each other.
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

    /** Hands {@code sink} every bucket with traffic of one entity (the last two windows): for a recall. */
    void bucketsOf(String entity, Meter.BucketConsumer sink);

    /**
     * Raises this gateway's count of one bucket to what Redis holds of it, where Redis holds more
     * than was shipped (see {@code ShipReply.ahead}): adds the difference between Redis's value
     * and {@code shipped}, so the posts counted since that shipment stay counted.
     */
    void adopt(String entity, BucketCounts redis, BucketCounts shipped);

    /** The changes of {@code meter}, from now on, through a new feed of its own. */
    static ChangeSource of(Meter meter) {
        ChangeFeed feed = meter.changeFeed();
        return new ChangeSource() {
            @Override
            public int drain(long fromMillis, Meter.BucketConsumer sink) {
                return feed.drain(fromMillis, sink);
            }

            @Override
            public void forEachBucket(Meter.BucketConsumer sink) {
                meter.forEachBucket(sink);
            }

            @Override
            public void adopt(String entity, BucketCounts redis, BucketCounts shipped) {
                long posts = Math.max(0, redis.posts() - shipped.posts());
                long requests = Math.max(0, redis.requests() - shipped.requests());
                if (posts > 0 || requests > 0) {
                    meter.record(entity, posts, requests, redis.bucketStartMillis());
                }
            }

            @Override
            public void bucketsOf(String entity, Meter.BucketConsumer sink) {
                WindowExport w = meter.export(entity);
                for (int k = 0; k < w.posts().length; k++) {
                    if (w.posts()[k] != 0 || w.requests()[k] != 0) {
                        sink.bucket(entity, w.firstBucketMillis() + k * w.bucketMillis(), w.posts()[k], w.requests()[k]);
                    }
                }
            }
        };
    }
}
