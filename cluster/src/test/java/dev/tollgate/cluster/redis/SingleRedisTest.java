package dev.tollgate.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterConfig;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A single plain Redis (SPEC §9 accepts one): the same library and figures through the standalone
 * client, and the fault every deployment meets first, Redis not there when the gateways start.
 */
class SingleRedisTest {
    static final long MINUTE = 60_000;
    static final long T0 = 1_800_000_000_000L - 1_800_000_000_000L % MINUTE;
    static final MeterConfig METER = new MeterConfig(1000, Duration.ofHours(1), Duration.ofMinutes(1));

    @Test
    void redisDownAtStart_shippersKeepCounting_statusDegraded_thenHealWhenRedisStarts() {
        int port = RedisClusterFixture.freePort();
        ManualClock clock = new ManualClock(T0 + 1000);
        RedisClusterFixture redis = null;
        try (Gateways g = new Gateways(2, Gateways.settings(List.of("redis://127.0.0.1:" + port)), METER, clock)) {
            for (int i = 0; i < 2; i++) {
                g.meters.get(i).record("early", 300, 3);
            }
            RedisClusterFixture.await(() -> g.shippers.stream().allMatch(s -> s.stats().failures() > 0),
                    "both shippers to fail a round");
            GlobalWindows.Status down = g.windows.get(0).status();
            assertThat(down.up()).isFalse();
            assertThat(down.lastSuccess()).isNull();
            assertThat(down.errors()).isPositive();
            assertThat(down.lastError()).isNotEmpty();
            assertThat(g.shippers.get(0).stats().pending()).isEqualTo(1);
            for (int i = 0; i < 2; i++) {
                g.meters.get(i).record("early", 201, 2); // 1002 > 1000 in all, not certain to either alone
            }
            clock.advance(MINUTE);

            redis = RedisClusterFixture.startAt(port);
            RedisClusterFixture.await(() -> g.latest.containsKey("early") && g.latest.get("early").posts24h() == 1002,
                    "the counts made while Redis was down to arrive");
            RedisClusterFixture.await(() -> g.windows.stream().allMatch(w -> w.status().up()), "both links up");
            assertThat(g.flagged.get("early")).as("one flag, raised once Redis saw the sum").hasValue(1);
            assertThat(g.globalPosts("early", T0 - 60 * MINUTE, T0 + 2 * MINUTE)).isEqualTo(1002);
            assertThat(g.windows.get(0).status().since()).isEqualTo(clock.instant());
        } finally {
            if (redis != null) {
                redis.stop();
            }
        }
    }

    @Test
    void singleRedis_servesTheSameFunctions_throughTheStandaloneClient() {
        RedisClusterFixture redis = RedisClusterFixture.single();
        ManualClock clock = new ManualClock(T0 + 1000);
        try (GlobalWindows a = new GlobalWindows(GlobalWindows.Settings.of(List.of(URI.create(redis.uris().get(0)))), "gw-a",
                METER, clock);
                GlobalWindows b = new GlobalWindows(GlobalWindows.Settings.of(List.of(URI.create(redis.uris().get(0)))), "gw-b",
                        METER, clock)) {
            var first = a.ship("solo", List.of(new GlobalWindows.BucketCounts(T0, 600, 6)));
            var second = b.ship("solo", List.of(new GlobalWindows.BucketCounts(T0, 401, 4)));
            assertThat(first.flagged()).isZero();
            assertThat(second.flagged()).isEqualTo(1);
            assertThat(second.posts24h()).isEqualTo(1001);
            assertThat(a.series("solo", T0, T0 + MINUTE).nodes()).containsExactly("gw-a", "gw-b");

            redis.cli(redis.ports().get(0), "FUNCTION", "FLUSH");
            assertThat(a.ship("solo", List.of(new GlobalWindows.BucketCounts(T0, 700, 7))).posts24h())
                    .as("reloaded after 'Function not found'").isEqualTo(1101);
        } finally {
            redis.stop();
        }
    }

