package dev.tollgate.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterConfig;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link GlobalWindows} against a real 3-master, 3-replica Redis Cluster started by the test. */
class GlobalWindowsTest extends OnRedisCluster {
    /** A 1 h window of 1 min buckets, threshold 1000: small figures, the same rules. */
    static final MeterConfig METER = new MeterConfig(1000, Duration.ofHours(1), Duration.ofMinutes(1));

    final ManualClock clock = new ManualClock(T0 + 30_000);

    GlobalWindows gateway(String nodeId) {
        return new GlobalWindows(GlobalWindows.Settings.of(redis.uris().stream().map(URI::create).toList()), nodeId, METER, clock);
    }

    static BucketCounts b(int minute, long posts, long requests) {
        return new BucketCounts(T0 + minute * MINUTE, posts, requests);
    }

    @Test
    void ship_isIdempotentAndOrderFree_andAStaleShipmentChangesNothing() {
        try (GlobalWindows gw = gateway("gw-a")) {
            List<BucketCounts> older = List.of(b(-1, 5, 6));
            List<BucketCounts> newer = List.of(b(-1, 8, 9), b(0, 2, 3));
            gw.ship("inOrder", older);
            ShipReply first = gw.ship("inOrder", newer);
            ShipReply again = gw.ship("inOrder", newer);
            ShipReply stale = gw.ship("inOrder", older);
            gw.ship("reversed", newer);
            ShipReply reversed = gw.ship("reversed", older);

            for (ShipReply r : List.of(first, again, stale, reversed)) {
                assertThat(r.posts24h()).as("posts of %s", r).isEqualTo(10);
                assertThat(r.requests24h()).as("requests of %s", r).isEqualTo(12);
                assertThat(r.flagged()).isZero();
            }
            assertThat(gw.series("inOrder", T0 - MINUTE, T0 + MINUTE).buckets())
                    .containsExactly(b(-1, 8, 9), b(0, 2, 3))
                    .isEqualTo(gw.series("reversed", T0 - MINUTE, T0 + MINUTE).buckets());
            assertThat(gw.status().up()).isTrue();
            assertThat(gw.status().lastSuccess()).isEqualTo(clock.instant());
        }
    }

