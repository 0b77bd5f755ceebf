package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/** Real threads against one meter: nothing lost, nothing counted twice, one flag per crossing. */
class MeterConcurrencyTest {
    private static final int THREADS = 4;

    @Test
    void totalsExact_underManyThreads_acrossBucketBoundariesAndPromotions() throws Exception {
        ManualClock clock = new ManualClock(1_764_000_000_000L);
        Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, MeterListener.none());
        int entities = 300;
        AtomicLongArray expected = new AtomicLongArray(entities);
        int perThread = 150_000;
        runConcurrently(THREADS, worker -> {
            SplittableRandom rnd = new SplittableRandom(worker);
            for (int i = 0; i < perThread; i++) {
                // skewed: a few heavy entities are promoted to the full ring mid-run, most stay compact
                int e = (int) Math.min(entities - 1, (long) (Math.pow(rnd.nextDouble(), 3) * entities));
                long posts = 1 + rnd.nextInt(20);
                long r = meter.record("e" + e, posts, 1);
                assertThat(r).isPositive();
                expected.addAndGet(e, posts);
                if (worker == 0 && i % 500 == 0) {
                    clock.advance(7_000); // 150,000 / 500 × 7s ≈ 35 minutes: many bucket boundaries
                }
            }
        });
        long total = 0;
        for (int e = 0; e < entities; e++) {
            assertThat(meter.posts24h("e" + e)).as("entity e%d", e).isEqualTo(expected.get(e));
            total += expected.get(e);
        }
        assertThat(total).isGreaterThan(THREADS * (long) perThread);
        assertThat(meter.compact("e0")).as("heaviest entity promoted").isFalse();
        meter.record("quiet", 10, 1);
        assertThat(meter.compact("quiet")).as("an entity with one bucket stays compact").isTrue();
        assertThat(meter.lateRecords()).isZero();
    }

    @Test
    void exactlyOneFlag_perCrossing_whenManyThreadsCrossTogether() throws Exception {
        for (int round = 0; round < 20; round++) {
            ManualClock clock = new ManualClock(1_764_000_000_000L);
            List<Incident> flags = new CopyOnWriteArrayList<>();
            Meter meter = new Meter(new MeterConfig(1000, Duration.ofHours(24), Duration.ofMinutes(1)),
                    DamagesTerms.standard(), clock, new MeterListener() {
                        @Override
                        public void onFlag(Incident incident) {
                            flags.add(incident);
                        }
                    });
            runConcurrently(THREADS, worker -> {
                for (int i = 0; i < 600; i++) {
                    meter.record("scraper", 1, 1);
                }
            });
            assertThat(flags).as("round %d", round).hasSize(1);
            assertThat(flags.get(0).flagCount()).isGreaterThan(1000);
            assertThat(meter.posts24h("scraper")).isEqualTo(THREADS * 600L);
            assertThat(meter.flagged("scraper")).isTrue();
        }
    }

    interface Worker {
        void run(int worker) throws Exception;
    }

    static void runConcurrently(int threads, Worker body) throws Exception {
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    body.run(id);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "recorder-" + t);
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join();
        }
        if (!errors.isEmpty()) {
            AssertionError failure = new AssertionError("worker failed: " + errors.get(0), errors.get(0));
            errors.stream().skip(1).forEach(failure::addSuppressed);
            throw failure;
        }
    }
}
