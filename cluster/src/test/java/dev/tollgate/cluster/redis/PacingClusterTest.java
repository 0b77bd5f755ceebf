package dev.tollgate.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The paced cadence (issue 12 item 9) against a real Redis Cluster: an entity within the
 * allowance Redis gave a gateway waits; past it, or recalled because another gateway took the
 * entity near the threshold, it is shipped at once, so the crossing is still seen and flagged
 * once. And the allowances Redis hands out never add up to more than the room below the hot
 * level, over random histories of several gateways.
 */
class PacingClusterTest extends OnRedisCluster {
    /** Threshold 1,000: hot level 800. */
    static final MeterConfig CONFIG = new MeterConfig(1000, Duration.ofHours(1), Duration.ofMinutes(1));
    /** Far longer than the test: nothing in it may depend on an allowance expiring. */
    static final Duration COLD = Duration.ofMinutes(5);

    @Test
    void withinItsAllowance_anEntityWaits_pastIt_itIsShippedAtOnce() {
        ManualClock clock = new ManualClock(T0 + 1000);
        try (Gateways g = new Gateways(1, Gateways.settings(redis.uris()), CONFIG, clock, COLD)) {
            var meter = g.meters.get(0);
            meter.record("light", 10, 1);
            RedisClusterFixture.await(() -> g.latest.containsKey("light"), "the first shipment of light");
            ShipReply first = g.latest.get("light");
            assertThat(first.posts24h()).isEqualTo(10);
            assertThat(first.allowance()).as("(800 - 10) / 2").isEqualTo(395);

            meter.record("light", 100, 1);
            for (int i = 0; i < 3; i++) { // three flushes go by: each ships a new entity, never light
                String marker = "marker-" + i;
                meter.record(marker, 1, 1);
                RedisClusterFixture.await(() -> g.latest.containsKey(marker), marker + " shipped");
                assertThat(g.globalPosts("light", T0 - MINUTE, T0 + MINUTE)).as("light within its allowance").isEqualTo(10);
            }

            meter.record("light", 300, 1); // 400 unshipped > 395
            RedisClusterFixture.await(() -> g.globalPosts("light", T0 - MINUTE, T0 + MINUTE) == 410, "light shipped past its allowance");
            // the shipper hears Redis's answer just after Redis applied it
            RedisClusterFixture.await(() -> g.latest.get("light").posts24h() == 410, "the answer of that shipment");
        }
    }

    @Test
    void anotherGatewayTakesTheEntityPastTheHotLevel_theHoldersAreRecalled_andTheCrossingIsFlaggedOnce() {
        ManualClock clock = new ManualClock(T0 + 1000);
        try (Gateways g = new Gateways(2, Gateways.settings(redis.uris()), CONFIG, clock, COLD)) {
            var a = g.meters.get(0);
            var b = g.meters.get(1);
            a.record("spread", 100, 1);
            RedisClusterFixture.await(() -> g.latest.containsKey("spread"), "a's first shipment");
            assertThat(g.latest.get("spread").allowance()).as("(800 - 100) / 2").isEqualTo(350);
            a.record("spread", 300, 1); // held back by a: within its 350

            b.record("spread", 100, 1);
            RedisClusterFixture.await(() -> g.globalPosts("spread", T0 - MINUTE, T0 + MINUTE) == 200, "b's first shipment");
            b.record("spread", 501, 1); // b past its allowance: 1,001 in truth, 700 shipped, a holds 350
            RedisClusterFixture.await(() -> g.globalPosts("spread", T0 - MINUTE, T0 + MINUTE) == 1001,
                    "a recalled: the whole truth in Redis");
            RedisClusterFixture.await(() -> g.flagged.containsKey("spread"), "the crossing flagged");
            assertThat(g.flagged.get("spread")).as("replies that raised the flag").hasValue(1);
            assertThat(g.shippers.get(0).stats().recalls()).as("recalls heard by a").isPositive();
        }
    }

    @Test
    void aGatewayThatLostCountsRedisHad_adoptsThem_andItsNextPostsCountOnTop() {
        ManualClock clock = new ManualClock(T0 + 1000);
        try (Gateways before = new Gateways(1, Gateways.settings(redis.uris()), CONFIG, clock, COLD)) {
            before.meters.get(0).record("restarted", 50, 5);
            RedisClusterFixture.await(() -> before.globalPosts("restarted", T0 - MINUTE, T0 + MINUTE) == 50, "50 shipped");
        }
        // the same node id again, its journal's last 30 posts lost (kill -9): it restored 20
        try (Gateways after = new Gateways(1, Gateways.settings(redis.uris()), CONFIG, clock, COLD)) {
            var meter = after.meters.get(0);
            meter.record("restarted", 20, 2);
            RedisClusterFixture.await(() -> meter.posts24h("restarted") == 50, "Redis's 50 adopted");
            assertThat(after.shippers.get(0).stats().adopted()).isPositive();
            assertThat(meter.requests24h("restarted")).isEqualTo(5);
            meter.record("restarted", 400, 1); // past its allowance: shipped at once
            RedisClusterFixture.await(() -> after.globalPosts("restarted", T0 - MINUTE, T0 + MINUTE) == 450,
                    "the next posts count on top of the adopted 50");
        }
    }

