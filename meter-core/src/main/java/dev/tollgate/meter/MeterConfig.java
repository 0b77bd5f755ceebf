package dev.tollgate.meter;

import java.time.Duration;
import java.util.Objects;

/**
 * The counting figures of SPEC §5: the threshold (strictly more than it flags), the sliding
 * window and the bucket width. Immutable; validated here, at the boundary, with messages that
 * name the key, the value and what was expected.
 *
 * @param threshold posts in one window above which an entity is flagged (1,000,000)
 * @param window    the sliding window (24h)
 * @param bucket    the bucket width (1m); must divide the window
 * @param maxEntities the bound on tracked entities, in units of a compact entity (an entity with
 *                  a full ring counts as many as its ring's bytes ÷ {@link #BYTES_PER_ENTITY});
 *                  0 = {@link #defaultMaxEntities()}, sized from the heap
 * @param evictionProtectShare entities whose sliding count is above this share of the threshold
 *                  are never evicted for room (0.1: above 100,000 posts at the default threshold)
 */
public record MeterConfig(long threshold, Duration window, Duration bucket, long maxEntities, double evictionProtectShare) {

    /**
     * Heap per tracked compact entity that the default bound assumes (measured: 185 bytes
     * with its id, see the README, P5), rounded up to the P5 target.
     */
    public static final int BYTES_PER_ENTITY = 256;
    /** Share of the maximum heap that the default bound gives the entity table. */
    public static final double DEFAULT_HEAP_SHARE = 0.25;
    public static final double DEFAULT_PROTECT_SHARE = 0.1;

    /** The counting figures with the default table bound and eviction protection. */
    public MeterConfig(long threshold, Duration window, Duration bucket) {
        this(threshold, window, bucket, 0, DEFAULT_PROTECT_SHARE);
    }

    /**
     * The default bound: a quarter of the maximum heap ({@code Runtime.maxMemory()}) divided by
     * {@link #BYTES_PER_ENTITY}; 1,048,576 entities per GiB of heap (4,194,304 per GiB given to the table).
     */
    public static long defaultMaxEntities() {
        return Math.max(1024, (long) (Runtime.getRuntime().maxMemory() * DEFAULT_HEAP_SHARE) / BYTES_PER_ENTITY);
    }

    /** Smallest bucket: keeps bucket tags within 27 bits for more than 40 years of uptime. */
    static final Duration MIN_BUCKET = Duration.ofSeconds(10);
    /** Largest number of buckets in one window (a 24h window at 10s buckets has 8,640). */
    static final int MAX_BUCKETS = 1 << 16;

    public static MeterConfig defaults() {
        return new MeterConfig(1_000_000L, Duration.ofHours(24), Duration.ofMinutes(1));
    }

    public MeterConfig {
        Objects.requireNonNull(window, "meter.window");
        Objects.requireNonNull(bucket, "meter.bucket");
        if (threshold <= 0) {
            throw new IllegalArgumentException("meter.threshold: " + threshold + " (expected: a positive number of posts)");
        }
        if (threshold > (1L << 36)) {
            throw new IllegalArgumentException("meter.threshold: " + threshold + " (expected: at most " + (1L << 36) + ")");
        }
        if (bucket.compareTo(MIN_BUCKET) < 0 || bucket.toMillis() * 1_000_000 != bucket.toNanos()) {
            throw new IllegalArgumentException("meter.bucket: " + format(bucket)
                    + " (expected: a whole number of milliseconds, at least 10s)");
        }
        if (window.compareTo(bucket) <= 0 || window.toMillis() % bucket.toMillis() != 0) {
            throw new IllegalArgumentException("meter.bucket: " + format(bucket)
                    + " (expected: a divisor of meter.window " + format(window) + ")");
        }
        if (window.toMillis() / bucket.toMillis() > MAX_BUCKETS) {
            throw new IllegalArgumentException("meter.window: " + format(window) + " (expected: at most "
                    + MAX_BUCKETS + " buckets of " + format(bucket) + ")");
        }
        if (maxEntities < 0 || maxEntities > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("meter.maxEntities: " + maxEntities
                    + " (expected: a positive number of entities up to " + Integer.MAX_VALUE + ", or 0 for the default sized from the heap)");
        }
        if (maxEntities == 0) {
            maxEntities = defaultMaxEntities();
        }
        if (!(evictionProtectShare > 0 && evictionProtectShare <= 1)) {
            throw new IllegalArgumentException("meter.evictionProtectShare: " + evictionProtectShare
                    + " (expected: a share of the threshold above 0 and at most 1, e.g. 0.1)");
        }
    }

    /** Buckets in one window (1,440 for 24h of 1m). */
    public int bucketsPerWindow() {
        return (int) (window.toMillis() / bucket.toMillis());
    }

    public long bucketMillis() {
        return bucket.toMillis();
    }

    public long windowMillis() {
        return window.toMillis();
    }

    /** The bucket that holds instant {@code millis}: buckets are aligned to the Unix epoch. */
    public long bucketOf(long millis) {
        return Math.floorDiv(millis, bucketMillis());
    }

    /** A duration as the configuration writes it: {@code 24h}, {@code 1m}, {@code 30s}, {@code 250ms}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms != 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms != 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms != 0 && ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
