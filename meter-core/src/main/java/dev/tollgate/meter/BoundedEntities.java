package dev.tollgate.meter;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meter's entities and their bound: an {@link EntityTable} (open addressing, lock-free reads)
 * holding at most {@link MeterConfig#maxEntities()} weight units: a compact entity weighs 1, one
 * with a full ring about 180 at the default window. Two ways out of it, both by retiring the
 * entity first (a frozen window that a late writer detects, so no count is lost or counted twice;
 * the one limit is in {@link FullWindow#retire}) and only then removing it, under the table
 * segment's monitor:
 * <ul>
 *   <li><b>Expiry</b> ({@link #sweep}, once per bucket): an entity goes when nothing of it can
 *       matter any more (its window, its open incident and the 24h after its last damage period
 *       are all in the past); see {@link EntityMeter#expiresAfterBucket}.</li>
 *   <li><b>Eviction</b> (when the bound is reached, see {@link #evictForRoom}): never an entity
 *       with an incident or a count above {@link MeterConfig#evictionProtectShare()} of the
 *       threshold; entities without posts in the window first, then those with posts, fewest
 *       posts first. If nothing can be evicted, a new entity is not tracked (counted in
 *       {@link #untracked()}); tracked ones are never dropped for it.</li>
 * </ul>
 * Eviction and expiry run under the eviction lock (one at a time); the record path takes no
 * lock unless it creates an entity (the segment's monitor) or the table is full.
 */
final class BoundedEntities {
    private static final Logger log = LoggerFactory.getLogger(Meter.class);

    private final Clock clock;
    private final int n;
    /** The bound on the table, in weight units (a compact entity is 1). */
    private final long capacity;
    /** Entities above this sliding count are never evicted. */
    private final long protectAbove;
    /** Weight of an entity with a full ring: its two rings of 2n words in units of {@link MeterConfig#BYTES_PER_ENTITY}. */
    private final int fullWeight;
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

    BoundedEntities(MeterConfig config, Clock clock) {
        this.clock = clock;
        this.n = config.bucketsPerWindow();
        this.capacity = config.maxEntities();
        this.fullWeight = (int) Math.max(2, (32L * n + MeterConfig.BYTES_PER_ENTITY) / MeterConfig.BYTES_PER_ENTITY);
        this.protectAbove = (long) Math.floor(config.threshold() * config.evictionProtectShare());
        this.entities = new EntityTable(System.nanoTime() ^ System.identityHashCode(this));
    }

    long hash(String id) {
        return entities.hash(id);
    }

    EntityMeter get(String id, long h) {
        return entities.get(id, h);
    }

    EntityMeter get(String id) {
        return entities.get(id);
    }

    /** The entity of {@code id}, created whatever the bound: for a restore, before any record. */
    EntityMeter getOrCreate(String id) {
        return entities.getOrCreate(id, entities.hash(id), this::create);
    }

    void remove(EntityMeter e) {
        entities.remove(e);
    }

    void forEach(EntityTable.Visitor visitor) {
        entities.forEach(visitor);
    }

    int size() {
        return entities.size();
    }

    long capacity() {
        return capacity;
    }

    long weight() {
        return weight.get();
    }

    long evicted() {
        return evicted.sum();
    }

    long untracked() {
        return untracked.sum();
    }

    /** The entity of {@code id}, created if absent and the bound allows; null if it cannot be tracked. */
    EntityMeter insert(String id, long h, long b) {
        if (weight.get() >= capacity && !makeRoom(b)) {
            EntityMeter e = entities.get(id, h);
            if (e == null) {
                untracked.increment();
            }
            return e;
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
    void retired(int how) {
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

    /** Once per tick: expiry once per bucket, and eviction ahead of new entities when the bound is near. */
    void sweep(long b) {
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
}
