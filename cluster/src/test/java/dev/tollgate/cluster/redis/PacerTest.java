package dev.tollgate.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.cluster.redis.Pacer.Lane;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lanes of the paced cadence, on a simulated clock (nanoseconds passed in). */
class PacerTest {
    static final long MINUTE = 60_000;
    static final long SECOND = 1_000_000_000L;
    static final long LIFETIME = 30 * SECOND;

    final Pacer pacer = new Pacer(800, LIFETIME);

    static List<BucketCounts> buckets(long... startAndPosts) {
        List<BucketCounts> out = new ArrayList<>();
        for (int i = 0; i < startAndPosts.length; i += 2) {
            out.add(new BucketCounts(startAndPosts[i], startAndPosts[i + 1], 1));
        }
        return out;
    }

    static ShipReply reply(long global, long allowance, int open) {
        return new ShipReply("e", global, global, 0, open, -1, 0, -1, allowance);
    }

    @Test
    void firstSight_goesWithTheNextFlush_unlessItAloneIsPastTheHotLevel() {
        assertThat(pacer.classify("e", buckets(0, 10))).isEqualTo(Lane.NEXT_FLUSH);
        assertThat(pacer.classify("e", buckets(0, 500, MINUTE, 301))).isEqualTo(Lane.NOW);
    }

    @Test
    void withinItsAllowance_itWaits_pastIt_itGoesNow_countingOnlyWhatWasNotShipped() {
        pacer.shipped("e", buckets(0, 100), reply(100, 50, 0), 0);
        assertThat(pacer.classify("e", buckets(0, 150))).as("50 new: within").isEqualTo(Lane.LATER);
        assertThat(pacer.classify("e", buckets(0, 140, MINUTE, 11))).as("40 + 11 new").isEqualTo(Lane.NOW);
        pacer.shipped("e", buckets(0, 140, MINUTE, 11), reply(151, 50, 0), SECOND);
        assertThat(pacer.classify("e", buckets(MINUTE, 60))).as("49 new in the newest bucket").isEqualTo(Lane.LATER);
        assertThat(pacer.classify("e", buckets(0, 141, MINUTE, 60))).as("1 + 49 new in both").isEqualTo(Lane.LATER);
        assertThat(pacer.classify("e", buckets(2 * MINUTE, 51))).as("a new bucket counts whole").isEqualTo(Lane.NOW);
    }

    @Test
    void hotOrFlagged_goesEveryTick_andStaysSoPastTheLifetime() {
        pacer.shipped("hot", buckets(0, 10), reply(801, 0, 0), 0);
        pacer.shipped("flagged", buckets(0, 10), reply(10, 0, 1), 0);
        assertThat(pacer.classify("hot", buckets(0, 11))).isEqualTo(Lane.NOW);
        assertThat(pacer.classify("flagged", buckets(0, 11))).isEqualTo(Lane.NOW);
        List<String> due = new ArrayList<>();
        pacer.expire(LIFETIME, due::add, due::add);
        assertThat(due).containsExactlyInAnyOrder("hot", "flagged");
        assertThat(pacer.classify("hot", buckets(0, 12))).as("still hot").isEqualTo(Lane.NOW);
        assertThat(pacer.size()).isEqualTo(2);
    }

    @Test
    void anExpiredAllowance_makesItDue_andWithNothingUnshippedItIsForgotten() {
        pacer.shipped("e", buckets(0, 100), reply(100, 50, 0), 0);
        List<String> due = new ArrayList<>();
        pacer.expire(LIFETIME - 1, due::add, due::add);
        assertThat(due).isEmpty();
        pacer.expire(LIFETIME, due::add, due::add);
        assertThat(due).containsExactly("e");
        pacer.forget("e");
        assertThat(pacer.size()).isZero();
        assertThat(pacer.classify("e", buckets(0, 101))).as("no allowance any more").isEqualTo(Lane.NEXT_FLUSH);
    }

    @Test
    void whileItWaitsInTheColdLane_itsAllowanceStillLimitsIt_andBeforeRedisForgetsTheAllowanceItGoesNow() {
        pacer.shipped("e", buckets(0, 100), reply(100, 50, 0), 0);
        List<String> due = new ArrayList<>();
        List<String> now = new ArrayList<>();
        pacer.expire(LIFETIME, due::add, now::add);
        assertThat(due).containsExactly("e");
        assertThat(pacer.classify("e", buckets(0, 140))).as("40 new, waiting in the cold lane").isEqualTo(Lane.LATER);
        assertThat(pacer.classify("e", buckets(0, 151))).as("past the expired allowance: now").isEqualTo(Lane.NOW);
        assertThat(pacer.growth("e", buckets(0, 151))).isEqualTo(51);
        pacer.expire(LIFETIME + Pacer.HARD_AFTER_NANOS - 1, due::add, now::add);
        assertThat(now).isEmpty();
        pacer.expire(LIFETIME + Pacer.HARD_AFTER_NANOS, due::add, now::add);
        assertThat(now).as("Redis forgets the allowance 5 s after its lifetime").containsExactly("e");
        assertThat(pacer.classify("e", buckets(0, 101))).as("allowance 0 from then").isEqualTo(Lane.NOW);
    }

    @Test
    void spread_bringsDeadlinesEarlier_byAtMostItsShareOfTheLifetime() {
        Pacer spreading = new Pacer(800, LIFETIME, 0.25);
        List<String> due = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            spreading.shipped("e" + i, buckets(0, 1), reply(1, 50, 0), 0);
        }
        spreading.expire(LIFETIME * 3 / 4 - 1, due::add, due::add);
        assertThat(due).isEmpty();
        spreading.expire(LIFETIME * 7 / 8, due::add, due::add);
        assertThat(due).as("some, not all, by 7/8 of the lifetime").isNotEmpty().hasSizeLessThan(100);
        spreading.expire(LIFETIME, due::add, due::add);
        assertThat(due).hasSize(100);
    }

    @Test
    void aLaterShipment_supersedesTheEarlierDeadline() {
        pacer.shipped("e", buckets(0, 100), reply(100, 50, 0), 0);
        pacer.shipped("e", buckets(0, 120), reply(120, 50, 0), 10 * SECOND);
        List<String> due = new ArrayList<>();
        pacer.expire(LIFETIME, due::add, due::add);
        assertThat(due).as("the first deadline is stale").isEmpty();
        pacer.expire(LIFETIME + 10 * SECOND, due::add, due::add);
        assertThat(due).containsExactly("e");
    }

    @Test
    void aRecall_makesItHot_untilRedisAnswersOtherwise() {
        pacer.shipped("e", buckets(0, 100), reply(100, 500, 0), 0);
        assertThat(pacer.classify("e", buckets(0, 101))).isEqualTo(Lane.LATER);
        pacer.recalled("e", SECOND);
        assertThat(pacer.classify("e", buckets(0, 101))).isEqualTo(Lane.NOW);
        pacer.shipped("e", buckets(0, 101), reply(300, 20, 0), 2 * SECOND);
        assertThat(pacer.classify("e", buckets(0, 102))).isEqualTo(Lane.LATER);
    }
}
