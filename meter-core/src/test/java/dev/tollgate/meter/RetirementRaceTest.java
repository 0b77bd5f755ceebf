package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 8: a single record above the promotion mark (threshold ÷ 4) that races with the
 * retirement of the idle entity it lands in must be counted once. The retirement freezes the
 * compact window, finds the fresh record and puts a thawed copy back; the writer's promotion of
 * the old array then fails, and the old code recorded the posts a second time into the copy.
 */
class RetirementRaceTest {
    private static final long MINUTE = 60_000;

    /**
     * The race itself, on one entity at a time: a writer records a batch above the promotion mark
     * while the table's sweep retires the idle entity. Both start together from a spin barrier,
     * each after a random short spin, so that over many rounds the record lands between the
     * sweep's idle check and its freeze. Fails on the old code (the batch counted twice).
     */
    @Test
    void bigRecord_landingWhileTheSweepRetires_isCountedOnce() throws Exception {
        Meter meter = new Meter(new MeterConfig(1000, Duration.ofSeconds(100), Duration.ofSeconds(10)), DamagesTerms.standard(),
                new ManualClock(1_764_000_000_000L), MeterListener.none());
        int n = meter.bucketsPerWindow();
        long big = 300; // above the promotion mark of 250
        long first = 100;
        long now = first + n + 1; // the entity is idle at this bucket: its only bucket left the window
        int rounds = 100_000;
        EntityMeter[] entity = new EntityMeter[1];
        AtomicInteger phase = new AtomicInteger();
        long[] counted = new long[rounds];
        long[] results = new long[rounds];
        MeterConcurrencyTest.runConcurrently(2, worker -> {
            SplittableRandom rnd = new SplittableRandom(worker);
            for (int round = 0; round < rounds; round++) {
                if (worker == 0) {
                    EntityMeter e = new EntityMeter("x", 0);
                    e.record("x", meter, first, 0, 1, 1);
                    entity[0] = e;
                    phase.incrementAndGet(); // 2 * round + 1: go
                } else {
                    while (phase.get() != 2 * round + 1) {
                        Thread.onSpinWait();
                    }
                }
                EntityMeter e = entity[0];
                spin(rnd.nextInt(64));
                if (worker == 0) {
                    results[round] = e.record("x", meter, now, 0, big, 1);
                    while (phase.get() != 2 * round + 2) {
                        Thread.onSpinWait();
                    }
                    counted[round] = e.posts("x", meter, now, 0);
                } else {
                    e.retireIfIdle(n, now);
                    phase.incrementAndGet(); // 2 * round + 2: retirement done
                }
            }
        });
        int twice = 0;
        for (int round = 0; round < rounds; round++) {
            if (results[round] == FullWindow.RESULT_RETIRED) {
                continue; // the meter records it again in a new entity: once
            }
            if (counted[round] != big) {
                twice++;
            }
        }
        assertThat(twice).as("rounds out of %d where the batch was not counted exactly once", rounds).isZero();
    }

    private static void spin(int k) {
        for (int i = 0; i < k; i++) {
            Thread.onSpinWait();
        }
    }

    /** The same through the meter's public API, many entities at a time, the sweep in tick(). */
    @Test
    void bigRecords_whileIdleEntitiesRetire_areCountedOnce() throws Exception {
        MeterConfig config = MeterConfig.defaults();
        int n = config.bucketsPerWindow();
        long big = config.threshold() / 4 + 50_000; // above the promotion mark, fits a compact entry
        int entities = 2_000;
        long start = 1_764_000_000_000L / MINUTE * MINUTE;
        ManualClock clock = new ManualClock(start);
        Meter meter = new Meter(config, DamagesTerms.standard(), clock, MeterListener.none());
        long doubled = 0;
        for (int round = 0; round < 6; round++) {
            long last = config.bucketOf(clock.millis());
            String prefix = "r" + round + "-";
            for (int i = 0; i < entities; i++) {
                meter.record(prefix + i, 1, 1);
            }
            // idle from here on: nothing of these entities matters after bucket last + n
            clock.set((last + n + 1) * MINUTE);
            AtomicBoolean done = new AtomicBoolean();
            long retireAt = (last + n + 2) * MINUTE;
            MeterConcurrencyTest.runConcurrently(2, worker -> {
                if (worker == 0) {
                    for (int i = 0; i < entities; i++) {
                        assertThat(meter.record(prefix + i, big, 1)).isNotNegative();
                    }
                    done.set(true);
                } else {
                    clock.set(retireAt);
                    while (!done.get()) {
                        meter.tick();
                    }
                }
            });
            for (int i = 0; i < entities; i++) {
                long posts = meter.posts24h(prefix + i);
                if (posts != big) {
                    doubled++;
                    assertThat(posts).as("round %d entity %d (counted %d times)", round, i, posts / big).isEqualTo(big);
                }
            }
            clock.set(retireAt + 3L * n * MINUTE);
            meter.tick();
        }
        assertThat(doubled).isZero();
    }
}
