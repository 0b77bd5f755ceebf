package dev.tollgate.cluster.redis;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.meter.MeterConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background thread that ships this gateway's counts to Redis (SPEC §9): the request path
 * only records into the local meter; this thread drains the meter's changes and ships them.
 *
 * <p>Design. One thread owns everything here but the counters: {@code pending} holds, per entity
 * and bucket, the latest absolute counts drained and not yet applied by Redis. Every tick
 * ({@code nearThresholdFlushInterval}, or at once when Redis recalls an entity) it drains the
 * feed into {@code pending} and asks the {@link Pacer} when each changed entity is due: hot ones
 * and those past their allowance now, those without an allowance with the next flush
 * ({@code flushInterval}), the others when their allowance expires ({@code coldFlushInterval}).
 * A tick ships the entities due now first, in a round of their own, then the cold ones (due
 * with the flush or by expiry) for at most half a tick, the rest in the next ticks: so a hot
 * entity never waits behind a large round (a first sight of 100,000 entities, a full re-ship).
 * An entity leaves {@code pending} only when Redis answered for it, so a failed round loses
 * nothing: it is retried, after a backoff that doubles up to 8 flush intervals, while the feed
 * keeps draining into {@code pending} (newer absolute values replace older).
 *
 * <p>Healing. Redis may lose writes it acknowledged (a master killed before its replica got
 * them, a restart without persistence). So at start, whenever the link's generation changes (a
 * lost connection re-established, or the topology changed: a failover's new master) and after
 * a failed streak ends, the thread refills {@code pending} with every bucket of every entity
 * ({@link ChangeSource#forEachBucket}) and ships it all: max-merge makes the replay harmless
 * where Redis still had the values and restores them where it had lost them. A loss no event
 * announced (a flushed database, a Redis restarted between two exchanges) is found at each flush
 * by a marker key per master ({@link GlobalWindows#dataLost()}: one {@code GET} per master), and
 * healed the same way. (An earlier design re-shipped everything every tenth flush: at a hundred
 * thousand entities and more that is most of the traffic, for a rare fault.)
 *
 * <p>Counters are atomics, read by any thread ({@link #stats()}).
 */
public final class WindowShipper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WindowShipper.class);
    /**
     * A drain reads buckets from the previous drain's time minus this: a record that read the
     * clock just before the previous drain may land in the bucket before it after the drain
     * read that bucket (it re-marks the entity, and this margin makes the next drain include
     * that bucket). Without it every shipment would carry the previous bucket too.
     */
    private static final long DRAIN_MARGIN_MILLIS = 1000;
    /** How long a claim of the node id lasts in Redis unless renewed (each flush renews it). */
    static final long NODE_CLAIM_MILLIS = 10_000;

    /** Told every global figure Redis answers: the gateway uses it for flags and the admin API. */
    @FunctionalInterface
    public interface Listener {
        void onGlobal(String entity, ShipReply reply);
    }

    /**
     * Shipping figures for the metrics: rounds (shipments), entities applied, failed rounds,
     * Redis commands and request bytes, entities waiting now (changed and not shipped yet: due, or
     * within their allowance), full re-ships done, recalls heard, buckets adopted from Redis, and
     * whether another running process uses this gateway's node id.
     */
    public record Stats(long rounds, long entitiesShipped, long failures, long commands, long bytesSent, int pending,
            long reships, long recalls, long adopted, boolean nodeIdConflict) {
    }

    private final GlobalWindows windows;
    private final ChangeSource source;
    private final Clock clock;
    private final Listener listener;
    private final long flushNanos;
    private final long tickNanos;
    private final GlobalWindows.Pacing pacing;
    private final Thread thread;
    /** When this shipper started: only buckets older than this are adopted from Redis (see {@link #adopt}). */
    private final long startMillis;
    private final Queue<String> recalled = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    // owned by the shipper thread
    private final Map<String, TreeMap<Long, BucketCounts>> pending = new HashMap<>();
    private final Pacer pacer;
    /** Changed since the last tick: to be given a lane. */
    private final Set<String> changed = new HashSet<>();
    /** No allowance: shipped with the next flush. */
    private final Set<String> nextFlush = new LinkedHashSet<>();
    /** Due and not hot: shipped for at most half a tick per tick, in this order. */
    private final Set<String> cold = new LinkedHashSet<>();
    private long lastDrainMillis = Long.MIN_VALUE;
    private volatile long seenGeneration = -1;
    private int failedStreak;

    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong shipped = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong reships = new AtomicLong();
    private final AtomicLong recalls = new AtomicLong();
    private final AtomicLong adopted = new AtomicLong();
    private long conflictSinceNanos;
    private volatile boolean nodeIdConflict;
    private volatile int pendingSize;
    private volatile int coldSize = -1;

    /**
     * @param flushInterval              an entity without an allowance is shipped this often
     * @param nearThresholdFlushInterval the tick: a hot entity is shipped this often
     * @param coldFlushInterval          how long an allowance lasts (an entity within it is
     *                                   shipped this often); equal to {@code flushInterval}: no
     *                                   entity waits longer than a flush
     */
    public WindowShipper(GlobalWindows windows, ChangeSource source, MeterConfig meter, Clock clock,
            Duration flushInterval, Duration nearThresholdFlushInterval, Duration coldFlushInterval, Listener listener) {
        this.windows = windows;
        this.source = source;
        this.clock = clock;
        this.listener = listener;
        long hotPosts = meter.threshold() * 8 / 10;
        this.flushNanos = flushInterval.toNanos();
        this.tickNanos = nearThresholdFlushInterval.toNanos();
        this.pacing = new GlobalWindows.Pacing(coldFlushInterval, hotPosts);
        this.pacer = new Pacer(hotPosts, coldFlushInterval.toNanos(), 0.25);
        this.startMillis = clock.millis();
        this.thread = new Thread(this::run, "tollgate-redis-shipper-" + windows.nodeId());
        this.thread.setDaemon(true);
        windows.onRecall(entity -> {
            recalled.add(entity);
            LockSupport.unpark(thread);
        });
    }

    public WindowShipper start() {
        thread.start();
        return this;
    }

    public Stats stats() {
        return new Stats(rounds.get(), shipped.get(), failures.get(), windows.commands(), windows.bytesSent(), pendingSize,
                reships.get(), recalls.get(), adopted.get(), nodeIdConflict);
    }

    /** Whether the thread has re-shipped after the link's latest generation change (for tests). */
    boolean caughtUp() {
        return seenGeneration == windows.generation() && coldSize == 0;
    }

    /** Stops the thread after one last attempt to ship what is pending. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long nextFlush = System.nanoTime();
        while (running) {
            long start = System.nanoTime();
            boolean flush = start - nextFlush >= 0;
            try {
                if (flush && failedStreak == 0 && seenGeneration != -1) {
                    checkNodeId(start);
                }
                if (tick(start, flush, flush && seenGeneration != -1 && failedStreak == 0 && windows.dataLost())) {
                    if (flush) {
                        nextFlush = start + flushNanos;
                    }
                } else {
                    nextFlush = start + Math.min(flushNanos << Math.min(failedStreak - 1, 3), flushNanos * 8);
                }
            } catch (RuntimeException e) {
                failures.incrementAndGet();
                log.error("Redis shipper: round failed unexpectedly; counts stay pending", e);
                nextFlush = start + flushNanos;
            }
            long wake = failedStreak > 0 ? nextFlush : Math.min(nextFlush, start + tickNanos);
            while (running && wake - System.nanoTime() > 0 && (failedStreak > 0 || recalled.isEmpty())) {
                LockSupport.parkNanos(this, wake - System.nanoTime());
            }
        }
        try {
            drainChanges();
            cold.addAll(pending.keySet());
            ship(cold, Long.MAX_VALUE);
        } catch (RuntimeException e) {
            log.warn("Redis shipper: the last round before closing failed; {} entities stay unshipped", pending.size(), e);
        }
    }

    /**
     * One tick: drains, gives each changed entity its lane, ships the entities due now, then the
     * cold ones for at most half a tick (all of those without an allowance if {@code flush});
     * everything first if {@code lost} (Redis lost data) or the link's generation changed. False
     * if Redis failed.
     */
    private boolean tick(long nowNanos, boolean flush, boolean lost) {
        long generation = windows.generation();
        if (generation != seenGeneration || lost) {
            if (lost) {
                log.warn("Redis shipper: a Redis master lost its data (its marker key is gone); re-shipping every entity's buckets");
            }
            seenGeneration = generation;
            reshipAll();
        }
        drainChanges();
        Set<String> now = new LinkedHashSet<>();
        for (String e; (e = recalled.poll()) != null; ) {
            recalls.incrementAndGet();
            pacer.recalled(e, nowNanos);
            if (!pending.containsKey(e)) {
                source.bucketsOf(e, this::keep); // nothing unshipped: ship what it has anyway, to hear the news
            }
            if (pending.containsKey(e)) {
                now.add(e);
            }
        }
        for (String e : changed) {
            TreeMap<Long, BucketCounts> buckets = pending.get(e);
            switch (pacer.classify(e, buckets.values())) {
                case NOW -> now.add(e);
                case NEXT_FLUSH -> nextFlush.add(e);
                case LATER -> { } // the pacer holds its deadline
            }
        }
        changed.clear();
        pacer.expire(nowNanos, e -> {
            if (pending.containsKey(e)) {
                cold.add(e);
            } else {
                pacer.forget(e);
            }
        }, e -> {
            if (pending.containsKey(e)) {
                now.add(e);
            } else {
                pacer.forget(e);
            }
        });
        if (flush) {
            cold.addAll(nextFlush);
            nextFlush.clear();
        }
        cold.removeAll(now);
        boolean ok = ship(now, Long.MAX_VALUE) && ship(byGrowth(cold), nowNanos + tickNanos / 2);
        if (!ok) {
            cold.addAll(now);
            return false;
        }
        if (failedStreak > 0) {
            failedStreak = 0;
            log.info("Redis shipper: Redis answers again; re-shipping every entity's buckets");
            reshipAll();
            return ship(byGrowth(cold), nowNanos + tickNanos / 2);
        }
        return true;
    }

    /**
     * Claims this gateway's node id in Redis each flush; another process holding it for longer
     * than a claim lasts (so not the claim of this node's previous process, killed and restarted)
     * is an error in the deployment, logged once and shown in the stats (a metric).
     */
    private void checkNodeId(long nowNanos) {
        if (!windows.nodeIdTakenElsewhere(NODE_CLAIM_MILLIS)) {
            conflictSinceNanos = 0;
            if (nodeIdConflict) {
                nodeIdConflict = false;
                log.info("Redis shipper: node id {} is this gateway's alone again", windows.nodeId());
            }
        } else if (conflictSinceNanos == 0) {
            conflictSinceNanos = nowNanos;
        } else if (!nodeIdConflict && nowNanos - conflictSinceNanos > 2 * NODE_CLAIM_MILLIS * 1_000_000) {
            nodeIdConflict = true;
            log.error("Redis shipper: another running gateway uses node id {} (cluster.nodeId): their counts overwrite each "
                    + "other's in Redis (an undercount) and their ledger records collide; give each gateway its own nodeId",
                    windows.nodeId());
        }
    }

    /**
     * Orders the cold lane by unshipped posts, most first: when the lane is longer than a tick's
     * half can ship (a wave of first sights or expiries), the entities that could matter for a
     * crossing go first and only the lightest wait.
     */
    private Set<String> byGrowth(Set<String> lane) {
        if (lane.size() < 2) {
            return lane;
        }
        List<Map.Entry<String, Long>> order = new ArrayList<>(lane.size());
        for (String e : lane) {
            TreeMap<Long, BucketCounts> b = pending.get(e);
            order.add(Map.entry(e, b == null ? 0 : pacer.growth(e, b.values())));
        }
        order.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        lane.clear();
        order.forEach(x -> lane.add(x.getKey()));
        return lane;
    }

    private void drainChanges() {
        long now = clock.millis();
        long from = lastDrainMillis == Long.MIN_VALUE ? Long.MIN_VALUE : lastDrainMillis - DRAIN_MARGIN_MILLIS;
        lastDrainMillis = now;
        source.drain(from, this::keep);
    }

    /**
     * Ships the pending counts of {@code due} (those not tried before {@code stopAtNanos} stay
     * in it, as do all on failure); false if Redis failed any.
     */
    private boolean ship(Set<String> due, long stopAtNanos) {
        try {
            return shipNow(due, stopAtNanos);
        } finally {
            pendingSize = pending.size();
            coldSize = cold.size();
        }
    }

    private boolean shipNow(Set<String> due, long stopAtNanos) {
        due.retainAll(pending.keySet());
        if (due.isEmpty()) {
            return true;
        }
        Map<String, List<BucketCounts>> shipment = new LinkedHashMap<>();
        for (String e : due) {
            shipment.put(e, new ArrayList<>(pending.get(e).values()));
        }
        long start = System.nanoTime();
        GlobalWindows.Shipped answer = windows.shipAll(shipment, pacing, stopAtNanos);
        rounds.incrementAndGet();
        for (ShipReply r : answer.replies().values()) {
            pending.remove(r.entity());
            due.remove(r.entity());
            nextFlush.remove(r.entity());
            pacer.shipped(r.entity(), shipment.get(r.entity()), r, start);
            adopt(r, shipment.get(r.entity()));
            try {
                listener.onGlobal(r.entity(), r);
            } catch (RuntimeException ex) {
                log.error("Redis shipper: listener failed on {}", r.entity(), ex);
            }
        }
        shipped.addAndGet(answer.replies().size());
        if (!answer.ok()) {
            failures.incrementAndGet();
            failedStreak++;
            log.debug("Redis shipper: {} of {} entities not applied; kept for retry", shipment.size() - answer.replies().size(),
                    shipment.size());
            return false;
        }
        return true;
    }

    /**
     * Where Redis holds more of this gateway's bucket than it shipped, this gateway lost counts
     * Redis had (the journal's last second after a {@code kill -9}, an entity evicted from the
     * table and counted anew): it takes Redis's value back into its meter, so its window and
     * Redis agree and its next posts count on top instead of under Redis's old value. What it
     * counted between the loss and this shipment stays counted; the journal records the adoption
     * like any record. Only buckets begun before this shipper started are adopted: a loss is of
     * what an earlier process counted, and a second process wrongly sharing this node id must not
     * feed its counts into this meter.
     */
    private void adopt(ShipReply r, List<BucketCounts> shipped) {
        for (BucketCounts redis : r.ahead()) {
            if (redis.bucketStartMillis() >= startMillis) {
                continue; // counted by this process from its start: not a loss (another process with our node id?)
            }
            for (BucketCounts mine : shipped) {
                if (mine.bucketStartMillis() == redis.bucketStartMillis()) {
                    adopted.incrementAndGet();
                    source.adopt(r.entity(), redis, mine);
                }
            }
        }
    }

    private void reshipAll() {
        reships.incrementAndGet();
        source.forEachBucket(this::keep);
        cold.addAll(pending.keySet());
        changed.clear();
    }

    private void keep(String entity, long bucketStartMillis, long posts, long requests) {
        changed.add(entity);
        TreeMap<Long, BucketCounts> buckets = pending.computeIfAbsent(entity, k -> new TreeMap<>());
        BucketCounts old = buckets.get(bucketStartMillis);
        if (old == null || old.posts() < posts || old.requests() < requests) {
            buckets.put(bucketStartMillis, new BucketCounts(bucketStartMillis,
                    old == null ? posts : Math.max(old.posts(), posts), old == null ? requests : Math.max(old.requests(), requests)));
        }
    }
}
