package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Issue 10, item 4: the entity table stays within its bound and never drops what matters. */
class EntityBoundTest {
    private static final long T0 = 1_764_000_000_000L / 60_000 * 60_000;

    private final ManualClock clock = new ManualClock(T0);
    private final List<Incident> flags = new CopyOnWriteArrayList<>();

    private Meter meter(long threshold, long maxEntities) {
        return new Meter(new MeterConfig(threshold, Duration.ofHours(24), Duration.ofMinutes(1), maxEntities, 0.1),
                DamagesTerms.standard(), clock, new MeterListener() {
                    @Override
                    public void onFlag(Incident incident) {
                        flags.add(incident);
                    }
                });
    }

    @Test
    void millionRandomKeys_heapFlat_realScraperCountedExactly() {
        int cap = 20_000;
        Meter meter = meter(1_000_000, cap);
        SplittableRandom rnd = new SplittableRandom(7);
        long scraper = 0;
        long heapAtQuarter = 0;
        for (int i = 0; i < 1_000_000; i++) {
            String key = "key-" + Long.toHexString(rnd.nextLong());
            meter.record(key, 1 + rnd.nextInt(3), 1);
            if (i % 9 == 0) {
                assertThat(meter.record("scraper", 10, 1)).isPositive();
                scraper += 10;
            }
            if (i % 1000 == 0) {
                clock.advance(1_000); // 1,000 new keys a second
            }
            if (i % 50_000 == 0) {
                meter.tick();
                assertThat(meter.entityWeight()).as("units in use after %d keys", i)
                        .isLessThanOrEqualTo(cap + cap / 64 + 16);
            }
            if (i == 250_000) {
                heapAtQuarter = usedHeapAfterGc();
            }
        }
        long heapAtEnd = usedHeapAfterGc();
        assertThat(meter.posts24h("scraper")).isEqualTo(scraper).isGreaterThan(1_000_000);
        assertThat(flags).hasSize(1);
        assertThat(flags.get(0).entity()).isEqualTo("scraper");
        assertThat(meter.entityCount()).isLessThanOrEqualTo(cap);
        assertThat(meter.evictedEntities()).isGreaterThan(900_000);
        assertThat(meter.untrackedRecords()).isZero();
        // 750,000 more keys at ~240 bytes each would be ~170 MB; the table stays at its bound
        assertThat(heapAtEnd - heapAtQuarter).as("heap growth from 250,000 to 1,000,000 keys").isLessThan(48L << 20);
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    @Test
    void entitiesWithoutPosts_areEvictedBeforeAnyWithPosts() {
        Meter meter = meter(1_000_000, 100);
        for (int i = 0; i < 50; i++) {
            meter.record("posts-" + i, 1, 1);
        }
        clock.advance(10 * 60_000); // the ones without posts are younger: age alone would keep them
        for (int i = 0; i < 50; i++) {
            meter.record("none-" + i, 0, 1);
        }
        for (int i = 0; i < 40; i++) {
            meter.record("new-" + i, 0, 1);
        }
        assertThat(meter.evictedEntities()).isPositive();
        for (int i = 0; i < 50; i++) {
            assertThat(meter.posts24h("posts-" + i)).as("posts-%d", i).isEqualTo(1);
        }
        assertThat(meter.entityCount()).isLessThanOrEqualTo(100);
    }

    @Test
    void amongEntitiesWithPosts_fewestPostsGoFirst() {
        Meter meter = meter(1_000_000, 100);
        for (int i = 0; i < 20; i++) {
            meter.record("busy-" + i, 5_000, 1); // 0.5% of the threshold: not protected
        }
        for (int i = 0; i < 200; i++) {
            meter.record("one-" + i, 1, 1);
        }
        for (int i = 0; i < 20; i++) {
            assertThat(meter.posts24h("busy-" + i)).as("busy-%d", i).isEqualTo(5_000);
        }
        assertThat(meter.entityCount()).isLessThanOrEqualTo(100);
    }

    @Test
    void protectedEntities_neverEvicted_andNewOnesUntrackedWhenNothingElseCanGo() {
        // the flagged entity has a full ring: 181 units at 1,440 buckets; 69 compact ones fill the rest
        Meter meter = meter(1_000, 250);
        meter.record("flagged", 1_500, 1); // an open incident
        for (int i = 0; i < 69; i++) {
            meter.record("heavy-" + i, 150, 1); // above 10% of the threshold
        }
        assertThat(flags).hasSize(1);
        for (int i = 0; i < 5_000; i++) {
            meter.record("mint-" + i, 1, 1);
        }
        assertThat(meter.posts24h("flagged")).isEqualTo(1_500);
        assertThat(meter.flagged("flagged")).isTrue();
        assertThat(meter.entityWeight()).isEqualTo(250);
        for (int i = 0; i < 69; i++) {
            assertThat(meter.posts24h("heavy-" + i)).as("heavy-%d", i).isEqualTo(150);
        }
        assertThat(meter.record("mint-x", 1, 1)).isEqualTo(Meter.RESULT_UNTRACKED);
        assertThat(meter.untrackedRecords()).isGreaterThanOrEqualTo(5_000);
        assertThat(meter.evictedEntities()).isZero();
        // once the heavy ones fall below the protected share, room is made again
        clock.advance(25L * 3_600_000);
        meter.tick();
        assertThat(meter.record("mint-y", 1, 1)).isEqualTo(1);
    }

    @Test
    void refusedRequestsWithoutPosts_neverCreateAnEntity_butCountForAKnownOne() {
        Meter meter = meter(1_000_000, 1_000);
        for (int i = 0; i < 500; i++) {
            assertThat(meter.recordIfPresent("random-" + i, 0, 1)).isEqualTo(Meter.RESULT_UNTRACKED);
        }
        assertThat(meter.entityCount()).isZero();
        assertThat(meter.untrackedRecords()).as("not a lost count: nothing to count").isZero();
        meter.record("known", 3, 1);
        assertThat(meter.recordIfPresent("known", 0, 1)).isEqualTo(3);
        assertThat(meter.requests24h("known")).isEqualTo(2);
        assertThat(meter.entityCount()).isEqualTo(1);
    }

    @Test
    void config_rejectsABadBoundOrShare_withTheKey() {
        assertThatThrownBy(() -> new MeterConfig(1_000, Duration.ofHours(24), Duration.ofMinutes(1), -1, 0.1))
                .hasMessageStartingWith("meter.maxEntities: -1 (expected:");
        assertThatThrownBy(() -> new MeterConfig(1_000, Duration.ofHours(24), Duration.ofMinutes(1), 10, 0))
                .hasMessageStartingWith("meter.evictionProtectShare: 0.0 (expected:");
        assertThatThrownBy(() -> new MeterConfig(1_000, Duration.ofHours(24), Duration.ofMinutes(1), 10, 1.5))
                .hasMessageStartingWith("meter.evictionProtectShare: 1.5 (expected:");
        MeterConfig d = MeterConfig.defaults();
        assertThat(d.maxEntities()).isEqualTo(Math.max(1024, Runtime.getRuntime().maxMemory() / 4 / 256));
        assertThat(d.evictionProtectShare()).isEqualTo(0.1);
    }

    /**
     * Real threads: heavy entities (protected from their first record) and a flood of new keys
     * into a small table, with a thread that moves the clock across buckets and ticks (expiry
     * sweeps and evictions race with records). Every heavy entity's total is exact.
     */
    @Test
    void underRealThreads_protectedTotalsExact_whileTheFloodIsEvicted() throws Exception {
        int cap = 20_000; // 40 heavy entities with full rings take 7,240 units of it
        Meter meter = meter(10_000_000, cap);
        int heavy = 40;
        AtomicLongArray expected = new AtomicLongArray(heavy);
        AtomicBoolean done = new AtomicBoolean();
        MeterConcurrencyTest.runConcurrently(4, worker -> {
            if (worker == 3) {
                for (int step = 0; !done.get(); step++) {
                    if (step < 1_800) {
                        clock.advance(1_000); // at most 30 minutes: every count stays in the window
                    }
                    meter.tick();
                }
                return;
            }
            SplittableRandom rnd = new SplittableRandom(worker);
            for (int i = 0; i < 120_000; i++) {
                if (rnd.nextInt(4) == 0) {
                    int h = rnd.nextInt(heavy);
                    long posts = 1_000_001 + rnd.nextInt(50); // above 10% of the threshold from the first record
                    assertThat(meter.record("heavy-" + h, posts, 1)).isPositive();
                    expected.addAndGet(h, posts);
                } else {
                    meter.record("flood-" + worker + "-" + i, rnd.nextInt(3), 1);
                }
            }
            if (worker == 0) {
                done.set(true);
            }
        });
        done.set(true);
        for (int h = 0; h < heavy; h++) {
            assertThat(meter.posts24h("heavy-" + h)).as("heavy-%d", h).isEqualTo(expected.get(h));
        }
        assertThat(meter.evictedEntities()).isPositive();
        assertThat(meter.entityWeight()).isLessThanOrEqualTo(cap + cap / 64 + 16);
        assertThat(meter.lateRecords()).isZero();
    }

    @Test
    void eviction_isLogged_atMostOnceAMinute_withCounts() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Meter.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines = new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.WARN);
        logger.setAdditive(false);
        logger.addAppender(lines);
        try {
            Meter meter = meter(1_000_000, 100);
            for (int minute = 0; minute < 5; minute++) {
                for (int i = 0; i < 1_000; i++) {
                    meter.record("m" + minute + "-" + i, 1, 1); // about 30 evictions a minute
                }
                clock.advance(60_000);
            }
            List<String> warnings = lines.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertThat(warnings).hasSize(5).allSatisfy(w -> assertThat(w).startsWith("entity table full: ").contains(" evicted "));
            assertThat(warnings.get(4)).matches("entity table full: \\d+ entities evicted since the last message \\(\\d+ in all\\), "
                    + "0 not tracked \\(0 since\\), \\d+ tracked, bound 100 \\(meter.maxEntities\\)");
        } finally {
            logger.detachAppender(lines);
            logger.setAdditive(true);
            logger.setLevel(level);
        }
    }
}
