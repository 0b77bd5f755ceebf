package dev.tollgate.gateway;

import dev.tollgate.cluster.ClusterMeter;
import dev.tollgate.cluster.redis.GlobalWindows;
import dev.tollgate.gateway.admin.ClusterView;
import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.admin.Readiness;
import java.time.Instant;

/**
 * How cluster mode shows (SPEC §9): Redis and PostgreSQL as links that degrade the gateway but
 * leave it ready, named with their reason and since when in {@code /readyz}, {@code /api/v1/status}
 * and the metrics; and the admin API's cluster view.
 */
final class ClusterLinks {
    private ClusterLinks() {
    }

    static void register(ClusterMeter cluster, Readiness readiness, GatewayMetrics metrics) {
        readiness.link("redis", () -> {
            GlobalWindows.Status s = cluster.redisStatus();
            return s.up() ? null : "unreachable since " + s.since() + (s.lastError() == null ? "" : " (" + s.lastError() + ")")
                    + "; counting goes on locally and is shipped when it returns";
        });
        readiness.link("postgres", cluster::postgresProblem);
        metrics.gauge("tollgate_cluster_redis_up", "1 while the last exchange with Redis succeeded, else 0",
                () -> cluster.redisStatus().up() ? 1 : 0);
        metrics.gaugeSeconds("tollgate_cluster_redis_last_success_timestamp_seconds", "When the last exchange with Redis succeeded (Unix time)",
                () -> seconds(cluster.redisStatus().lastSuccess()));
        metrics.gauge("tollgate_cluster_postgres_up", "1 while PostgreSQL takes this gateway's records and answers its reads, else 0",
                () -> cluster.postgresProblem() == null ? 1 : 0);
        metrics.gauge("tollgate_cluster_postgres_pending_records", "Local ledger records not yet delivered to PostgreSQL",
                () -> cluster.postgresStatus().pending());
        metrics.counter("tollgate_cluster_shipments_total", "Rounds of shipping this gateway's counts to Redis", () -> cluster.shipping().rounds());
        metrics.counter("tollgate_cluster_entities_shipped_total", "Entity shipments Redis applied", () -> cluster.shipping().entitiesShipped());
        metrics.counter("tollgate_cluster_ship_failures_total", "Shipping rounds that failed (retried)", () -> cluster.shipping().failures());
        metrics.counter("tollgate_cluster_redis_commands_total", "Redis commands sent", () -> cluster.shipping().commands());
        metrics.counter("tollgate_cluster_redis_sent_bytes_total", "Bytes of Redis commands sent", () -> cluster.shipping().bytesSent());
        metrics.gauge("tollgate_cluster_pending_entities", "Entities whose counts wait to be shipped (due, or within their allowance)",
                () -> cluster.shipping().pending());
        metrics.gauge("tollgate_cluster_node_id_conflict", "1 while another running gateway uses this gateway's cluster.nodeId",
                () -> cluster.shipping().nodeIdConflict() ? 1 : 0);
        metrics.counter("tollgate_cluster_adopted_buckets_total",
                "Buckets where Redis held more of this gateway than it had (counts lost locally, e.g. by kill -9), taken back",
                () -> cluster.shipping().adopted());
        metrics.counter("tollgate_cluster_recalls_total", "Recalls heard: entities another gateway took near the threshold, shipped at once",
                () -> cluster.shipping().recalls());
        metrics.counter("tollgate_cluster_flags_total", "Flags this gateway raised (Redis told it, or its own count while Redis was away)",
                cluster::flagsRaised);
        metrics.counter("tollgate_cluster_certain_flags_total", "Flags raised from this gateway's own count while Redis was away",
                cluster::certainFlags);
        metrics.counter("tollgate_cluster_finals_total", "Damage periods this gateway finalized (claimed in PostgreSQL)", cluster::finalsWritten);
    }

    private static double seconds(Instant t) {
        return t == null ? 0 : t.toEpochMilli() / 1000.0;
    }

    static ClusterView view(ClusterMeter cluster) {
        return new ClusterView() {
            @Override
            public java.util.List<dev.tollgate.meter.ledger.LedgerRecord> records() throws Exception {
                return cluster.records();
            }

            @Override
            public boolean counts(String entity) {
                return cluster.globalPosts24hNow(entity) > 0;
            }

            @Override
            public long[] posts24hNow(java.util.List<String> entities) {
                return cluster.globalPosts24hNow(entities);
            }

            @Override
            public void describe(String entity, com.fasterxml.jackson.databind.node.ObjectNode json) {
                json.put("posts24h", cluster.globalPosts24hNow(entity)); // read now: right on a gateway that never served it
                json.put("localPosts24h", cluster.localPosts24h(entity));
                json.put("node", cluster.nodeId());
                ClusterMeter.Global g = cluster.global(entity);
                if (g != null) {
                    json.put("globalAsOf", Instant.ofEpochMilli(g.atMillis()).toString());
                }
                Instant last = cluster.redisStatus().lastSuccess();
                json.put("redisLastExchange", last == null ? null : last.toString());
            }
        };
    }
}
