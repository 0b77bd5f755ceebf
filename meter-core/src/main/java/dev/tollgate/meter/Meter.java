package dev.tollgate.meter;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
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
 * An {@link EntityTable} (open addressing, lock-free reads) with a bound of
 * {@link MeterConfig#maxEntities()} weight units: a compact entity weighs 1, one with a full
 * ring about 180 at the default window. Two ways out of it, both by retiring the entity first
 * (a frozen window that a late writer detects, so no count is lost or counted twice; the one
 * limit is in {@link FullWindow#retire}) and only then removing it, under the table segment's
 * monitor:
 * <ul>
 *   <li><b>Expiry</b> ({@link #tick}, once per bucket): an entity goes when nothing of it can
 *       matter any more (its window, its open incident and the 24h after its last damage period
 *       are all in the past); see {@link EntityMeter#expiresAfterBucket}.</li>
 *   <li><b>Eviction</b> (when the bound is reached, see {@link #evictForRoom}): never an entity
 *       with an incident or a count above {@link MeterConfig#evictionProtectShare()} of the
 *       threshold; entities without posts in the window first, then those with posts, fewest
 *       posts first. If nothing can be evicted, a new entity is not tracked (counted in
 *       {@link #untrackedRecords()}); tracked ones are never dropped for it.</li>
 * </ul>
 * Eviction and expiry run under {@link #evictionLock} (one at a time); the record path takes no
 * lock unless it creates an entity (the segment's monitor) or the table is full.
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
    /** The bound on the table, in weight units (a compact entity is 1). */
    private final long capacity;
    /** Entities above this sliding count are never evicted. */
    private final long protectAbove;
    /** Weight of an entity with a full ring: its two rings of 2n words in units of {@link MeterConfig#BYTES_PER_ENTITY}. */
    private final int fullWeight;
    /** Absolute bucket of relative bucket 0; relative buckets keep tags within 27 bits. */
    private final long baseBucket;

    private final EntityTable entities;
    /** Weight units held: entities plus (fullWeight - 1) per full ring. */
    private final AtomicLong weight = new AtomicLong();
    /** One eviction or expiry sweep at a time. */
    private final ReentrantLock evictionLock = new ReentrantLock();
    /** No eviction attempt before this bucket: the last one found nothing to evict. */
    private volatile long noRoomUntilBucket = Long.MIN_VALUE;
    /** The bucket of the last expiry sweep; guarded by evictionLock. */
    private long sweptBucket = Long.MIN_VALUE;
    private final LongAdder evicted = new LongAdder();
    private final LongAdder untracked = new LongAdder();
    /** For the rate-limited log line; guarded by evictionLock. */
    private long lastEvictionLogMillis = Long.MIN_VALUE;
    private long evictedSinceLog;
    private long untrackedAtLog;
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
    /** The last bucket computed: a racy cache of immutable values (any thread may replace it). */
    private BucketSpan currentBucket = new BucketSpan(0, 0, 0);
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
        this.capacity = config.maxEntities();
        this.fullWeight = (int) Math.max(2, (32L * n + MeterConfig.BYTES_PER_ENTITY) / MeterConfig.BYTES_PER_ENTITY);
        this.protectAbove = (long) Math.floor(config.threshold() * config.evictionProtectShare());
        this.baseBucket = config.bucketOf(clock.millis()) - 4L * n;
        this.entities = new EntityTable(System.nanoTime() ^ System.identityHashCode(this));
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
                e = create ? insert(entity, h, b) : null;
                if (e == null) {
                    if (create) {
                        untracked.increment();
                    }
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
                java.util.Set<String> c = changed;
                if (c != null && !e.changed) {
                    // after the record: a drain clears the mark before it reads, so a mark seen
                    // set means the drain still to come reads this record; else the entity goes
                    // back in the set (the entity's mark spares a set lookup on every record)
                    e.changed = true;
                    c.add(entity);
                }
            }
            return r;
        }
    }

    /** The entity of {@code id}, created if absent and the bound allows; null if it cannot be tracked. */
    private EntityMeter insert(String id, long h, long b) {
        if (weight.get() >= capacity && !makeRoom(b)) {
            EntityMeter e = entities.get(id, h);
            if (e != null) {
                return e;
            }
            return null;
        }
        return entities.getOrCreate(id, h, this::create);
    }

    private EntityMeter create(String id, long h) {
        weight.incrementAndGet();
        return new EntityMeter(id, h);
    }

    /** Called by an entity that installed its full ring. */
    void promoted() {
        weight.addAndGet(fullWeight - 1);
    }

    /** Weight units an entity gave back when it was retired. */
    private void retired(int how) {
        weight.addAndGet(how == EntityMeter.RETIRED_FULL ? -fullWeight : how == EntityMeter.RETIRED_COMPACT ? -1 : 0);
    }

    /**
     * Frees room for one more entity: evicts a batch if this thread gets the eviction lock. While
     * another thread evicts, lets the table run over the bound by a little slack rather than wait.
     *
     * @return true if there is room now
     */
    private boolean makeRoom(long b) {
        long slack = Math.max(16, capacity / 64);
        if (b < noRoomUntilBucket) {
            return false; // the last attempt found nothing to evict: none before the next bucket
        }
        if (!evictionLock.tryLock()) {
            if (weight.get() < capacity + slack) {
                return true;
            }
            evictionLock.lock();
        }
        try {
            if (weight.get() < capacity) {
                return true;
            }
            evictForRoom(b);
            if (weight.get() < capacity) {
                return true;
            }
            noRoomUntilBucket = b + 1;
            return false;
        } finally {
            evictionLock.unlock();
        }
    }

    /**
     * Evicts down to 15/16 of the bound (so one scan pays for many inserts), never a protected
     * entity (see {@link EntityMeter#evict}). Order: first every entity without posts in the
     * window, least recently active first; then entities with posts, fewest posts first (by
     * powers of two), least recently active first among equals. One lock-free pass counts the
     * candidates per {@link #evictionScore}; a second evicts, under each segment's monitor, those
     * at or above the score that covers the target: first the entities without posts, then, only
     * if they did not free enough, those with posts. Called under {@link #evictionLock}.
     */
    private void evictForRoom(long b) {
        long target = weight.get() - (capacity - Math.max(1, capacity / 16));
        if (target <= 0) {
            return;
        }
        long[] byScore = new long[SCORES_WITH_POSTS + 2 * n + 2];
        entities.forEach((id, e) -> {
            if (!e.protectedAt(n, b, protectAbove)) {
                byScore[evictionScore(e, b)] += e.isFull() ? fullWeight : 1;
            }
        });
        long freed = 0;
        for (int pass = 0; pass < 2 && freed < target; pass++) {
            boolean withPosts = pass == 1;
            int lowest = withPosts ? 0 : SCORES_WITH_POSTS;
            // the lowest score still evicted: walk down from the highest until the target is covered
            int cut = withPosts ? SCORES_WITH_POSTS - 1 : byScore.length - 1;
            long sum = byScore[cut];
            while (cut > lowest && sum < target - freed) {
                sum += byScore[--cut];
            }
            int from = cut;
            int upTo = withPosts ? SCORES_WITH_POSTS - 1 : byScore.length - 1;
            for (int seg = 0; seg < EntityTable.SEGMENTS && freed < target; seg++) {
                long[] got = {0};
                long left = target - freed;
                evicted.add(entities.sweep(seg, e -> {
                    if (got[0] >= left) {
                        return false;
                    }
                    int score = evictionScore(e, b);
                    if (score < from || score > upTo) {
                        return false;
                    }
                    int how = e.evict(n, b, protectAbove, withPosts);
                    if (how == EntityMeter.KEPT) {
                        return false;
                    }
                    retired(how);
                    got[0] += how == EntityMeter.RETIRED_FULL ? fullWeight : 1;
                    return true;
                }));
                freed += got[0];
            }
        }
        logEviction(freed);
    }

    /** Scores below this are entities with posts (40 count classes × 8 age classes). */
    private static final int SCORES_WITH_POSTS = 40 * 8;

    /** Higher is evicted first: see {@link #evictForRoom}. */
    private int evictionScore(EntityMeter e, long b) {
        long age = Math.max(0, Math.min(2L * n + 1, b - e.lastBucket()));
        long count = e.sliding(n, b);
        if (count <= 0) {
            return SCORES_WITH_POSTS + (int) age;
        }
        int magnitude = Math.min(39, 64 - Long.numberOfLeadingZeros(count)); // 1 for 1 post, 17 for 100,000
        return (39 - magnitude) * 8 + (int) Math.min(7, age * 4 / n);
    }

    /** At most one WARN a minute while the bound evicts or refuses entities. Under {@link #evictionLock}. */
    private void logEviction(long freed) {
        evictedSinceLog += freed;
        long now = clock.millis();
        if (lastEvictionLogMillis != Long.MIN_VALUE && now - lastEvictionLogMillis < 60_000) {
            return;
        }
        long refused = untracked.sum();
        log.warn("entity table full: {} entities evicted since the last message ({} in all), {} not tracked ({} since), "
                + "{} tracked, bound {} (meter.maxEntities)", evictedSinceLog, evicted.sum(), refused, refused - untrackedAtLog,
                entities.size(), capacity);
        lastEvictionLogMillis = now;
        evictedSinceLog = 0;
        untrackedAtLog = refused;
    }

    /**
     * Finalizes every incident that is due, raises the flags that finalization makes due, and lets
     * the table drop expired entities. Call it regularly (every second).
     */
    public void tick() {
        long now = clock.millis();
        long b = relativeBucket(now);
        openIncidents.forEach((id, e) -> e.tick(id, this, b, now));
        evictionLock.lock();
        try {
            if (b != sweptBucket) {
                sweptBucket = b;
                for (int seg = 0; seg < EntityTable.SEGMENTS; seg++) {
                    entities.sweep(seg, e -> {
                        int how = e.retireIfIdle(n, b);
                        retired(how);
                        return how != EntityMeter.KEPT;
                    });
                }
                noRoomUntilBucket = Long.MIN_VALUE;
            }
            if (weight.get() > capacity - Math.max(1, capacity / 64) && b >= noRoomUntilBucket) {
                evictForRoom(b); // keep room ahead of new entities, off the request path
                if (weight.get() >= capacity) {
                    noRoomUntilBucket = b + 1;
                }
            }
        } finally {
            evictionLock.unlock();
        }
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

    /**
     * True while {@code incident} is still open in the meter: not final, not even with its final
     * record still on its way to the ledger. A view taken a moment ago may still show it
     * provisional; this is the check to make before writing anything that must precede its final.
     */
    public boolean stillOpen(Incident incident) {
        EntityMeter e = openIncidents.get(incident.entity());
        return e != null && e.openSequence() == incident.sequence();
    }

    private boolean visiblyFlagged(String entity, EntityMeter e) {
        // openIncidents is set after unpublishedFlags (see flagged): an entity found there and not unpublished is durable;
        // hasOpenIncident alone turns true before the flag reaches the listener, so it cannot tell
        return (e.hasOpenIncident() && openIncidents.get(entity) == e && !unpublishedFlags.containsKey(entity))
                || unpublishedFinals.containsKey(entity);
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
        entities.forEach((id, e) -> {
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
                e.changed = false; // before reading, as above
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
                EntityMeter e = entities.getOrCreate(ri.entity(), entities.hash(ri.entity()), this::create);
                e.restoreIncident(relativeBucket(ri.lastFinalStartMillis()), ri.lastFinalSequence(), relativeBucket(ri.openFlaggedAtMillis()),
                        ri.openFlaggedAtMillis(), ri.openFlagCount(), ri.openSequence(), n);
                sequences.merge(ri.entity(), Math.max(ri.lastFinalSequence(), ri.openSequence()), Math::max);
                if (ri.openSequence() > 0) {
                    openIncidents.put(ri.entity(), e);
                }
            }
            finals.addAll(finalIncidents);
        } finally {
            restoring = false;
        }
        if (changed != null) {
            changed.clear();
            entities.forEach((id, e) -> e.changed = false);
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
        return entities.size();
    }

    /** The bound on tracked entities, in weight units ({@link MeterConfig#maxEntities()}). */
    public long entityCapacity() {
        return capacity;
    }

    /** Weight units held now: compact entities count 1, entities with a full ring about 180 at the default window. */
    public long entityWeight() {
        return weight.get();
    }

    /** Entities evicted for room since start. */
    public long evictedEntities() {
        return evicted.sum();
    }

    /** Records not counted because their new entity could not be tracked (the table full of protected entities). */
    public long untrackedRecords() {
        return untracked.sum();
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
        return entities.get(entity);
    }

    // ---- called by EntityMeter ------------------------------------------------------------

    void flagged(String entity, EntityMeter e, Incident incident) {
        sequences.merge(entity, incident.sequence(), Math::max);
        unpublishedFlags.put(entity, incident); // hidden until the listener (the ledger) says it is durable
        openIncidents.put(entity, e);
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
