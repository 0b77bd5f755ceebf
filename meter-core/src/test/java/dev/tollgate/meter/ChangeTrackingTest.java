package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The journal's change tracking under real threads: whatever the interleaving of records and
 * drains, the last drain's absolute bucket counts equal the meter's (no change is missed, also
 * when the entity's "changed" mark spares the set lookup).
 */
class ChangeTrackingTest {
    @Test
    void drainsUnderRealThreads_missNoChange() throws Exception {
        ManualClock clock = new ManualClock(1_764_000_000_000L);
        Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, MeterListener.none());
        ChangeFeed first = meter.changeFeed();
        ChangeFeed second = meter.changeFeed(); // drained at its own, slower pace: the feeds must not steal from each other
        long from = clock.millis() - 3_600_000;
        Map<String, Long> journal = new ConcurrentHashMap<>(); // entity@bucket → posts, last value wins
        Map<String, Long> shipped = new ConcurrentHashMap<>();
        AtomicBoolean done = new AtomicBoolean();
        MeterConcurrencyTest.runConcurrently(5, worker -> {
            if (worker == 3) {
                while (!done.get()) {
                    first.drain(from, (id, t, p, r) -> journal.put(id + "@" + t, p));
                }
                return;
            }
            if (worker == 4) {
                while (!done.get()) {
                    second.drain(from, (id, t, p, r) -> shipped.put(id + "@" + t, p));
                    Thread.onSpinWait();
                }
                return;
            }
            SplittableRandom rnd = new SplittableRandom(worker);
            for (int i = 0; i < 200_000; i++) {
                meter.record("e" + rnd.nextInt(500), 1 + rnd.nextInt(5), 1);
                if (worker == 0 && i % 20_000 == 0) {
                    clock.advance(60_000);
                }
            }
            if (worker == 0) {
                done.set(true);
            }
        });
        done.set(true);
        first.drain(from, (id, t, p, r) -> journal.put(id + "@" + t, p));
        second.drain(from, (id, t, p, r) -> shipped.put(id + "@" + t, p));
        assertThat(first.pending()).isZero();
        Map<String, Long> actual = new ConcurrentHashMap<>();
        meter.forEachBucket((id, t, p, r) -> actual.put(id + "@" + t, p));
        assertThat(journal).isEqualTo(actual);
        assertThat(shipped).isEqualTo(actual);
    }
}
