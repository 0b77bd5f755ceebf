package dev.tollgate.cluster.redis;

import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.Rounding;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test "gateways": each a real meter-core {@link Meter} with change tracking, a
 * {@link GlobalWindows} with its own node id and a {@link WindowShipper} shipping the meter's
 * changes, as the gateway wires them. Remembers the latest global reply per entity.
 */
final class Gateways implements AutoCloseable {
    static final Duration FLUSH = Duration.ofMillis(100);
    static final Duration NEAR = Duration.ofMillis(50);

    final List<Meter> meters = new ArrayList<>();
    final List<GlobalWindows> windows = new ArrayList<>();
    final List<WindowShipper> shippers = new ArrayList<>();
    final Map<String, GlobalWindows.ShipReply> latest = new ConcurrentHashMap<>();
    /** Per entity, how many replies said "you flagged" (over every gateway). */
    final Map<String, AtomicInteger> flagged = new ConcurrentHashMap<>();

    Gateways(int count, GlobalWindows.Settings settings, MeterConfig config, Clock clock) {
        this(count, settings, config, clock, FLUSH);
    }

    /** {@code cold}: the grant lifetime ({@code coldFlushInterval}); {@link #FLUSH}: every changed entity every flush. */
    Gateways(int count, GlobalWindows.Settings settings, MeterConfig config, Clock clock, Duration cold) {
        for (int i = 0; i < count; i++) {
            Meter meter = new Meter(config, new DamagesTerms(java.util.Currency.getInstance("USD"), new BigDecimal("15000"),
                    1_000_000, Rounding.PRORATED), clock, MeterListener.none());
            GlobalWindows gw = new GlobalWindows(settings, "gw-" + (char) ('a' + i), config, clock);
            ChangeSource source = ChangeSource.of(meter);
            meters.add(meter);
            windows.add(gw);
            shippers.add(new WindowShipper(gw, source, config, clock, FLUSH, NEAR, cold, (e, r) -> {
                latest.put(e, r);
                if (r.flagged() != 0) {
                    flagged.computeIfAbsent(e, k -> new AtomicInteger()).incrementAndGet();
                }
            }).start());
        }
    }

    static GlobalWindows.Settings settings(List<String> uris) {
        return new GlobalWindows.Settings(uris.stream().map(java.net.URI::create).toList(), null, Duration.ofSeconds(2),
                GlobalWindows.Mode.AUTO);
    }

    /** The global posts of {@code entity} in [from, to) as Redis holds them now. */
    long globalPosts(String entity, long fromMillis, long toMillis) {
        return windows.get(0).series(entity, fromMillis, toMillis).buckets().stream()
                .mapToLong(GlobalWindows.BucketCounts::posts).sum();
    }

    @Override
    public void close() {
        shippers.forEach(WindowShipper::close);
        windows.forEach(GlobalWindows::close);
    }
}
