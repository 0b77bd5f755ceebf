package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Durable before visible (issue 10, item 8), at the meter: a flag or a final period that the
 * listener has not confirmed yet shows in no view — incidents, flagged, the entity list, the open
 * count, the flag counter — and shows in all of them once the listener runs {@code visible}.
 */
class MeterVisibilityTest {
    private static final long MINUTE = 60_000;
    private static final long DAY = 24 * 60 * MINUTE;
    private static final long T0 = 1_764_000_000_000L - 1_764_000_000_000L % MINUTE;

    @Test
    void flagAndFinal_showOnlyOnceTheListenerSaysTheyAreDurable() {
        ManualClock clock = new ManualClock(T0);
        List<Runnable> held = new ArrayList<>();
        List<String> threads = new ArrayList<>();
        Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, new MeterListener() {
            @Override
            public void onFlag(Incident incident, Runnable visible) {
                threads.add(Thread.currentThread().getName());
                held.add(visible);
            }

            @Override
            public void onFinal(Incident incident, Runnable visible) {
                held.add(visible);
            }
        });
        meter.record("a", 1_000_001, 1);
        assertThat(held).as("the listener heard of the flag at once").hasSize(1);
        assertThat(meter.flagPending("a")).isTrue();
        assertThat(meter.flagged("a")).isFalse();
        assertThat(meter.incidents()).isEmpty();
        assertThat(meter.top(10).get(0).flagged()).isFalse();
        assertThat(meter.openIncidentCount()).isZero();
        assertThat(meter.flagCount()).isZero();
        meter.record("a", 5, 1);
        assertThat(held).as("never flagged twice while the first is pending").hasSize(1);

        held.remove(0).run(); // durable
        assertThat(meter.flagPending("a")).isFalse();
        assertThat(meter.flagged("a")).isTrue();
        assertThat(meter.incidents()).singleElement().extracting(Incident::status).isEqualTo(Incident.Status.PROVISIONAL);
        assertThat(meter.top(10).get(0).flagged()).isTrue();
        assertThat(meter.openIncidentCount()).isEqualTo(1);
        assertThat(meter.flagCount()).isEqualTo(1);

        clock.advance(DAY);
        meter.tick();
        assertThat(held).as("the final period was handed to the listener").hasSize(1);
        assertThat(meter.incidents()).as("final in memory, provisional until durable").singleElement()
                .extracting(Incident::status).isEqualTo(Incident.Status.PROVISIONAL);
        assertThat(meter.flagged("a")).isTrue();
        held.remove(0).run();
        assertThat(meter.incidents()).singleElement().extracting(Incident::status).isEqualTo(Incident.Status.FINAL);
        assertThat(meter.flagged("a")).isFalse();
        assertThat(meter.openIncidentCount()).isZero();
        assertThat(threads).containsExactly(Thread.currentThread().getName());
    }

    /**
     * The crossing record and a reader on another thread: between the record's winning CAS and the
     * listener hearing of the flag, the reader must not see the entity flagged (the listener here
     * never confirms, so any {@code true} is a flag shown before it was durable).
     */
    @Test
    void flagged_isNeverTrueBeforeTheListenerConfirms_underRealThreads() throws Exception {
        for (int round = 0; round < 2_000; round++) {
            ManualClock clock = new ManualClock(T0);
            Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, new MeterListener() {
                @Override
                public void onFlag(Incident incident, Runnable visible) {
                    // never durable
                }

                @Override
                public void onFinal(Incident incident, Runnable visible) {
                }
            });
            meter.record("a", 999_999, 1);
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicBoolean seen = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = new Thread(() -> {
                while (!done.get()) {
                    if (meter.flagged("a")) {
                        seen.set(true);
                    }
                }
            });
            reader.start();
            meter.record("a", 2, 1);
            done.set(true);
            reader.join();
            assertThat(seen.get()).as("round %d: flagged before the listener confirmed", round).isFalse();
            assertThat(meter.flagPending("a")).isTrue();
        }
    }
}
