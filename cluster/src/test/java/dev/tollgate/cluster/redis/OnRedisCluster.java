package dev.tollgate.cluster.redis;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A test class of this package that runs against a real 3-master, 3-replica Redis Cluster,
 * started once for the class and torn down after it; and the times its tests share.
 */
abstract class OnRedisCluster {
    static final long MINUTE = 60_000;
    /** A minute boundary, years from now: every test's clock starts there. */
    static final long T0 = 1_800_000_000_000L - 1_800_000_000_000L % MINUTE;

    static RedisClusterFixture redis;

    @BeforeAll
    static void startRedisCluster() {
        redis = RedisClusterFixture.cluster();
    }

    @AfterAll
    static void stopRedisCluster() {
        if (redis != null) {
            redis.stop();
            redis = null;
        }
    }
}
