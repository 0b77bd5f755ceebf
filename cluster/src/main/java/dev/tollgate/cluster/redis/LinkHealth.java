package dev.tollgate.cluster.redis;

import java.time.Clock;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Redis link is up or degraded, since when, and its last success: what readyz and
 * the metrics show (SPEC §9: a degraded shared dependency is named, the gateway stays ready).
 * Written by whichever thread finished an exchange; guarded by this object's lock, read rarely.
 * A change of state is logged once (WARN when it degrades, INFO when it recovers), not every
 * failed command.
 */
final class LinkHealth {
    private static final Logger log = LoggerFactory.getLogger(LinkHealth.class);

    private final Clock clock;
    private boolean up = true;
    private Instant since;
    private Instant lastSuccess;
    private long errors;
    private String lastError = "";

    LinkHealth(Clock clock) {
        this.clock = clock;
        this.since = clock.instant();
    }

    synchronized void success() {
        lastSuccess = clock.instant();
        if (!up) {
            up = true;
            since = lastSuccess;
            log.info("Redis: link up again after {} errors", errors);
        }
    }

    synchronized void failure(Throwable e) {
        errors++;
        lastError = e == null ? "unknown" : String.valueOf(e.getMessage());
        if (up) {
            up = false;
            since = clock.instant();
            log.warn("Redis: link degraded (counting goes on locally): {}", lastError);
        }
    }

    synchronized String lastError() {
        return lastError;
    }

    synchronized GlobalWindows.Status status() {
        return new GlobalWindows.Status(up, since, lastSuccess, errors, lastError);
    }
}