    @Test
    void aFlushedRedis_isNoticedByItsMarkers_andEveryGatewayShipsEverythingAgain() {
        ManualClock clock = new ManualClock(T0 + 1000);
        try (Gateways g = new Gateways(2, Gateways.settings(redis.uris()), CONFIG, clock, COLD)) {
            g.meters.get(0).record("kept", 30, 3);
            g.meters.get(1).record("kept", 12, 1);
            RedisClusterFixture.await(() -> g.globalPosts("kept", T0 - MINUTE, T0 + MINUTE) == 42, "kept shipped by both");
            long reships = g.shippers.get(0).stats().reships();
            RedisClusterFixture.await(() -> g.shippers.get(0).stats().rounds() > 0 && g.shippers.get(1).stats().rounds() > 0,
                    "both shippers running");
            for (int port : redis.ports()) { // FLUSHALL on the masters; replicas follow, nothing is announced
                if (redis.cli(port, "ROLE").startsWith("master")) {
                    redis.cli(port, "FLUSHALL");
                }
            }
            RedisClusterFixture.await(() -> g.globalPosts("kept", T0 - MINUTE, T0 + MINUTE) == 42,
                    "kept shipped again by both, with no new traffic");
            assertThat(g.shippers.get(0).stats().reships()).isGreaterThan(reships);
        }
    }

    @Test
    void theAllowancesNeverAddUpToMoreThanTheRoomBelowTheHotLevel_overRandomHistories() {
        ManualClock clock = new ManualClock(T0 + 1000);
        long hot = 800;
        GlobalWindows.Pacing pacing = new GlobalWindows.Pacing(COLD, hot);
        SplittableRandom random = new SplittableRandom(12);
        List<GlobalWindows> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                nodes.add(new GlobalWindows(Gateways.settings(redis.uris()), "r-" + i, CONFIG, clock));
            }
            for (int history = 0; history < 20; history++) {
                String entity = "random-" + history;
                long[] counted = new long[nodes.size()];
                Map<Integer, Long> allowance = new HashMap<>();
                // every gateway first ships nothing and gets an allowance; in even histories each then
                // keeps to it, in odd ones some go past it (and would ship at once)
                boolean keep = history % 2 == 0;
                for (int step = 0; step < 48; step++) {
                    int n = step < nodes.size() ? step : random.nextInt(nodes.size());
                    long room = allowance.getOrDefault(n, 0L);
                    if (step >= nodes.size()) {
                        counted[n] += keep ? random.nextLong(room + 1) : random.nextLong(room + 40);
                    }
                    long others = 0;
                    for (Map.Entry<Integer, Long> a : allowance.entrySet()) {
                        others += a.getKey() == n ? 0 : a.getValue();
                    }
                    ShipReply r = nodes.get(n).shipAll(Map.of(entity, List.of(new BucketCounts(T0, counted[n], counted[n]))),
                            pacing, Long.MAX_VALUE).replies().get(entity);
                    assertThat(r).as("shipment applied").isNotNull();
                    allowance.put(n, r.allowance());
                    long truth = 0;
                    for (long c : counted) {
                        truth += c;
                    }
                    String at = entity + " step " + step + ": global " + r.posts24h() + ", allowances " + allowance;
                    assertThat(r.posts24h()).as("global never above the truth").isEqualTo(truth);
                    assertThat(r.allowance()).as(at).isLessThanOrEqualTo(Math.max(0, hot - r.posts24h() - others));
                    if (r.posts24h() > hot || r.openSequence() != 0) {
                        assertThat(r.allowance()).as("hot: no allowance; " + at).isZero();
                    }
                    if (keep) {
                        long held = allowance.values().stream().mapToLong(Long::longValue).sum();
                        assertThat(r.posts24h() + held).as("everyone kept to their allowance; " + at).isLessThanOrEqualTo(hot);
                    }
                }
            }
        } finally {
            nodes.forEach(GlobalWindows::close);
        }
    }
}
