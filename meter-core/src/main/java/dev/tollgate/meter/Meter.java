package dev.tollgate.meter;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * The sliding-window post meter: counts posts and requests per entity, flags every crossing of
 * the threshold, chooses and prices damage periods (SPEC §5).
 *
 * <p>The record path is lock-free: one table lookup and one or two CAS on bucket words; see
 * {@link FullWindow} and {@link LightWindow} for the protocols. Time comes from the injected
 * {@link Clock}; {@link #tick()} must be called regularly (the gateway does it every second) so
 * that idle entities' incidents become final on time and expired entities leave the table.
 *
 * <h2>Where things are</h2>
 * The entities and their bound: {@link BoundedEntities}. One entity's window and incident state:
 * {@link EntityMeter} ({@link LightWindow}, {@link FullWindow}). The flag rule: {@link FlagRule}.
 * The damage period and its price: {@link dev.tollgate.meter.damages.PeriodRule}. Incidents,
 * durable before visible: {@link IncidentBook}. Where counts go beyond this process (the journal,
 * the cluster's shipper): {@link ChangeFeed}; who decides crossings: {@link Crossings}.
 */
public final class Meter implements MeterView {

    private final MeterConfig config;
    private final DamagesTerms terms;
    private final Clock clock;
    /** Open and final incidents, durable before visible. */
    private final IncidentBook book;
    private final int n;
    private final long bucketMillis;
    private final long promotionMark;
    /** Absolute bucket of relative bucket 0; relative buckets keep tags within 27 bits. */
    private final long baseBucket;

    /** The entities, bounded: see {@link BoundedEntities}. */
    private final BoundedEntities entities;
    private final LongAdder lateRecords = new LongAdder();
    /** The last bucket computed: a racy cache of immutable values (any thread may replace it). */
    private BucketSpan currentBucket = new BucketSpan(0, 0, 0);
    /** The change feeds, and their bits or'ed (0: none, the record path's one check). */
    private volatile ChangeFeed[] feeds = new ChangeFeed[0];
    private volatile int feedMask;
    private final boolean decidesCrossings;
    private volatile boolean restoring;

    /** A single-process meter: {@link Crossings#HERE}. */
    public Meter(MeterConfig config, DamagesTerms terms, Clock clock, MeterListener listener) {
        this(config, terms, clock, listener, Crossings.HERE);
    }

    public Meter(MeterConfig config, DamagesTerms terms, Clock clock, MeterListener listener, Crossings crossings) {
        this.decidesCrossings = Objects.requireNonNull(crossings, "crossings") == Crossings.HERE;
        this.config = Objects.requireNonNull(config, "config");
        this.terms = Objects.requireNonNull(terms, "terms");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.book = new IncidentBook(Objects.requireNonNull(listener, "listener"), config.threshold());
        this.n = config.bucketsPerWindow();
        this.bucketMillis = config.bucketMillis();
        this.promotionMark = Math.max(1, config.threshold() / 4);
        this.baseBucket = config.bucketOf(clock.millis()) - 4L * n;
        this.entities = new BoundedEntities(config, clock);
    }

    /** Records at the clock's current time. */
    public long record(String entity, long posts, long requests) {
        return record(entity, posts, requests, clock.millis());
    }

    /**
     * Counts {@code posts} posts and {@code requests} requests for {@code entity} at
     * {@code nowMillis}.
     *
     * @return the entity's sliding 24h post count after this record; -2 if the time is older than
     *         the window (nothing is counted; see {@link #lateRecords()}); {@link #RESULT_UNTRACKED}
     *         if the entity is new and the table is full of entities that may not be evicted
     */
    public long record(String entity, long posts, long requests, long nowMillis) {
        if (posts < 0 || requests < 0) {
            throw new IllegalArgumentException("posts: " + posts + ", requests: " + requests + " (expected: >= 0)");
        }
        long b = relativeBucket(nowMillis);
        if (b < 1 || b > FullWindow.MAX_TAG - 2L * n) {
            lateRecords.increment();
            return FullWindow.RESULT_LATE;
        }
        return recordAt(entity, posts, requests, nowMillis, b, true);
    }

    /**
     * Like {@link #record(String, long, long)}, but never creates an entity: for requests that
     * bring no posts and were refused (an upstream 4xx/5xx), which must not let anyone fill the
     * table with made-up keys. The request is counted if the entity is already tracked.
     *
     * @return as {@link #record(String, long, long, long)}, or {@link #RESULT_UNTRACKED} if the
     *         entity is not tracked (nothing is counted)
     */
    public long recordIfPresent(String entity, long posts, long requests) {
        long nowMillis = clock.millis();
        if (posts < 0 || requests < 0) {
            throw new IllegalArgumentException("posts: " + posts + ", requests: " + requests + " (expected: >= 0)");
        }
        long b = relativeBucket(nowMillis);
        if (b < 1 || b > FullWindow.MAX_TAG - 2L * n) {
            lateRecords.increment();
            return FullWindow.RESULT_LATE;
        }
        return recordAt(entity, posts, requests, nowMillis, b, false);
    }

    /** Result of a record that was not counted because the entity is not tracked: the table is full of protected entities, or {@link #recordIfPresent}. */
    public static final long RESULT_UNTRACKED = -5;

    private long recordAt(String entity, long posts, long requests, long nowMillis, long b, boolean create) {
        long h = entities.hash(entity);
        for (;;) {
            EntityMeter e = entities.get(entity, h);
            if (e == null) {
                e = create ? entities.insert(entity, h, b) : null;
                if (e == null) {
                    return RESULT_UNTRACKED;
                }
            }
            long r = e.record(entity, this, b, nowMillis, posts, requests);
            if (r == FullWindow.RESULT_RETIRED) {
                entities.remove(e); // usually done already by the sweep that retired it
                continue;
            }
            if (r == FullWindow.RESULT_LATE) {
                lateRecords.increment();
            } else {
                int mask = feedMask;
                if (mask != 0 && (e.changedBits & mask) != mask) {
                    markChanged(e, entity, mask); // after the record: see ChangeFeed
                }
            }
            return r;
        }
    }

    /** Called by an entity that installed its full ring. */
    void promoted() {
        entities.promoted();
    }

    /**
     * Finalizes every incident that is due, raises the flags that finalization makes due, and lets
     * the table drop expired entities. Call it regularly (every second).
     */
    public void tick() {
        long now = clock.millis();
        long b = relativeBucket(now);
        book.forEachOpen((id, e) -> e.tick(id, this, b, now));
        entities.sweep(b);
    }

    /** The entity's sliding 24h post count now. */
    @Override
    public long posts24h(String entity) {
        long now = clock.millis();
        EntityMeter e = peek(entity);
        return e == null ? 0 : Math.max(0, e.posts(entity, this, relativeBucket(now), now));
    }

    /** The entity's sliding 24h request count now. */
    @Override
    public long requests24h(String entity) {
        EntityMeter e = peek(entity);
        return e == null ? 0 : e.requests(this, relativeBucket(clock.millis()));
    }

    /**
     * Milliseconds from now until the entity's sliding post count, with no new posts, is at most
     * {@code level}: when enough of its buckets have left the window. 0 if it already is.
     */
    @Override
    public long millisUntilAtMost(String entity, long level) {
        long now = clock.millis();
        long b = relativeBucket(now);
        EntityMeter e = peek(entity);
        if (e == null) {
            return 0;
        }
        long count = Math.max(0, e.posts(entity, this, b, now));
        for (long x = b - n + 1; x <= b && count > level; x++) {
            count -= e.postsAt(x);
            if (count <= level) {
                return Math.max(0, millisOf(x + n) - now);
            }
        }
        return count <= level ? 0 : Math.max(0, millisOf(b + n) - now);
    }

    /** True while the entity has a provisional incident whose flag is durable. */
    @Override
    public boolean flagged(String entity) {
        EntityMeter e = peek(entity);
        return e != null && book.visiblyFlagged(entity, e);
    }

    /** The entity's flag is raised but its ledger record is not durable yet: nothing may show it (no 429 either). */
    @Override
    public boolean flagPending(String entity) {
        return book.flagPending(entity);
    }

    /**
     * True while {@code incident} is still open in the meter: not final, not even with its final
     * record still on its way to the ledger. A view taken a moment ago may still show it
     * provisional; this is the check to make before writing anything that must precede its final.
     */
    public boolean stillOpen(Incident incident) {
        return book.stillOpen(incident);
    }

    /** True while the entity is held in the compact form. */
    public boolean compact(String entity) {
        EntityMeter e = peek(entity);
        return e != null && e.isCompact();
    }

    /** Every final incident, then every provisional one as it stands now; oldest flag first. */
    @Override
    public List<Incident> incidents() {
        return book.incidents((id, e) -> e.openIncident(id, this));
    }

    /** Entity ids with their sliding post counts, highest first; a scan, for the admin API. */
    @Override
    public List<EntityCount> top(int limit) {
        long now = clock.millis();
        long b = relativeBucket(now);
        List<EntityCount> counts = new ArrayList<>();
        entities.forEach((id, e) -> {
            long posts = e.posts(id, this, b, now);
            if (posts > 0) {
                counts.add(new EntityCount(id, posts, e.requests(this, b), book.visiblyFlagged(id, e)));
            }
        });
        counts.sort(Comparator.comparingLong(EntityCount::posts24h).reversed().thenComparing(EntityCount::id));
        return counts.size() > limit ? List.copyOf(counts.subList(0, limit)) : counts;
    }

    /** Receives one bucket of one entity: its start time and its counts. */
    public interface BucketConsumer {
        void bucket(String entity, long bucketStartMillis, long posts, long requests);
    }

    /**
     * A new feed of the entities recorded from now on (see {@link ChangeFeed}): one per consumer
     * (the journal, the cluster's shipper), each drained at its own pace.
     */
    public synchronized ChangeFeed changeFeed() {
        if (feeds.length == ChangeFeed.MAX_FEEDS) {
            throw new IllegalStateException("at most " + ChangeFeed.MAX_FEEDS + " change feeds per meter");
        }
        ChangeFeed feed = new ChangeFeed(this, 1 << feeds.length);
        ChangeFeed[] more = java.util.Arrays.copyOf(feeds, feeds.length + 1);
        more[feeds.length] = feed;
        feeds = more;
        feedMask |= feed.bit;
        return feed;
    }

    private void markChanged(EntityMeter e, String entity, int mask) {
        int fresh = mask & ~e.markChanged(mask);
        for (ChangeFeed feed : feeds) {
            if ((fresh & feed.bit) != 0) {
                feed.ids.add(entity);
            }
        }
    }

    /** For {@link ChangeFeed#drain}: clears the feed's bit of {@code id}, then reads its buckets; false if it is gone. */
    boolean readChanged(String id, int bit, long fromMillis, BucketConsumer sink) {
        EntityMeter e = peek(id);
        if (e == null) {
            return false;
        }
        e.clearChanged(bit); // before reading: see ChangeFeed
        long to = relativeBucket(clock.millis());
        long from = Math.max(relativeBucket(fromMillis), to - 2L * n + 1);
        e.forEachBucket(from, to, (x, p, r) -> sink.bucket(id, millisOf(x), p, r));
        return true;
    }

    /** Every bucket of the last {@code 2 × window} with posts or requests, of every entity: for snapshots. */
    public void forEachBucket(BucketConsumer sink) {
        long to = relativeBucket(clock.millis());
        long from = to - 2L * n + 1;
        entities.forEach((id, e) -> e.forEachBucket(from, to, (x, p, r) -> sink.bucket(id, millisOf(x), p, r)));
    }

    /** What a restart restores of one entity's incidents, from the ledger. */
    public record RestoredIncidents(String entity, int lastFinalSequence, long lastFinalStartMillis, int openSequence,
            long openFlaggedAtMillis, long openFlagCount) {
    }

    /**
     * Restores windows and incidents after a restart, before any record: {@code buckets} (per
     * entity, bucket start → {posts, requests}, absolute) go in oldest first with flags held back;
     * then each entity's last final period and open incident are put back, so that nothing is
     * counted twice toward a period and no incident is flagged twice; {@code finals} are the final
     * incidents to list again. Not thread-safe: call it before the meter is shared.
     */
    public void restore(java.util.Map<String, java.util.NavigableMap<Long, long[]>> buckets, List<RestoredIncidents> incidents,
            List<Incident> finalIncidents) {
        restoring = true;
        try {
            buckets.forEach((id, byTime) -> byTime.forEach((t, pr) -> {
                if (pr[0] != 0 || pr[1] != 0) {
                    record(id, pr[0], pr[1], t);
                }
            }));
            for (RestoredIncidents ri : incidents) {
                EntityMeter e = entities.getOrCreate(ri.entity());
                e.restoreIncident(relativeBucket(ri.lastFinalStartMillis()), ri.lastFinalSequence(), relativeBucket(ri.openFlaggedAtMillis()),
                        ri.openFlaggedAtMillis(), ri.openFlagCount(), ri.openSequence(), n);
                book.restore(ri.entity(), e, Math.max(ri.lastFinalSequence(), ri.openSequence()), ri.openSequence() > 0);
            }
            book.restoreFinals(finalIncidents);
        } finally {
            restoring = false;
        }
        for (ChangeFeed feed : feeds) {
            feed.clear();
        }
        entities.forEach((id, e) -> e.clearChanged(-1));
    }

    boolean restoring() {
        return restoring;
    }

    /** False in cluster mode: crossings are decided on the global window ({@link Crossings#ELSEWHERE}). */
    boolean decidesCrossings() {
        return decidesCrossings;
    }

    /**
     * The per-bucket counts of the last {@code 2 × window} for export, snapshots and merging
     * into another meter's window ({@link #merge}).
     */
    public WindowExport export(String entity) {
        long b = relativeBucket(clock.millis());
        long first = b - 2L * n + 1;
        long[] posts = new long[2 * n];
        long[] requests = new long[2 * n];
        EntityMeter e = peek(entity);
        if (e != null) {
            for (int k = 0; k < posts.length; k++) {
                long[] pr = e.bucket(first + k);
                posts[k] = pr[0];
                requests[k] = pr[1];
            }
        }
        return new WindowExport(entity, millisOf(first), bucketMillis, posts, requests);
    }

    /** Adds every bucket of {@code export} to this meter at its own time; returns posts counted. */
    public long merge(WindowExport export) {
        long merged = 0;
        for (int k = 0; k < export.posts().length; k++) {
            long p = export.posts()[k];
            long r = export.requests()[k];
            if (p != 0 || r != 0) {
                long at = export.firstBucketMillis() + k * export.bucketMillis();
                if (record(export.entity(), p, r, at) >= 0) {
                    merged += p;
                }
            }
        }
        return merged;
    }

    public int entityCount() {
        return entities.size();
    }

    /** The bound on tracked entities, in weight units ({@link MeterConfig#maxEntities()}). */
    public long entityCapacity() {
        return entities.capacity();
    }

    /** Weight units held now: compact entities count 1, entities with a full ring about 180 at the default window. */
    public long entityWeight() {
        return entities.weight();
    }

    /** Entities evicted for room since start. */
    public long evictedEntities() {
        return entities.evicted();
    }

    /** Records not counted because their new entity could not be tracked (the table full of protected entities). */
    public long untrackedRecords() {
        return entities.untracked();
    }

    public long lateRecords() {
        return lateRecords.sum();
    }

    public long flagCount() {
        return book.flagCount();
    }

    /** Provisional incidents as the views show them (durable flags, finals not yet durable). */
    public int openIncidentCount() {
        return book.openCount();
    }

    @Override
    public MeterConfig config() {
        return config;
    }

    private EntityMeter peek(String entity) {
        return entities.get(entity);
    }

    // ---- called by EntityMeter ------------------------------------------------------------

    void flagged(String entity, EntityMeter e, Incident incident) {
        book.flagged(entity, e, incident);
    }

    void finalized(String entity, EntityMeter e, Incident incident) {
        book.finalized(entity, e, incident);
    }

    int lastSequence(String entity) {
        return book.lastSequence(entity);
    }

    int bucketsPerWindow() {
        return n;
    }

    long threshold() {
        return config.threshold();
    }

    long windowMillis() {
        return config.windowMillis();
    }

    long bucketMillis() {
        return bucketMillis;
    }

    long promotionMark() {
        return promotionMark;
    }

    DamagesTerms terms() {
        return terms;
    }

    long millisOf(long relativeBucket) {
        return (relativeBucket + baseBucket) * bucketMillis;
    }

    /** The relative bucket of {@code millis}, leaving the record path's cache alone (for past times). */
    long bucketAt(long millis) {
        return Math.floorDiv(millis, bucketMillis) - baseBucket;
    }

    long relativeBucket(long millis) {
        BucketSpan c = currentBucket;
        if (millis >= c.startMillis && millis < c.endMillis) {
            return c.bucket; // no division on the record path
        }
        long b = Math.floorDiv(millis, bucketMillis) - baseBucket;
        currentBucket = new BucketSpan(millisOf(b), millisOf(b + 1), b);
        return b;
    }

    /** A bucket and its time span; immutable, so a racy read sees a whole one. */
    private record BucketSpan(long startMillis, long endMillis, long bucket) {
    }
}
