package dev.tollgate.meter;

import dev.tollgate.meter.damages.PeriodRule;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One entity: its window (compact or full) and its incident state. Kept small: the entity id
 * is the table's key and the rules live in {@link Meter}, so both are passed in, not stored.
 *
 * <h2>Who writes, who reads, what publishes what</h2>
 * <ul>
 *   <li>{@code state} is a {@code long[]} ({@link LightWindow}), a {@link FullWindow}, or
 *       {@link #RETIRED}. It moves light → full (promotion) or → retired, each time by one CAS
 *       after the old form was frozen, so a writer either lands in the old form before the freeze
 *       (and is copied) or fails and follows the new state.</li>
 *   <li>{@code incident} is {@code null}, an {@link Open} incident, or the last {@link Closed}
 *       period. A flag replaces the current value by an {@code Open} with one CAS: exactly one
 *       thread wins per crossing and only that thread tells the listener. Finalization replaces an
 *       {@code Open} by a {@code Closed} the same way. The final period is a pure function of
 *       sealed buckets, so every thread that computes it computes the same one.</li>
 *   <li>The ring is never advanced past the end of an open incident's evidence (flag + 24h) before
 *       that incident is final; see {@link #finalizeIfDue}.</li>
 * </ul>
 */
final class EntityMeter {
    static final Object RETIRED = new Object();

    private static final VarHandle STATE;
    private static final VarHandle INCIDENT;
    private static final VarHandle CHANGED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(EntityMeter.class, "state", Object.class);
            INCIDENT = l.findVarHandle(EntityMeter.class, "incident", Object.class);
            CHANGED = l.findVarHandle(EntityMeter.class, "changedBits", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The entity's id: the table compares it on a hash match. */
    final String id;
    /** The table's hash of {@link #id}. */
    final long hash;
    private volatile Object state = LightWindow.create();
    private volatile Object incident;
    /** One bit per {@link ChangeFeed}: set by a record, cleared by the feed's drain before it reads the entity. */
    volatile int changedBits;

    EntityMeter(String id, long hash) {
        this.id = id;
        this.hash = hash;
    }

    /** Sets {@code bits}; returns the bits before. */
    int markChanged(int bits) {
        return (int) CHANGED.getAndBitwiseOr(this, bits);
    }

    void clearChanged(int bits) {
        CHANGED.getAndBitwiseAnd(this, ~bits);
    }

    /** An incident between its flag and its finalization. */
    record Open(long flagBucket, long flaggedAtMillis, long flagCount, int sequence, Closed previous) {
        long earliestStart(int n) {
            long lo = flagBucket - n + 1;
            return previous == null ? lo : Math.max(lo, previous.end);
        }
    }

    /** The last final period: its bucket range and prefix sums of its posts. */
    record Closed(long start, long end, long[] prefix, int sequence) {
        /** Posts of this period inside the window whose last bucket is {@code b}. */
        long tail(long b, int n) {
            long from = Math.max(b - n + 1, start);
            if (from >= end) {
                return 0;
            }
            return prefix[(int) (end - start)] - prefix[(int) (from - start)];
        }
    }

    /**
     * Records into the entity's current bucket {@code b}.
     *
     * @return the entity's sliding post count afterwards, or a negative result of
     *         {@link FullWindow} ({@code RESULT_RETIRED}, {@code RESULT_LATE})
     */
    long record(String id, Meter meter, long b, long nowMillis, long posts, long requests) {
        int n = meter.bucketsPerWindow();
        // true once this record's posts are in the compact entries: from then on it is only
        // promoted, never recorded again. A retirement that found it there put back a thawed copy
        // holding it, which the failed promotion must promote in turn (issue 10: counted twice).
        boolean landed = false;
        for (;;) {
            Object st = state;
            if (st instanceof long[] entries) {
                if (!landed) {
                    long r = LightWindow.record(entries, n, b, posts, requests);
                    if (r == LightWindow.RESULT_FROZEN) {
                        continue;
                    }
                    if (r == FullWindow.RESULT_LATE) {
                        return r;
                    }
                    if (r >= 0 && r <= meter.promotionMark()) {
                        return r;
                    }
                    landed = r >= 0; // else it did not fit: record again, on the ring
                }
                FullWindow fw = promote(meter, entries, n, b);
                if (fw == null || !landed) {
                    continue;
                }
                return checkFlag(id, meter, fw, b, nowMillis, fw.count(b));
            }
            if (!(st instanceof FullWindow fw)) {
                // retired: its counts, this record's included, left the table with it
                return FullWindow.RESULT_RETIRED;
            }
            if (landed) {
                // another thread promoted the entries that hold this record
                return checkFlag(id, meter, fw, b, nowMillis, fw.count(b));
            }
            if (finalizeIfDue(id, meter, fw, nowMillis)) {
                // the posts after the period are counted at once: flag now if they already exceed
                checkFlag(id, meter, fw, b, nowMillis, fw.count(b));
            }
            long r = fw.record(b, posts, requests);
            if (r < 0) {
                return r;
            }
            return checkFlag(id, meter, fw, b, nowMillis, r);
        }
    }

    /** Freezes the light entries and installs the full ring; null if the entity was retired. */
    private FullWindow promote(Meter meter, long[] entries, int n, long b) {
        LightWindow.freeze(entries);
        FullWindow fw = LightWindow.promote(entries, n, Math.max(b, LightWindow.lastBucket(entries)));
        if (STATE.compareAndSet(this, entries, fw)) {
            meter.promoted();
            return fw;
        }
        Object now = state;
        return now instanceof FullWindow installed ? installed : null;
    }

    /** Raises the flag if the unassigned count passed the threshold; returns {@code count}. */
    private long checkFlag(String id, Meter meter, FullWindow fw, long b, long nowMillis, long count) {
        Object inc = incident;
        if (inc instanceof Open || count <= meter.threshold() || meter.restoring() || !meter.decidesCrossings()) {
            return count;
        }
        Closed previous = (Closed) inc;
        long claimed = previous == null ? 0 : previous.tail(b, meter.bucketsPerWindow());
        if (!FlagRule.crosses(count, claimed, meter.threshold())) {
            return count;
        }
        long unassigned = FlagRule.unassigned(count, claimed);
        int sequence = previous == null ? meter.lastSequence(id) + 1 : previous.sequence + 1;
        Open open = new Open(b, nowMillis, unassigned, sequence, previous);
        if (INCIDENT.compareAndSet(this, inc, open)) {
            meter.flagged(id, this, provisional(id, meter, fw, open));
        }
        return count;
    }

    /**
     * Finalizes the open incident once 24h have passed since its flag. Called before any step
     * that could advance the ring past the incident's evidence; lock-free and idempotent.
     *
     * @return true if this call made the period final
     */
    boolean finalizeIfDue(String id, Meter meter, FullWindow fw, long nowMillis) {
        Object inc = incident;
        if (!(inc instanceof Open open) || nowMillis < open.flaggedAtMillis + meter.windowMillis() || !meter.decidesCrossings()) {
            return false;
        }
        int n = meter.bucketsPerWindow();
        fw.advanceTo(open.flagBucket + n - 1);
        Incident fin = PeriodRule.assess(flag(id, meter, open), Incident.Status.FINAL, series(fw), meter::millisOf, meter.config(),
                meter.terms());
        long start = meter.bucketAt(fin.periodStartMillis());
        long[] prefix = new long[n + 1];
        for (int k = 0; k < n; k++) {
            prefix[k + 1] = prefix[k] + fw.postsAt(start + k);
        }
        Closed closed = new Closed(start, start + n, prefix, open.sequence);
        if (INCIDENT.compareAndSet(this, open, closed)) {
            meter.finalized(id, this, fin);
            return true;
        }
        return false;
    }

    /** Ticks an entity with an open incident: finalize when due, then check for the next flag. */
    void tick(String id, Meter meter, long b, long nowMillis) {
        Object st = state;
        if (st instanceof FullWindow fw) {
            finalizeIfDue(id, meter, fw, nowMillis);
            checkFlag(id, meter, fw, b, nowMillis, fw.count(b));
        }
    }

    /** This entity's full ring as the billing rule's series. */
    private static PeriodRule.Series series(FullWindow fw) {
        return new PeriodRule.Series() {
            @Override
            public long postsAt(long bucket) {
                return fw.postsAt(bucket);
            }

            @Override
            public long requestsAt(long bucket) {
                return fw.requestsAt(bucket);
            }
        };
    }

    private static PeriodRule.Flag flag(String id, Meter meter, Open open) {
        return new PeriodRule.Flag(id, open.sequence, open.flaggedAtMillis, open.flagCount, open.flagBucket,
                open.earliestStart(meter.bucketsPerWindow()));
    }

    private static Incident provisional(String id, Meter meter, FullWindow fw, Open open) {
        return PeriodRule.assess(flag(id, meter, open), Incident.Status.PROVISIONAL, series(fw), meter::millisOf, meter.config(),
                meter.terms());
    }

    /** The open incident as it stands now, or null. */
    Incident openIncident(String id, Meter meter) {
        Object inc = incident;
        Object st = state;
        if (inc instanceof Open open && st instanceof FullWindow fw) {
            return provisional(id, meter, fw, open);
        }
        return null;
    }

    boolean hasOpenIncident() {
        return incident instanceof Open;
    }

    /** The sequence of the entity's open incident, 0 when none is open. */
    int openSequence() {
        return incident instanceof Open open ? open.sequence() : 0;
    }

    /** Sliding post count at bucket {@code b}. */
    long posts(String id, Meter meter, long b, long nowMillis) {
        Object st = state;
        if (st instanceof long[] entries) {
            return LightWindow.count(entries, meter.bucketsPerWindow(), b);
        }
        if (st instanceof FullWindow fw) {
            finalizeIfDue(id, meter, fw, nowMillis);
            return checkFlag(id, meter, fw, b, nowMillis, fw.count(b));
        }
        return 0;
    }

    /** Sliding request count at bucket {@code b}. */
    long requests(Meter meter, long b) {
        Object st = state;
        if (st instanceof long[] entries) {
            return LightWindow.requestCount(entries, meter.bucketsPerWindow(), b);
        }
        if (st instanceof FullWindow fw) {
            return fw.requestCount(b);
        }
        return 0;
    }

    /** Posts and requests of bucket {@code x} if still held: {posts, requests}. */
    long[] bucket(long x) {
        Object st = state;
        if (st instanceof long[] entries) {
            return new long[] {LightWindow.postsAt(entries, x), LightWindow.requestsAt(entries, x)};
        }
        if (st instanceof FullWindow fw) {
            return new long[] {fw.postsAt(x), fw.requestsAt(x)};
        }
        return new long[2];
    }

    /**
     * Restores the incident state a restart must not lose (from the ledger): the last final period
     * (so its posts never count toward another) and an open incident (so it is not flagged twice).
     * Called while the meter restores, before any request is served; the buckets are in already.
     */
    void restoreIncident(long closedStart, int closedSequence, long openFlagBucket, long openFlaggedAt, long openFlagCount,
            int openSequence, int n) {
        Closed closed = null;
        if (closedSequence > 0) {
            long[] prefix = new long[n + 1];
            for (int k = 0; k < n; k++) {
                prefix[k + 1] = prefix[k] + postsAt(closedStart + k);
            }
            closed = new Closed(closedStart, closedStart + n, prefix, closedSequence);
        }
        incident = openSequence > 0 ? new Open(openFlagBucket, openFlaggedAt, openFlagCount, openSequence, closed) : closed;
    }

    /** Calls {@code sink} for each bucket in {@code [from, to]} with posts or requests. */
    void forEachBucket(long from, long to, BucketSink sink) {
        Object st = state;
        if (st instanceof long[] entries) {
            LightWindow.forEachBucket(entries, from, to, sink);
        } else if (st instanceof FullWindow fw) {
            for (long x = from; x <= to; x++) {
                long p = fw.postsAt(x);
                long r = fw.requestsAt(x);
                if (p != 0 || r != 0) {
                    sink.bucket(x, p, r);
                }
            }
        }
    }

    /** Receives buckets (relative numbers). */
    interface BucketSink {
        void bucket(long relativeBucket, long posts, long requests);
    }

    /** Posts of bucket {@code x} if still held. */
    long postsAt(long x) {
        Object st = state;
        if (st instanceof long[] entries) {
            return LightWindow.postsAt(entries, x);
        }
        return st instanceof FullWindow fw ? fw.postsAt(x) : 0;
    }

    boolean isCompact() {
        return state instanceof long[];
    }

    /** The bucket after which nothing of this entity can matter any more. */
    long expiresAfterBucket(int n) {
        Object st = state;
        long last;
        if (st instanceof long[] entries) {
            last = LightWindow.lastBucket(entries);
        } else if (st instanceof FullWindow fw) {
            last = fw.lastActiveBucket();
        } else {
            return Long.MIN_VALUE;
        }
        long horizon = last + n;
        Object inc = incident;
        if (inc instanceof Open) {
            return Long.MAX_VALUE; // kept until final: tick() or the next record finalizes it
        } else if (inc instanceof Closed closed) {
            horizon = Math.max(horizon, closed.end + n);
        }
        return horizon;
    }

    /** Result of {@link #retireIfIdle} and {@link #evict}: the entity stays. */
    static final int KEPT = 0;
    /** Result: a compact entity was retired. */
    static final int RETIRED_COMPACT = 1;
    /** Result: an entity with a full ring was retired. */
    static final int RETIRED_FULL = 2;

    /**
     * Retires the entity if nothing of it can matter at bucket {@code b} any more; otherwise
     * leaves it intact. Called under the table segment's monitor, which then removes it.
     *
     * @return {@link #KEPT}, {@link #RETIRED_COMPACT} or {@link #RETIRED_FULL}
     */
    int retireIfIdle(int n, long b) {
        if (expiresAfterBucket(n) >= b) {
            return KEPT;
        }
        Object st = state;
        if (st instanceof long[] entries) {
            LightWindow.freeze(entries);
            if (LightWindow.lastBucket(entries) + n >= b) {
                STATE.compareAndSet(this, entries, LightWindow.thaw(entries));
                return KEPT;
            }
            return STATE.compareAndSet(this, entries, RETIRED) ? RETIRED_COMPACT : KEPT;
        }
        if (st instanceof FullWindow fw) {
            if (fw.retireIfIdle(b - n - 1)) {
                state = RETIRED;
                return RETIRED_FULL;
            }
            return KEPT;
        }
        return KEPT;
    }

    /**
     * Evicts the entity to make room, unless it is protected: an incident (open, or the last final
     * period still held), a sliding count above {@code protectAbove}, or — when
     * {@code withPosts} is false — any post in the window. The compact form is frozen before it is
     * judged, so a record that lands first is judged with it, and one that comes later finds the
     * entity retired and looks it up again. Called under the table segment's monitor.
     *
     * @return {@link #KEPT}, {@link #RETIRED_COMPACT} or {@link #RETIRED_FULL}
     */
    int evict(int n, long b, long protectAbove, boolean withPosts) {
        if (incident != null) {
            return KEPT;
        }
        Object st = state;
        if (st instanceof long[] entries) {
            LightWindow.freeze(entries);
            // judged at the latest bucket held: a writer whose clock is ahead of ours counts too
            long count = LightWindow.count(entries, n, Math.max(b, LightWindow.lastBucket(entries)));
            if (incident != null || count > protectAbove || (!withPosts && count > 0)) {
                STATE.compareAndSet(this, entries, LightWindow.thaw(entries));
                return KEPT;
            }
            return STATE.compareAndSet(this, entries, RETIRED) ? RETIRED_COMPACT : KEPT;
        }
        if (st instanceof FullWindow fw) {
            long count = fw.count(b);
            if (incident != null || count > protectAbove || (!withPosts && count > 0)) {
                return KEPT;
            }
            if (fw.retire()) {
                state = RETIRED;
                return RETIRED_FULL;
            }
        }
        return KEPT;
    }

    /** True if the entity is protected from eviction (see {@link #evict}); a racy view, for the scan. */
    boolean protectedAt(int n, long b, long protectAbove) {
        return incident != null || sliding(n, b) > protectAbove;
    }

    /** The sliding post count at {@code b} without touching incidents; 0 once retired. */
    long sliding(int n, long b) {
        Object st = state;
        if (st instanceof long[] entries) {
            return LightWindow.count(entries, n, b);
        }
        return st instanceof FullWindow fw ? fw.count(b) : 0;
    }

    /** The last bucket with anything counted, for eviction order; 0 once retired. */
    long lastBucket() {
        Object st = state;
        if (st instanceof long[] entries) {
            return LightWindow.lastBucket(entries);
        }
        return st instanceof FullWindow fw ? fw.lastActiveBucket() : 0;
    }

    boolean isFull() {
        return state instanceof FullWindow;
    }
}
