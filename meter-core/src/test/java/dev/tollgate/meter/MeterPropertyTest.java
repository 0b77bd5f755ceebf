package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.Rounding;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Currency;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Random multi-window traffic histories, driven through {@link Meter} and {@link ReferenceMeter}
 * with one controlled clock; every count, flag, period and amount must agree. The seed of a
 * failing history is in the assertion message: rerun it with {@code -Dtollgate.seed=…}.
 */
class MeterPropertyTest {
    private static final int HISTORIES = Integer.getInteger("tollgate.histories", 3000);

    @Test
    void meter_agreesWithReferenceModel_onRandomHistories() {
        Long fixed = Long.getLong("tollgate.seed");
        SplittableRandom seeds = new SplittableRandom(20261124L);
        int runs = fixed != null ? 1 : HISTORIES;
        int flagged = 0;
        for (int k = 0; k < runs; k++) {
            long seed = fixed != null ? fixed : seeds.nextLong();
            flagged += runHistory(seed, MeterListener.none()).incidents().isEmpty() ? 0 : 1;
        }
        // the generator must exercise the billing rules, not only quiet traffic
        assertThat(flagged).as("histories with at least one flag").isGreaterThan(runs / 5);
    }

    /** Runs one random history through the meter (telling {@code extra} of its events too) and the reference; returns the reference. */
    static ReferenceMeter runHistory(long seed, MeterListener extra) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MeterConfig config = switch (rnd.nextInt(3)) {
            case 0 -> new MeterConfig(50 + rnd.nextInt(2000), Duration.ofMinutes(10), Duration.ofSeconds(10));
            case 1 -> new MeterConfig(50 + rnd.nextInt(2000), Duration.ofMinutes(20), Duration.ofMinutes(1));
            default -> new MeterConfig(50 + rnd.nextInt(2000), Duration.ofHours(1), Duration.ofMinutes(2));
        };
        Rounding rounding = Rounding.values()[rnd.nextInt(3)];
        DamagesTerms terms = new DamagesTerms(Currency.getInstance("USD"), new BigDecimal("15000"), config.threshold(), rounding);
        long bucket = config.bucketMillis();
        long window = config.windowMillis();
        long start = 1_764_000_000_000L + rnd.nextLong(bucket);
        ManualClock clock = new ManualClock(start);
        AtomicInteger flags = new AtomicInteger();
        AtomicInteger finals = new AtomicInteger();
        Meter meter = new Meter(config, terms, clock, new MeterListener() {
            @Override
            public void onFlag(Incident incident) {
                flags.incrementAndGet();
                extra.onFlag(incident);
            }

            @Override
            public void onFinal(Incident incident) {
                finals.incrementAndGet();
                extra.onFinal(incident);
            }
        });
        ReferenceMeter ref = new ReferenceMeter(config, terms);
        int entityCount = 1 + rnd.nextInt(4);
        long maxPosts = Math.max(1, config.threshold() / (2 + rnd.nextInt(20)));
        int events = 100 + rnd.nextInt(500);
        long t = start;
        String context = "seed=" + seed + " config=" + config + " rounding=" + rounding;
        for (int ev = 0; ev < events; ev++) {
            int gapKind = rnd.nextInt(100);
            long gap = gapKind < 80 ? rnd.nextLong(bucket) : gapKind < 97 ? rnd.nextLong(window / 4) : rnd.nextLong(2 * window);
            t += gap;
            clock.set(t);
            String id = "e" + rnd.nextInt(entityCount);
            int kind = rnd.nextInt(20);
            if (kind == 0) {
                meter.tick();
                ref.tick(t);
            } else if (kind == 1) {
                assertThat(meter.posts24h(id)).as("posts24h of %s at event %d, %s", id, ev, context)
                        .isEqualTo(ref.posts24h(id, t));
            } else {
                long posts = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextLong(maxPosts);
                long requests = 1 + rnd.nextInt(3);
                long got = meter.record(id, posts, requests);
                ref.record(id, posts, requests, t);
                long expected = ref.posts24h(id, t);
                assertThat(got).as("count returned by record for %s at event %d, %s", id, ev, context).isEqualTo(expected);
            }
            assertThat(meter.flagged(id)).as("flagged %s at event %d, %s", id, ev, context).isEqualTo(ref.flagged(id));
        }
        List<ReferenceMeter.Ref> actual = new ArrayList<>();
        for (Incident i : meter.incidents()) {
            actual.add(ReferenceMeter.of(i));
        }
        List<ReferenceMeter.Ref> expected = ref.incidents();
        assertThat(actual).as("incidents, %s", context).containsExactlyElementsOf(expected);
        assertThat(flags.get()).as("flag events, %s", context).isEqualTo(expected.size());
        assertThat(finals.get()).as("final events, %s", context).isEqualTo(ref.finals.size());
        return ref;
    }
}
