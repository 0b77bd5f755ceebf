package dev.tollgate.gateway.access;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * A warning that may happen thousands of times a second (every request refused while a scraper
 * sends garbage, every 502 while the upstream is down) logged at most once per interval, with
 * how many were not logged since the last line. Thread-safe: one CAS decides who logs.
 */
public final class RateLimitedWarning {
    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextNanos = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong suppressed = new AtomicLong();

    public RateLimitedWarning(Logger log, long interval, TimeUnit unit) {
        this.log = log;
        this.intervalNanos = unit.toNanos(interval);
    }

    /** Logs {@code format} with {@code args} unless a line was logged less than an interval ago. */
    public void warn(long nowNanos, String format, Object... args) {
        long next = nextNanos.get();
        if ((next != Long.MIN_VALUE && nowNanos - next < 0) || !nextNanos.compareAndSet(next, nowNanos + intervalNanos)) {
            suppressed.incrementAndGet();
            return;
        }
        long skipped = suppressed.getAndSet(0);
        if (skipped > 0) {
            Object[] more = java.util.Arrays.copyOf(args, args.length + 1);
            more[args.length] = skipped;
            log.warn(format + " ({} more like it since the last line)", more);
        } else {
            log.warn(format, args);
        }
    }
}
