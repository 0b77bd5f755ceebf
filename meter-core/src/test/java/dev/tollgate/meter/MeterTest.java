package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MeterTest {
    private static final long MINUTE = 60_000;
    private static final long HOUR = 60 * MINUTE;
    private static final long DAY = 24 * HOUR;
    /** A bucket boundary: 2025-11-24T16:00:00Z. */
    private static final long T0 = 1_764_000_000_000L - 1_764_000_000_000L % MINUTE;

    private ManualClock clock;
    private List<Incident> flags;
    private List<Incident> finals;
    private Meter meter;

    @BeforeEach
    void setUp() {
        clock = new ManualClock(T0);
        flags = new ArrayList<>();
        finals = new ArrayList<>();
        meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, new MeterListener() {
            @Override
            public void onFlag(Incident incident) {
                flags.add(incident);
            }

            @Override
            public void onFinal(Incident incident) {
                finals.add(incident);
            }
        });
    }

    @Test
    void count_slidesOut_bucketByBucket() {
        meter.record("a", 100, 1);
        clock.advance(30 * MINUTE);
        meter.record("a", 50, 1);
        clock.set(T0 + DAY - 1);
        assertThat(meter.posts24h("a")).isEqualTo(150);
        clock.set(T0 + DAY);
        assertThat(meter.posts24h("a")).as("first bucket left the window").isEqualTo(50);
        clock.set(T0 + DAY + 30 * MINUTE);
        assertThat(meter.posts24h("a")).isZero();
    }

    @Test
    void millisUntilAtMost_isWhenEnoughBucketsLeaveTheWindow() {
        meter.record("a", 600, 1);
        clock.advance(2 * HOUR);
        meter.record("a", 500, 1);
        clock.advance(10 * MINUTE);
        assertThat(meter.millisUntilAtMost("a", 1_100)).isZero();
        assertThat(meter.millisUntilAtMost("a", 500)).as("the first bucket leaves at T0 + 24h").isEqualTo(DAY - 2 * HOUR - 10 * MINUTE);
        assertThat(meter.millisUntilAtMost("a", 0)).isEqualTo(DAY - 10 * MINUTE);
        assertThat(meter.millisUntilAtMost("nobody", 0)).isZero();
        clock.set(T0 + DAY);
        assertThat(meter.millisUntilAtMost("a", 500)).isZero();
    }

    @Test
    void count_neverOvercounts_andUndercountsByAtMostOneBucket() {
        // posts at the very end of a bucket: 24h later (mid-bucket) the true rolling count still
        // holds them for 59.999s; the meter has dropped the whole bucket already
        clock.set(T0 + MINUTE - 1);
        meter.record("a", 7, 1);
        clock.set(T0 + MINUTE);
        meter.record("a", 3, 1);
        clock.set(T0 + DAY + 1);
        assertThat(meter.posts24h("a")).isEqualTo(3);
    }

    @Test
    void clockSteppingBack_isStillCounted() {
        clock.set(T0 + 5 * MINUTE + 10);
        meter.record("a", 10, 1);
        meter.record("a", 10, 1); // entity moves to its open bucket
        clock.set(T0 + 3 * MINUTE);
        assertThat(meter.record("a", 5, 1)).isEqualTo(25);
        clock.set(T0 + 6 * MINUTE);
        assertThat(meter.posts24h("a")).isEqualTo(25);
        assertThat(meter.lateRecords()).isZero();
    }

    @Test
    void recordOlderThanWindow_isRefusedAsLate() {
        for (int i = 0; i < 10; i++) { // ten buckets: the full ring
            meter.record("a", 1, 1);
            clock.advance(MINUTE);
        }
        assertThat(meter.compact("a")).isFalse();
        long r = meter.record("a", 1_000, 1, T0 - 2 * DAY);
        assertThat(r).isEqualTo(-2);
        assertThat(meter.lateRecords()).isEqualTo(1);
        assertThat(meter.posts24h("a")).isEqualTo(10);
    }

    @Test
    void longQuietGap_startsFromZero() {
        for (int i = 0; i < 20; i++) {
            meter.record("a", 1000, 1);
            clock.advance(MINUTE);
        }
        clock.advance(3 * DAY + 17 * MINUTE);
        assertThat(meter.posts24h("a")).isZero();
        assertThat(meter.record("a", 4, 1)).isEqualTo(4);
        clock.advance(HOUR);
        assertThat(meter.record("a", 6, 1)).isEqualTo(10);
    }

    @Test
    void compactForm_isPromotedExactly_whenItRunsOutOfEntries() {
        for (int i = 0; i < LightWindow.CAPACITY; i++) {
            meter.record("a", 10 + i, 1);
            clock.advance(HOUR);
        }
        assertThat(meter.compact("a")).isTrue();
        meter.record("a", 1, 1);
        assertThat(meter.compact("a")).isFalse();
        assertThat(meter.posts24h("a")).isEqualTo(10 + 11 + 12 + 13 + 14 + 15 + 1);
        assertThat(meter.requests24h("a")).isEqualTo(7);
    }

    @Test
    void compactForm_isPromoted_beforeTheThresholdComesNear() {
        meter.record("a", 250_000, 1);
        assertThat(meter.compact("a")).isTrue();
        meter.record("a", 1, 1);
        assertThat(meter.compact("a")).isFalse();
    }

    @Test
    void flag_whenCountExceedsThreshold_notWhenEqual() {
        meter.record("a", 600_000, 1);
        clock.advance(HOUR);
        meter.record("a", 400_000, 1);
        assertThat(flags).isEmpty();
        clock.advance(HOUR);
        meter.record("a", 1, 1);
        assertThat(flags).singleElement().satisfies(f -> {
            assertThat(f.flagCount()).isEqualTo(1_000_001);
            assertThat(f.flaggedAtMillis()).isEqualTo(T0 + 2 * HOUR);
            assertThat(f.status()).isEqualTo(Incident.Status.PROVISIONAL);
        });
    }

    @Test
    void period_isFinal24hAfterFlag_andPricedAsTheClauseSays() {
        meter.record("a", 1_234_567, 100);
        assertThat(flags).hasSize(1);
        clock.advance(DAY - 1);
        meter.tick();
        assertThat(finals).isEmpty();
        clock.advance(1);
        meter.tick();
        assertThat(finals).singleElement().satisfies(f -> {
            assertThat(f.status()).isEqualTo(Incident.Status.FINAL);
            assertThat(f.posts()).isEqualTo(1_234_567);
            assertThat(f.requests()).isEqualTo(100);
            assertThat(f.amount().plain()).isEqualTo("18518.51");
            assertThat(f.periodEndMillis() - f.periodStartMillis()).isEqualTo(DAY);
            assertThat(f.periodStartMillis()).isLessThanOrEqualTo(T0);
            assertThat(f.evidence().posts()).hasSize(2 * 1440 - 1);
        });
        assertThat(meter.flagged("a")).isFalse();
    }

    @Test
    void period_neverOverlapsPrevious_andPostsAreNotBilledTwice() {
        // 1.5M at once: flagged, final a day later; the same posts cannot flag again
        meter.record("a", 1_500_000, 1);
        clock.advance(DAY);
        meter.tick();
        assertThat(finals).hasSize(1);
        clock.advance(HOUR);
        meter.record("a", 900_000, 1);
        assertThat(flags).hasSize(1);
        meter.record("a", 100_001, 1);
        assertThat(flags).hasSize(2);
        clock.advance(DAY);
        meter.tick();
        assertThat(finals).hasSize(2);
        assertThat(finals.get(1).periodStartMillis()).isGreaterThanOrEqualTo(finals.get(0).periodEndMillis());
        assertThat(finals.get(1).posts()).isEqualTo(1_000_001);
    }

    @Test
    void finalization_flagsAtOnce_whenPostsAfterThePeriodAlreadyExceed() {
        clock.set(T0 + 30_000);
        meter.record("a", 1_000_001, 1);       // flag in bucket f; final at T0 + 24h + 30s
        clock.set(T0 + DAY + 10_000);          // bucket f + 1440: in no candidate period
        meter.record("a", 1_100_000, 1);       // no flag yet: the incident is provisional
        assertThat(flags).hasSize(1);
        clock.set(T0 + DAY + 30_000);
        meter.tick();
        assertThat(finals).singleElement().satisfies(f -> assertThat(f.posts()).isEqualTo(1_000_001));
        assertThat(flags).hasSize(2);
        assertThat(flags.get(1).flaggedAtMillis()).isEqualTo(T0 + DAY + 30_000);
        assertThat(flags.get(1).flagCount()).isEqualTo(1_100_000);
    }

    @Test
    void period_choosesMostPosts_earliestOnTies() {
        MeterConfig small = new MeterConfig(100, Duration.ofMinutes(10), Duration.ofMinutes(1));
        Meter m = new Meter(small, DamagesTerms.standard(), clock, MeterListener.none());
        long[] perMinute = {0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 40};
        for (int i = 0; i < perMinute.length; i++) {
            clock.set(T0 + i * MINUTE);
            if (perMinute[i] > 0) {
                m.record("a", perMinute[i], 1);
            }
        }
        // flag at minute 21 (80 + 40 = 120 > 100); starts 12..21 all hold 120; earliest wins
        clock.set(T0 + 21 * MINUTE + 10 * MINUTE);
        m.tick();
        Incident fin = m.incidents().get(0);
        assertThat(fin.status()).isEqualTo(Incident.Status.FINAL);
        assertThat(fin.periodStartMillis()).isEqualTo(T0 + 12 * MINUTE);
        assertThat(fin.posts()).isEqualTo(120);
    }

    @Test
    void idleEntity_leavesTheTable_onlyWhenNothingOfItMatters() {
        meter.record("a", 5, 1);
        meter.record("b", 2_000_000, 1);
        clock.advance(DAY + 5 * MINUTE);
        meter.tick();
        assertThat(meter.entityCount()).as("b's period is final but its end still shields the next 24h").isEqualTo(1);
        clock.advance(2 * DAY);
        meter.tick();
        assertThat(meter.entityCount()).isZero();
        assertThat(meter.record("a", 1, 1)).isEqualTo(1);
    }

    @Test
    void export_mergesIntoAnotherMeter() {
        for (int i = 0; i < 30; i++) {
            meter.record("a", i, 1);
            clock.advance(MINUTE);
        }
        WindowExport export = meter.export("a");
        assertThat(export.totalPosts()).isEqualTo(435);
        Meter other = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, MeterListener.none());
        other.record("a", 65, 1);
        assertThat(other.merge(export)).isEqualTo(435);
        assertThat(other.posts24h("a")).isEqualTo(500);
        assertThat(other.requests24h("a")).isEqualTo(31);
    }
}
