package dev.tollgate.meter;

import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One consumer's list of the entities recorded since its last {@link #drain}: the journal has
 * one, the cluster's shipper another, and each drains at its own pace. A feed hands out absolute
 * bucket counts, so whatever applies them can be idempotent: applying a drain twice sets the same
 * values twice.
 *
 * <p>How a record and a drain meet without a lock: each entity carries one bit per feed
 * ({@link EntityMeter#changedBits}). A record, after counting, sets the feed's bit if it was clear
 * and only then puts the entity in the feed's set; a drain takes the entity out of the set, clears
 * the bit, and only then reads the buckets. So a record that finds the bit set is read by the
 * drain still to come, and one that finds it clear puts the entity back for the next drain. The
 * bit spares the set lookup on every record of a busy entity.
 */
public final class ChangeFeed {
    /** At most this many feeds per meter (one bit each). */
    static final int MAX_FEEDS = 8;

    private final Meter meter;
    final int bit;
    final Set<String> ids = ConcurrentHashMap.newKeySet();

    ChangeFeed(Meter meter, int bit) {
        this.meter = meter;
        this.bit = bit;
    }

    /**
     * Hands {@code sink} the current (absolute) counts of every bucket from {@code fromMillis} to
     * now (at most the last {@code 2 × window}) of every entity recorded since the last drain.
     *
     * @return the number of entities drained
     */
    public int drain(long fromMillis, Meter.BucketConsumer sink) {
        int count = 0;
        for (Iterator<String> it = ids.iterator(); it.hasNext(); ) {
            String id = it.next();
            it.remove(); // before reading: a record after this read puts the entity back
            if (meter.readChanged(id, bit, fromMillis, sink)) {
                count++;
            }
        }
        return count;
    }

    /** Entities waiting for the next drain. */
    public int pending() {
        return ids.size();
    }

    /** Forgets every change: after a restore, whose records are not news. */
    void clear() {
        ids.clear();
    }
}
