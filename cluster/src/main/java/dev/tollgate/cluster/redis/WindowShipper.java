package dev.tollgate.cluster.redis;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.meter.MeterConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
 * ({@code nearThresholdFlushInterval}) it drains the feed into {@code pending}; every
 * {@code flushInterval} it ships all of {@code pending}, and on the ticks between only the hot
 * entities (last known global count, or this gateway's shipment alone, above 80 % of the
 * threshold). An entity leaves {@code pending} only when Redis answered for it, so a failed
 * round loses nothing: it is retried, after a backoff that doubles up to 8 flush intervals,
 * while the feed keeps draining into {@code pending} (newer absolute values replace older).
 *
 * <p>Healing. Redis may lose writes it acknowledged (a master killed before its replica got
 * them, a restart without persistence). So at start, whenever the link's generation changes (a
 * lost connection re-established, or the topology changed: a failover's new master) and after
 * a failed streak ends, the thread refills {@code pending} with every bucket of every entity
 * ({@link ChangeSource#forEachBucket}) and ships it all: max-merge makes the replay harmless
 * where Redis still had the values and restores them where it had lost them. Every
 * {@link #REFRESH_EVERY_FLUSHES}th flush is such a full re-ship too: it heals a loss no event
 * announced (a Redis restarted between two of our exchanges, a flushed database), and it
 * refreshes this gateway's view of entities it no longer gets traffic for (a flag raised
 * through another gateway), at the price of one full round per ten flushes.
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
    /** Every this many flushes the flush is a full re-ship (see "Healing" above). */
    static final int REFRESH_EVERY_FLUSHES = 10;

    /** Told every global figure Redis answers: the gateway uses it for flags and the admin API. */
    @FunctionalInterface
    public interface Listener {
        void onGlobal(String entity, ShipReply reply);
    }

    /**
     * Shipping figures for the metrics: rounds (shipments), entities applied, failed rounds,
     * Redis commands and request bytes, entities waiting now, full re-ships done.
     */
    public record Stats(long rounds, long entitiesShipped, long failures, long commands, long bytesSent, int pending,
            long reships) {
    }

    private final GlobalWindows windows;
    private final ChangeSource source;
    private final Clock clock;
    private final Listener listener;
    private final long hotPosts;
    private final long flushNanos;
    private final long tickNanos;
    private final Thread thread;
    private volatile boolean running = true;

    // owned by the shipper thread
    private final Map<String, TreeMap<Long, BucketCounts>> pending = new HashMap<>();
    private final Map<String, Long> hot = new HashMap<>();
    private long lastDrainMillis = Long.MIN_VALUE;
    private volatile long seenGeneration = -1;
    private int failedStreak;

    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong shipped = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong reships = new AtomicLong();
    private volatile int pendingSize;

    public WindowShipper(GlobalWindows windows, ChangeSource source, MeterConfig meter, Clock clock,
            Duration flushInterval, Duration nearThresholdFlushInterval, Listener listener) {
        this.windows = windows;
        this.source = source;
        this.clock = clock;
        this.listener = listener;
        this.hotPosts = meter.threshold() * 8 / 10;
        this.flushNanos = flushInterval.toNanos();
        this.tickNanos = nearThresholdFlushInterval.toNanos();
        this.thread = new Thread(this::run, "tollgate-redis-shipper-" + windows.nodeId());
        this.thread.setDaemon(true);
    }

    public WindowShipper start() {
        thread.start();
        return this;
    }

    public Stats stats() {
        return new Stats(rounds.get(), shipped.get(), failures.get(), windows.commands(), windows.bytesSent(), pendingSize,
                reships.get());
    }

    /** Whether the thread has re-shipped after the link's latest generation change (for tests). */
    boolean caughtUp() {
        return seenGeneration == windows.generation();
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
        long nextFull = System.nanoTime();
        long nextRefresh = nextFull + REFRESH_EVERY_FLUSHES * flushNanos;
        while (running) {
            long start = System.nanoTime();
            boolean full = start - nextFull >= 0;
            boolean refresh = full && start - nextRefresh >= 0;
            if (refresh) {
                nextRefresh = start + REFRESH_EVERY_FLUSHES * flushNanos;
            }
            try {
                if (round(full, refresh)) {
                    if (full) {
                        nextFull = start + flushNanos;
                    }
                } else {
                    nextFull = start + Math.min(flushNanos << Math.min(failedStreak - 1, 3), flushNanos * 8);
                }
            } catch (RuntimeException e) {
                failures.incrementAndGet();
                log.error("Redis shipper: round failed unexpectedly; counts stay pending", e);
                nextFull = start + flushNanos;
            }
            long wake = failedStreak > 0 ? nextFull : Math.min(nextFull, start + tickNanos);
            while (running && wake - System.nanoTime() > 0) {
                LockSupport.parkNanos(this, wake - System.nanoTime());
            }
        }
        try {
            round(true, false);
        } catch (RuntimeException e) {
            log.warn("Redis shipper: the last round before closing failed; {} entities stay unshipped", pending.size(), e);
        }
    }

    /**
     * Drains, then ships all pending ({@code full}) or the hot entities, all buckets of every
     * entity first if {@code refresh} or the link's generation changed; false if Redis failed any.
     */
    private boolean round(boolean full, boolean refresh) {
        long now = clock.millis();
        long generation = windows.generation();
        if (generation != seenGeneration || refresh) {
            seenGeneration = generation;
            reshipAll();
            full = true;
        }
        long from = lastDrainMillis == Long.MIN_VALUE ? Long.MIN_VALUE : lastDrainMillis - DRAIN_MARGIN_MILLIS;
        lastDrainMillis = now;
        source.drain(from, this::keep);
        Map<String, List<BucketCounts>> shipment = new HashMap<>();
        for (Map.Entry<String, TreeMap<Long, BucketCounts>> e : pending.entrySet()) {
            if (full || isHot(e.getKey(), e.getValue())) {
                shipment.put(e.getKey(), new ArrayList<>(e.getValue().values()));
            }
        }
        if (shipment.isEmpty()) {
            pendingSize = pending.size();
            return true;
        }
        Map<String, ShipReply> replies = windows.shipAll(shipment);
        rounds.incrementAndGet();
        for (ShipReply r : replies.values()) {
            pending.remove(r.entity());
            if (r.posts24h() > hotPosts || r.openSequence() != 0) {
                hot.put(r.entity(), r.posts24h());
            } else {
                hot.remove(r.entity());
            }
            try {
                listener.onGlobal(r.entity(), r);
            } catch (RuntimeException ex) {
                log.error("Redis shipper: listener failed on {}", r.entity(), ex);
            }
        }
        shipped.addAndGet(replies.size());
        pendingSize = pending.size();
        if (replies.size() < shipment.size()) {
            failures.incrementAndGet();
            failedStreak++;
            log.debug("Redis shipper: {} of {} entities not applied; kept for retry", shipment.size() - replies.size(),
                    shipment.size());
            return false;
        }
        if (failedStreak > 0) {
            failedStreak = 0;
            log.info("Redis shipper: Redis answers again; re-shipping every entity's buckets");
            reshipAll();
            return round(true, false);
        }
        return true;
    }

    private void reshipAll() {
        reships.incrementAndGet();
        source.forEachBucket(this::keep);
    }

    private boolean isHot(String entity, TreeMap<Long, BucketCounts> buckets) {
        if (hot.containsKey(entity)) {
            return true;
        }
        long posts = 0;
        for (BucketCounts b : buckets.values()) {
            posts += b.posts();
        }
        return posts > hotPosts;
    }

    private void keep(String entity, long bucketStartMillis, long posts, long requests) {
        TreeMap<Long, BucketCounts> buckets = pending.computeIfAbsent(entity, k -> new TreeMap<>());
        BucketCounts old = buckets.get(bucketStartMillis);
        if (old == null || old.posts() < posts || old.requests() < requests) {
            buckets.put(bucketStartMillis, new BucketCounts(bucketStartMillis,
                    old == null ? posts : Math.max(old.posts(), posts), old == null ? requests : Math.max(old.requests(), requests)));
        }
    }
}
