package dev.tollgate.meter;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sliding-window post meter: counts posts and requests per entity, flags every crossing of
 * the threshold, chooses and prices damage periods (SPEC §5).
 *
 * <p>The record path is lock-free: one table lookup and one or two CAS on bucket words; see
 * {@link FullWindow} and {@link LightWindow} for the protocols. Time comes from the injected
 * {@link Clock}; {@link #tick()} must be called regularly (the gateway does it every second) so
 * that idle entities' incidents become final on time and expired entities leave the table.
 *
 * <h2>Entity table</h2>
 * A Caffeine cache without a size bound: an entity is never evicted for room, only when nothing
 * of it can matter any more (its window, its open incident and the 24h after its last damage
 * period are all in the past); see {@link EntityMeter#expiresAfterBucket}. Should the table ever
 * expire an entity that a concurrent record just revived, the entity is kept aside and comes back
 * on its next lookup, so no count is lost.
 */
public final class Meter {
    private static final Logger log = LoggerFactory.getLogger(Meter.class);

    private final MeterConfig config;
    private final DamagesTerms terms;
    private final Clock clock;
    private final MeterListener listener;
    private final int n;
    private final long bucketMillis;
    private final long promotionMark;
    /** Refresh an entity's table expiry when its horizon is less than this many buckets ahead. */
    private final long refreshLead;
    /** Absolute bucket of relative bucket 0; relative buckets keep tags within 27 bits. */
    private final long baseBucket;

    private final Cache<String, EntityMeter> entities;
    private final ConcurrentHashMap<String, EntityMeter> revived = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, EntityMeter> openIncidents = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Incident> finals = new ConcurrentLinkedQueue<>();
    /**
     * Durable before visible: flags and final periods whose ledger record the listener has not yet
     * confirmed, per entity. Written by the thread that raised the event (put) and by the thread
     * that confirms it (remove); every view reads them and hides what is not durable yet.
     */
    private final ConcurrentHashMap<String, Incident> unpublishedFlags = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Incident> unpublishedFinals = new ConcurrentHashMap<>();
    /** Flags so far per entity ever flagged, so that sequences go on after an entity expired. */
    private final ConcurrentHashMap<String, Integer> sequences = new ConcurrentHashMap<>();
    private final LongAdder lateRecords = new LongAdder();
    /** Entities recorded since the last {@link #drainChanges}; null unless change tracking is on. */
    private volatile java.util.Set<String> changed;
    private volatile boolean restoring;
    private final LongAdder flags = new LongAdder();

    public Meter(MeterConfig config, DamagesTerms terms, Clock clock, MeterListener listener) {
        this.config = Objects.requireNonNull(config, "config");
        this.terms = Objects.requireNonNull(terms, "terms");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.n = config.bucketsPerWindow();
        this.bucketMillis = config.bucketMillis();
        this.promotionMark = Math.max(1, config.threshold() / 4);
        this.refreshLead = n / 2;
        this.baseBucket = config.bucketOf(clock.millis()) - 4L * n;
        this.entities = Caffeine.newBuilder()
                .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
                .expireAfter(new EntityExpiry())
                .evictionListener(this::onExpired)
                .build();
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
     *         the window (nothing is counted; see {@link #lateRecords()})
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
        for (;;) {
            EntityMeter e = lookup(entity);
            long r = e.record(entity, this, b, nowMillis, posts, requests);
            if (r == FullWindow.RESULT_RETIRED) {
                entities.asMap().remove(entity, e);
                continue;
            }
            if (b + refreshLead > e.refreshedHorizon) {
                // Rarely (about once per half window of activity): let the table recompute the
                // expiry. Between refreshes the table may expire an active entity early; the
                // eviction listener then keeps it aside and it comes back on its next lookup.
                e.refreshedHorizon = e.expiresAfterBucket(n);
                entities.getIfPresent(entity);
            }
            if (r == FullWindow.RESULT_LATE) {
                lateRecords.increment();
            } else {
                java.util.Set<String> c = changed;
                if (c != null && !c.contains(entity)) {
                    c.add(entity); // after the record: a drain that misses this record finds the entity again
                }
            }
            return r;
        }
    }

    private EntityMeter lookup(String entity) {
        EntityMeter e = entities.policy().getIfPresentQuietly(entity);
        return e != null ? e : entities.get(entity, this::create);
    }

    private EntityMeter create(String entity) {
        EntityMeter back = revived.remove(entity);
        return back != null ? back : new EntityMeter();
    }

    private void onExpired(String entity, EntityMeter e, RemovalCause cause) {
        if (entity == null || e == null || cause == RemovalCause.EXPLICIT || cause == RemovalCause.REPLACED) {
            return;
        }
        if (!e.retireIfIdle(n, relativeBucket(clock.millis()))) {
            revived.put(entity, e);
        }
    }

    /**
     * Finalizes every incident that is due, raises the flags that finalization makes due, and lets
     * the table drop expired entities. Call it regularly (every second).
     */
    public void tick() {
        long now = clock.millis();
        long b = relativeBucket(now);
        openIncidents.forEach((id, e) -> e.tick(id, this, b, now));
        entities.cleanUp();
        // entities the table expired while still active go back in, with their expiry recomputed
        revived.forEach((id, e) -> {
            EntityMeter present = entities.asMap().putIfAbsent(id, e);
            if (present == null || present == e) {
                revived.remove(id, e);
            }
        });
    }

    /** The entity's sliding 24h post count now. */
    public long posts24h(String entity) {
        long now = clock.millis();
        EntityMeter e = peek(entity);
        return e == null ? 0 : Math.max(0, e.posts(entity, this, relativeBucket(now), now));
    }

    /** The entity's sliding 24h request count now. */
    public long requests24h(String entity) {
        EntityMeter e = peek(entity);
        return e == null ? 0 : e.requests(this, relativeBucket(clock.millis()));
    }

    /**
     * Milliseconds from now until the entity's sliding post count, with no new posts, is at most
     * {@code level}: when enough of its buckets have left the window. 0 if it already is.
     */
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
    public boolean flagged(String entity) {
        EntityMeter e = peek(entity);
        return e != null && visiblyFlagged(entity, e);
    }

    /** The entity's flag is raised but its ledger record is not durable yet: nothing may show it (no 429 either). */
    public boolean flagPending(String entity) {
        return unpublishedFlags.containsKey(entity);
    }

    /** The incident is final in the meter but its final record is not durable yet (views show it provisional until then). */
    public boolean finalPending(Incident incident) {
        Incident pending = unpublishedFinals.get(incident.entity());
        return pending != null && pending.id().equals(incident.id());
    }

    private boolean visiblyFlagged(String entity, EntityMeter e) {
        return (e.hasOpenIncident() && !unpublishedFlags.containsKey(entity)) || unpublishedFinals.containsKey(entity);
    }

    /** True while the entity is held in the compact form. */
    public boolean compact(String entity) {
        EntityMeter e = peek(entity);
        return e != null && e.isCompact();
    }

    /** Every final incident, then every provisional one as it stands now; oldest flag first. */
    public List<Incident> incidents() {
        // pending finals first: one published meanwhile is then found in finals (and shown once)
        List<Incident> pendingFinals = new ArrayList<>(unpublishedFinals.values());
        List<Incident> all = new ArrayList<>(finals);
        java.util.Set<String> finalIds = new java.util.HashSet<>();
        all.forEach(i -> finalIds.add(i.id()));
        for (Incident i : pendingFinals) {
            if (!finalIds.contains(i.id())) {
                all.add(stillProvisional(i)); // final in memory, provisional until its record is durable
            }
        }
        openIncidents.forEach((id, e) -> {
            Incident open = unpublishedFlags.containsKey(id) ? null : e.openIncident(id, this);
            if (open != null) {
                all.add(open);
            }
        });
        all.sort(Comparator.comparingLong(Incident::flaggedAtMillis).thenComparing(Incident::entity));
        return all;
    }

    /** Entity ids with their sliding post counts, highest first; a scan, for the admin API. */
    public List<EntityCount> top(int limit) {
        long now = clock.millis();
        long b = relativeBucket(now);
        List<EntityCount> counts = new ArrayList<>();
        entities.asMap().forEach((id, e) -> {
            long posts = e.posts(id, this, b, now);
            if (posts > 0) {
                counts.add(new EntityCount(id, posts, e.requests(this, b), visiblyFlagged(id, e)));
            }
        });
        counts.sort(Comparator.comparingLong(EntityCount::posts24h).reversed().thenComparing(EntityCount::id));
        return counts.size() > limit ? List.copyOf(counts.subList(0, limit)) : counts;
    }

    /** Receives one bucket of one entity: its start time and its counts. */
    public interface BucketConsumer {
        void bucket(String entity, long bucketStartMillis, long posts, long requests);
    }

    /** From now on, remember which entities are recorded, for {@link #drainChanges}. */
    public void trackChanges() {
        if (changed == null) {
            changed = ConcurrentHashMap.newKeySet();
        }
    }

    /**
     * Hands {@code sink} the current (absolute) counts of every bucket from {@code fromMillis} to
     * now of every entity recorded since the last drain. Absolute counts make a journal of them
     * idempotent: replaying an entry twice sets the same value twice.
     *
     * @return the number of entities drained
     */
    public int drainChanges(long fromMillis, BucketConsumer sink) {
        java.util.Set<String> c = changed;
        if (c == null) {
            return 0;
        }
        long to = relativeBucket(clock.millis());
        long from = Math.max(relativeBucket(fromMillis), to - 2L * n + 1);
        int count = 0;
        for (java.util.Iterator<String> it = c.iterator(); it.hasNext(); ) {
            String id = it.next();
            it.remove(); // before reading: a record after this read puts the entity back
            EntityMeter e = peek(id);
            if (e != null) {
                e.forEachBucket(from, to, (x, p, r) -> sink.bucket(id, millisOf(x), p, r));
                count++;
            }
        }
        return count;
    }

    /** Every bucket of the last {@code 2 × window} with posts or requests, of every entity: for snapshots. */
    public void forEachBucket(BucketConsumer sink) {
        long to = relativeBucket(clock.millis());
        long from = to - 2L * n + 1;
        entities.asMap().forEach((id, e) -> e.forEachBucket(from, to, (x, p, r) -> sink.bucket(id, millisOf(x), p, r)));
        revived.forEach((id, e) -> e.forEachBucket(from, to, (x, p, r) -> sink.bucket(id, millisOf(x), p, r)));
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
                EntityMeter e = lookup(ri.entity());
                e.restoreIncident(relativeBucket(ri.lastFinalStartMillis()), ri.lastFinalSequence(), relativeBucket(ri.openFlaggedAtMillis()),
                        ri.openFlaggedAtMillis(), ri.openFlagCount(), ri.openSequence(), n);
                sequences.merge(ri.entity(), Math.max(ri.lastFinalSequence(), ri.openSequence()), Math::max);
                if (ri.openSequence() > 0) {
                    openIncidents.put(ri.entity(), e);
                }
                e.refreshedHorizon = Long.MIN_VALUE;
                entities.getIfPresent(ri.entity());
            }
            finals.addAll(finalIncidents);
        } finally {
            restoring = false;
        }
        if (changed != null) {
            changed.clear();
        }
    }

    boolean restoring() {
        return restoring;
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
        return (int) entities.estimatedSize();
    }

    public long lateRecords() {
        return lateRecords.sum();
    }

    public long flagCount() {
        return flags.sum();
    }

    /** Provisional incidents as the views show them (durable flags, finals not yet durable). */
    public int openIncidentCount() {
        int hidden = 0;
        for (String id : unpublishedFlags.keySet()) {
            if (openIncidents.containsKey(id)) {
                hidden++;
            }
        }
        return Math.max(0, openIncidents.size() - hidden) + unpublishedFinals.size();
    }

    public MeterConfig config() {
        return config;
    }

    private EntityMeter peek(String entity) {
        EntityMeter e = entities.policy().getIfPresentQuietly(entity);
        if (e == null) {
            // expired by the table but perhaps still active: let the eviction listener decide
            entities.cleanUp();
            e = revived.get(entity);
        }
        return e;
    }

    // ---- called by EntityMeter ------------------------------------------------------------

    void flagged(String entity, EntityMeter e, Incident incident) {
        sequences.merge(entity, incident.sequence(), Math::max);
        unpublishedFlags.put(entity, incident); // hidden until the listener (the ledger) says it is durable
        openIncidents.put(entity, e);
        entities.getIfPresent(entity); // the open incident extends the entity's expiry
        tell(() -> listener.onFlag(incident, () -> flagVisible(entity, incident)), incident);
    }

    private void flagVisible(String entity, Incident incident) {
        unpublishedFlags.remove(entity, incident);
        flags.increment();
        log.warn("flag: entity={} posts24h={} threshold={} at={}", entity, incident.flagCount(), config.threshold(),
                java.time.Instant.ofEpochMilli(incident.flaggedAtMillis()));
    }

    void finalized(String entity, EntityMeter e, Incident incident) {
        unpublishedFinals.put(entity, incident);
        openIncidents.remove(entity, e);
        entities.getIfPresent(entity); // the entity may now expire in its own time
        tell(() -> listener.onFinal(incident, () -> finalVisible(entity, incident)), incident);
    }

    private void finalVisible(String entity, Incident incident) {
        finals.add(incident);
        unpublishedFinals.remove(entity, incident);
        log.info("damage period final: entity={} period={}..{} posts={} amount={}", entity,
                java.time.Instant.ofEpochMilli(incident.periodStartMillis()),
                java.time.Instant.ofEpochMilli(incident.periodEndMillis()), incident.posts(), incident.amount());
    }

    private static Incident stillProvisional(Incident i) {
        return new Incident(i.entity(), i.sequence(), i.flaggedAtMillis(), i.flagCount(), Incident.Status.PROVISIONAL,
                i.periodStartMillis(), i.periodEndMillis(), i.posts(), i.requests(), i.amount(), i.evidence());
    }

    /** A listener that fails must not stop the meter: its failure is logged, and it counts it itself. */
    private static void tell(Runnable call, Incident incident) {
        try {
            call.run();
        } catch (RuntimeException ex) {
            log.error("meter listener failed for {} ({})", incident.id(), incident.status().label(), ex);
        }
    }

    int lastSequence(String entity) {
        return sequences.getOrDefault(entity, 0);
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

    long relativeBucket(long millis) {
        return Math.floorDiv(millis, bucketMillis) - baseBucket;
    }

    private final class EntityExpiry implements Expiry<String, EntityMeter> {
        @Override
        public long expireAfterCreate(String key, EntityMeter value, long currentTime) {
            return nanosLeft(value, currentTime);
        }

        @Override
        public long expireAfterUpdate(String key, EntityMeter value, long currentTime, long currentDuration) {
            return nanosLeft(value, currentTime);
        }

        @Override
        public long expireAfterRead(String key, EntityMeter value, long currentTime, long currentDuration) {
            return nanosLeft(value, currentTime);
        }

        private long nanosLeft(EntityMeter e, long currentNanos) {
            long after = e.expiresAfterBucket(n);
            if (after == Long.MIN_VALUE) {
                return 0;
            }
            if (after == Long.MAX_VALUE) {
                return Long.MAX_VALUE;
            }
            long expiresAtMillis = millisOf(Math.max(after, relativeBucket(TimeUnit.NANOSECONDS.toMillis(currentNanos))) + 2);
            return TimeUnit.MILLISECONDS.toNanos(expiresAtMillis) - currentNanos;
        }
    }
}
