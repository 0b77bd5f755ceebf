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
 */
public record MeterConfig(long threshold, Duration window, Duration bucket) {

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

    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