    @Test
    void threeGateways_concurrently_globalIsTheSum_andExactlyOneFlagPerEntity() throws Exception {
        int entities = 300;
        int steps = 12;
        long perStep = 40; // 3 gateways × 12 steps × 40 = 1440 posts > 1000 per entity
        List<GlobalWindows> gateways = List.of(gateway("gw-a"), gateway("gw-b"), gateway("gw-c"));
        Map<String, AtomicInteger> flags = new ConcurrentHashMap<>();
        Map<String, Long> lastSeen = new ConcurrentHashMap<>();
        CyclicBarrier barrier = new CyclicBarrier(gateways.size());
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (GlobalWindows gw : gateways) {
            Thread t = new Thread(() -> {
                try {
                    Map<String, long[]> local = new HashMap<>(); // this gateway's absolute counts per entity, 2 buckets
                    for (int step = 0; step < steps; step++) {
                        barrier.await();
                        Map<String, List<BucketCounts>> shipment = new HashMap<>();
                        for (int e = 0; e < entities; e++) {
                            String entity = "conc-" + e;
                            long[] c = local.computeIfAbsent(entity, k -> new long[2]);
                            c[ThreadLocalRandom.current().nextInt(2)] += perStep;
                            shipment.put(entity, List.of(b(-1, c[0], c[0]), b(0, c[1], c[1])));
                        }
                        Map<String, ShipReply> replies = gw.shipAll(shipment);
                        assertThat(replies).hasSize(entities);
                        replies.values().forEach(r -> {
                            if (r.flagged() != 0) {
                                flags.computeIfAbsent(r.entity(), k -> new AtomicInteger()).incrementAndGet();
                            }
                        });
                    }
                } catch (Throwable x) {
                    synchronized (errors) {
                        errors.add(x);
                    }
                    barrier.reset();
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        try {
            for (int e = 0; e < entities; e++) {
                String entity = "conc-" + e;
                assertThat(flags.get(entity)).as("flags of %s", entity).hasValue(1);
                GlobalWindows.Series s = gateways.get(0).series(entity, T0 - MINUTE, T0 + MINUTE);
                assertThat(s.buckets().stream().mapToLong(BucketCounts::posts).sum()).isEqualTo(3 * steps * perStep);
                assertThat(s.nodes()).containsExactly("gw-a", "gw-b", "gw-c");
                lastSeen.put(entity, gateways.get(1).ship(entity, List.of(b(0, 0, 0))).posts24h());
            }
            assertThat(lastSeen.values()).containsOnly(3 * steps * perStep);
        } finally {
            gateways.forEach(GlobalWindows::close);
        }
    }

    @Test
    void shipAll_entitiesOfOneSlot_goInOneCall_eachWithItsOwnFigures() {
        List<String> sameSlot = new ArrayList<>();
        int slot = io.lettuce.core.cluster.SlotHash.getSlot(GlobalWindows.key("slot-0", 'w'));
        for (int i = 0; sameSlot.size() < 5; i++) {
            if (io.lettuce.core.cluster.SlotHash.getSlot(GlobalWindows.key("slot-" + i, 'w')) == slot) {
                sameSlot.add("slot-" + i);
            }
        }
        Map<String, List<BucketCounts>> shipment = new HashMap<>();
        for (int i = 0; i < sameSlot.size(); i++) {
            shipment.put(sameSlot.get(i), i == 2 ? List.of(b(-1, 1000, 1), b(0, 1, 1)) : List.of(b(0, 10 + i, i)));
        }
        try (GlobalWindows gw = gateway("gw-a")) {
            long before = gw.commands();
            Map<String, ShipReply> replies = gw.shipAll(shipment);
            assertThat(gw.commands() - before).as("FCALLs for five entities of one slot").isEqualTo(1);
            for (int i = 0; i < sameSlot.size(); i++) {
                ShipReply r = replies.get(sameSlot.get(i));
                assertThat(r.posts24h()).isEqualTo(i == 2 ? 1001 : 10 + i);
                assertThat(r.flagged()).isEqualTo(i == 2 ? 1 : 0);
            }
        }
    }

    @Test
    void afterClose_postsOfTheClosedPeriodDoNotCountAgain_andTheNextFlagFollows() {
        try (GlobalWindows gw = gateway("gw-a")) {
            ShipReply first = gw.ship("closing", List.of(b(0, 1001, 1001)));
            assertThat(first.flagged()).isEqualTo(1);
            assertThat(first.openSequence()).isEqualTo(1);
            assertThat(first.flagBucketMillis()).isEqualTo(T0);
            assertThat(first.flagCount()).isEqualTo(1001);
            assertThat(gw.ship("closing", List.of(b(0, 1500, 1500))).flagged()).as("open: no second flag").isZero();

            gw.close("closing", 1, T0 - 59 * MINUTE, T0 + MINUTE); // the final period ends after bucket 0
            clock.advance(5 * MINUTE);
            ShipReply after = gw.ship("closing", List.of(b(5, 900, 900)));
            assertThat(after.posts24h()).isEqualTo(2400);
            assertThat(after.flagged()).as("1500 closed + 900 new: only 900 count").isZero();
            assertThat(after.openSequence()).isZero();

            ShipReply next = gw.ship("closing", List.of(b(5, 1001, 1001)));
            assertThat(next.flagged()).isEqualTo(2);
            assertThat(next.flagCount()).isEqualTo(1001);
            assertThat(next.flagBucketMillis()).isEqualTo(T0 + 5 * MINUTE);
        }
    }

    @Test
    void open_adoptsAFlagRaisedElsewhere_andShipmentsThenRaiseNone() {
        try (GlobalWindows gw = gateway("gw-a")) {
            gw.open("adopted", 4, T0, 1200);
            ShipReply r = gw.ship("adopted", List.of(b(0, 1300, 1300)));
            assertThat(r.flagged()).isZero();
            assertThat(r.openSequence()).isEqualTo(4);
            assertThat(r.flagCount()).isEqualTo(1200);
            gw.close("adopted", 4, T0 - 59 * MINUTE, T0 + MINUTE);
            clock.advance(61 * MINUTE);
            assertThat(gw.ship("adopted", List.of(b(61, 1001, 1))).flagged()).as("numbered after the adopted one").isEqualTo(5);
        }
    }

    @Test
    void keys_expireWhenNothingCanNeedThem_butAnIncidentsStateDoesNot() {
        try (GlobalWindows gw = gateway("gw-a")) {
            gw.ship("expiring", List.of(b(-3, 1, 1), b(0, 1001, 1)));
            long keep = Duration.ofHours(1 + 24).toMillis();
            long expected = T0 + MINUTE + keep - clock.millis();
            long ttl = Long.parseLong(redis.cliAny("PTTL", GlobalWindows.key("expiring", 'w')).trim());
            assertThat(ttl).isBetween(expected - 60_000, expected);
            assertThat(redis.cliAny("PTTL", GlobalWindows.key("expiring", 'i')).trim()).isEqualTo("-1");

            gw.ship("expiring", List.of(b(-3, 2, 2))); // an older bucket never shortens the life
            long after = Long.parseLong(redis.cliAny("PTTL", GlobalWindows.key("expiring", 'w')).trim());
            assertThat(after).isBetween(expected - 60_000, expected);
        }
    }

    @Test
    void key_keepsEveryEntityOnOneSlot_whateverBracesItHolds() {
        for (String entity : List.of("}x", "{a}", "a%7Db", "plain")) {
            String w = redis.cliAny("CLUSTER", "KEYSLOT", GlobalWindows.key(entity, 'w')).trim();
            assertThat(redis.cliAny("CLUSTER", "KEYSLOT", GlobalWindows.key(entity, 'i')).trim()).as(entity).isEqualTo(w);
        }
        assertThat(GlobalWindows.key("{a}", 'w')).isNotEqualTo(GlobalWindows.key("%7Ba%7D", 'w'));
        try (GlobalWindows gw = gateway("gw-a")) {
            assertThat(gw.ship("}x", List.of(b(0, 3, 3))).posts24h()).isEqualTo(3);
        }
    }

    @Test
    void aSecondProcessWithTheSameNodeId_isNoticed_andTheIdIsFreeOnceTheFirstStopsClaimingIt() {
        try (GlobalWindows first = gateway("twin"); GlobalWindows second = gateway("twin"); GlobalWindows other = gateway("gw-c")) {
            assertThat(first.nodeIdTakenElsewhere(60_000)).isFalse();
            assertThat(second.nodeIdTakenElsewhere(60_000)).as("the id is held by the first").isTrue();
            assertThat(first.nodeIdTakenElsewhere(60_000)).as("the first renews it").isFalse();
            assertThat(other.nodeIdTakenElsewhere(60_000)).isFalse();
            assertThat(first.nodeIdTakenElsewhere(300)).isFalse(); // the first's claim now lasts 300 ms, and it stops renewing
            RedisClusterFixture.await(() -> !second.nodeIdTakenElsewhere(60_000), "the second holds the id once the claim expired");
            assertThat(first.nodeIdTakenElsewhere(60_000)).as("now the first is the second one").isTrue();
        }
    }
}