    @Test
    void nearTheThreshold_anEntityShipsEveryNearInterval_whileColdOnesWaitForTheFlush() {
        RedisClusterFixture redis = RedisClusterFixture.single();
        ManualClock clock = new ManualClock(T0 + 1000);
        java.util.concurrent.ConcurrentLinkedQueue<String[]> feed = new java.util.concurrent.ConcurrentLinkedQueue<>();
        ChangeSource source = new ChangeSource() {
            @Override
            public int drain(long fromMillis, dev.tollgate.meter.Meter.BucketConsumer sink) {
                int n = 0;
                for (String[] c; (c = feed.poll()) != null; n++) {
                    sink.bucket(c[0], T0, Long.parseLong(c[1]), 1);
                }
                return n;
            }

            @Override
            public void forEachBucket(dev.tollgate.meter.Meter.BucketConsumer sink) {
            }

            @Override
            public void bucketsOf(String entity, dev.tollgate.meter.Meter.BucketConsumer sink) {
            }

            @Override
            public void adopt(String entity, GlobalWindows.BucketCounts redis, GlobalWindows.BucketCounts shipped) {
            }
        };
        java.util.Map<String, GlobalWindows.ShipReply> latest = new java.util.concurrent.ConcurrentHashMap<>();
        try (GlobalWindows gw = new GlobalWindows(Gateways.settings(redis.uris()), "gw-a", METER, clock);
                WindowShipper shipper = new WindowShipper(gw, source, METER, clock, Duration.ofMinutes(10), Duration.ofMillis(20), Duration.ofMinutes(10),
                        latest::put)) {
            feed.add(new String[] {"warm", "1"}); // before the start: the first round (a full one) ships it
            shipper.start();
            RedisClusterFixture.await(() -> latest.containsKey("warm") && shipper.caughtUp(), "the first full round");

            feed.add(new String[] {"cold", "10"});
            feed.add(new String[] {"hot", "801"});
            RedisClusterFixture.await(() -> latest.containsKey("hot"), "the hot entity shipped before the 10 min flush");
            assertThat(latest).doesNotContainKey("cold");
            assertThat(shipper.stats().pending()).isEqualTo(1);

            feed.add(new String[] {"hot", "1001"});
            RedisClusterFixture.await(() -> latest.get("hot").flagged() == 1, "the crossing decided at the near cadence");
        } finally {
            redis.stop();
        }
    }

    @Test
    void gatewayRestarted_reshipsItsRestoredWindows_withoutCountingThemTwice() {
        RedisClusterFixture redis = RedisClusterFixture.single();
        ManualClock clock = new ManualClock(T0 + 1000);
        GlobalWindows.Settings settings = Gateways.settings(redis.uris());
        try {
            try (Gateways before = new Gateways(2, settings, METER, clock)) {
                before.meters.get(0).record("restarted", 400, 4);
                before.meters.get(1).record("restarted", 300, 3);
                RedisClusterFixture.await(() -> before.latest.containsKey("restarted")
                        && before.globalPosts("restarted", T0, T0 + MINUTE) == 700, "both gateways' counts in Redis");
            }
            // gw-a comes back with its windows restored from its data directory (here: recorded again),
            // and counts on; gw-b is still away
            try (Gateways after = new Gateways(1, settings, METER, clock)) {
                after.meters.get(0).record("restarted", 400, 4);
                RedisClusterFixture.await(() -> after.latest.containsKey("restarted"), "the restart's first full ship");
                assertThat(after.latest.get("restarted").posts24h()).as("nothing twice").isEqualTo(700);
                after.meters.get(0).record("restarted", 50, 1);
                RedisClusterFixture.await(() -> after.latest.get("restarted").posts24h() == 750, "new posts on top");
            }
        } finally {
            redis.stop();
        }
    }

    @Test
    void settings_rejectBadValues_withTheKeyAndWhatWasExpected() {
        assertThatThrownBy(() -> GlobalWindows.Settings.of(List.of(URI.create("http://127.0.0.1:6379"))))
                .hasMessage("cluster.redis.nodes: http://127.0.0.1:6379 (expected: redis://host:port)");
        assertThatThrownBy(() -> GlobalWindows.Settings.of(List.of()))
                .hasMessageStartingWith("cluster.redis.nodes: empty");
        assertThatThrownBy(() -> new GlobalWindows.Settings(List.of(URI.create("redis://h:1")), null, Duration.ZERO,
                GlobalWindows.Mode.AUTO))
                .hasMessageStartingWith("cluster.redis.commandTimeout: PT0S (expected: a positive duration");
        assertThatThrownBy(() -> new GlobalWindows(GlobalWindows.Settings.of(List.of(URI.create("redis://h:1"))), "gw;1", METER,
                new ManualClock(T0)))
                .hasMessageStartingWith("cluster.nodeId: gw;1 (expected:");
    }
}
