package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.config.GatewayConfig.Mode;
import dev.tollgate.meter.MeterView;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The enforcement modes (SPEC §5): {@code meter} never interferes; {@code warn} adds the IETF
 * RateLimit headers; {@code block} adds them too and answers 429 while the entity's sliding count
 * is above the threshold, that is from its flag until enough posts have left the window.
 */
final class Enforcement {
    private final Mode mode;
    private final MeterView meter;
    private final long threshold;
    private final String policy;

    Enforcement(Mode mode, MeterView meter) {
        this.mode = mode;
        this.meter = meter;
        this.threshold = meter.config().threshold();
        this.policy = "\"posts-24h\";q=" + threshold + ";w=" + meter.config().window().toSeconds();
    }

    Mode mode() {
        return mode;
    }

    /** The sliding count when the mode needs it, else -1 (meter mode reads nothing). */
    long countFor(String entity) {
        return mode == Mode.METER ? -1 : meter.posts24h(entity);
    }

    /**
     * True in block mode above the threshold, once the flag is durable: a 429 shows the flag, so
     * it waits for the flag's ledger record like every other view.
     */
    boolean blocks(String entity, long count) {
        return mode == Mode.BLOCK && count > threshold && !meter.flagPending(entity);
    }

    /** Seconds until a blocked entity's count is back at the threshold; at least 1. */
    long retryAfterSeconds(String entity) {
        return Math.max(1, ceilSeconds(meter.millisUntilAtMost(entity, threshold)));
    }

    /** Adds {@code RateLimit-Policy} and {@code RateLimit} for an entity at {@code count}. */
    void addHeaders(HttpHeaders h, String entity, long count) {
        if (mode == Mode.METER || count < 0) {
            return;
        }
        long remaining = Math.max(0, threshold - count);
        long until = count == 0 ? 0 : meter.millisUntilAtMost(entity, remaining > 0 ? count - 1 : threshold - 1);
        h.set("RateLimit-Policy", policy);
        h.set("RateLimit", "\"posts-24h\";r=" + remaining + ";t=" + ceilSeconds(until));
    }

    private static long ceilSeconds(long millis) {
        return (millis + 999) / 1000;
    }
}
