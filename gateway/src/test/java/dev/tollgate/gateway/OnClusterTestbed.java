package dev.tollgate.gateway;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A test class whose gateways run in cluster mode against the {@link ClusterTestbed}'s real Redis
 * Cluster and PostgreSQL, started once for the class and stopped after it.
 */
abstract class OnClusterTestbed {
    static ClusterTestbed bed;

    @BeforeAll
    static void servers() throws Exception {
        bed = new ClusterTestbed();
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (bed != null) {
            bed.close();
            bed = null;
        }
    }
}
