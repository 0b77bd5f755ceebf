package dev.tollgate.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Three gateways (real meters, real shipper threads) against a real Redis Cluster: the global
 * figures equal the truth, one flag per entity cluster-wide, and after a master is killed with
 * {@code kill -9} mid-traffic, nothing is lost and nothing counted twice once the failover is done
 * and the shippers have re-shipped.
 */
class WindowShipperClusterTest extends OnRedisCluster {

    @Test
    void threeGateways_recordingFromThreads_globalIsTheSum_andOneFlagPerEntity() throws Exception {
        MeterConfig config = new MeterConfig(1000, Duration.ofHours(1), Duration.ofMinutes(1));
        ManualClock clock = new ManualClock(T0 + 1000);
        Map<String, AtomicLong> truth = new ConcurrentHashMap<>();
        try (Gateways g = new Gateways(3, Gateways.settings(redis.uris()), config, clock)) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                var meter = g.meters.get(i);
                Thread t = new Thread(() -> {
                    for (int round = 0; round < 400; round++) {
                        for (int e = 0; e < 20; e++) {
                            String entity = "spread-" + e;
                            meter.record(entity, 1, 1);
                            truth.computeIfAbsent(entity, k -> new AtomicLong()).incrementAndGet();
                        }
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            for (int e = 0; e < 20; e++) {
                String entity = "spread-" + e;
                long expected = truth.get(entity).get();
                assertThat(expected).isEqualTo(1200);
                RedisClusterFixture.await(() -> g.latest.containsKey(entity) && g.latest.get(entity).posts24h() == expected
                        && g.globalPosts(entity, T0 - 60 * MINUTE, T0 + MINUTE) == expected, entity + " global = " + expected);
            }
            for (int e = 0; e < 20; e++) {
                String entity = "spread-" + e;
                assertThat(g.flagged.get(entity)).as("replies that raised a flag for %s", entity).hasValue(1);
                assertThat(g.latest.get(entity).openSequence()).isEqualTo(1);
                assertThat(redis.cliAny("HGET", GlobalWindows.key(entity, 'i'), "last").trim()).isEqualTo("1");
            }
            assertThat(g.shippers.get(0).stats().entitiesShipped()).isPositive();
            assertThat(g.shippers.get(0).stats().bytesSent()).isPositive();
        }
    }

    @Test
    void masterKilledMidTraffic_afterFailoverAndReship_globalEqualsTheTruth() throws Exception {
        MeterConfig config = new MeterConfig(1_000_000, Duration.ofHours(1), Duration.ofMinutes(1));
        ManualClock clock = new ManualClock(T0 + 1000);
        Map<String, AtomicLong> truth = new ConcurrentHashMap<>();
        List<String> entities = new ArrayList<>();
        for (int e = 0; e < 60; e++) {
            entities.add("fo-" + e);
        }
        try (Gateways g = new Gateways(3, Gateways.settings(redis.uris()), config, clock)) {
            Runnable traffic = () -> {
                for (int i = 0; i < 3; i++) {
                    for (String entity : entities) {
                        g.meters.get(i).record(entity, 2, 1);
                        truth.computeIfAbsent(entity, k -> new AtomicLong()).addAndGet(2);
                    }
                }
            };
            traffic.run();
            awaitTruth(g, entities, truth);
            redis.awaitReplicasSynced();

            traffic.run(); // shipped, or not, by the time the master dies: either way it must arrive
            int killed = redis.killMaster(GlobalWindows.key("fo-0", 'w'));
            for (int i = 0; i < 5; i++) {
                traffic.run();
                clock.advance(20_000); // into the next buckets while the cluster fails over
            }
            awaitTruth(g, entities, truth);
            assertThat(killed).isPositive();
            assertThat(g.shippers.stream().mapToLong(s -> s.stats().failures()).sum()).as("rounds that met the dead master").isPositive();
            assertThat(g.shippers.stream().mapToLong(s -> s.stats().reships()).sum()).as("re-ships").isGreaterThan(3);
        }
    }

    private static void awaitTruth(Gateways g, List<String> entities, Map<String, AtomicLong> truth) {
        for (String entity : entities) {
            long expected = truth.get(entity).get();
            RedisClusterFixture.await(() -> {
                try {
                    return g.globalPosts(entity, T0 - 60 * MINUTE, T0 + 60 * MINUTE) == expected;
                } catch (GlobalWindows.UnavailableException e) {
                    return false;
                }
            }, entity + " global posts = " + expected);
        }
    }
}
