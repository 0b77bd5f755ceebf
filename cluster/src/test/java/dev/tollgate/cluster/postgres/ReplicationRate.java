package dev.tollgate.cluster.postgres;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.ledger.Ledger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A measurement, not a test: how fast a backlog of local records reaches PostgreSQL (the catch-up
 * after PostgreSQL was down), how long claiming due incidents takes, and how long a full verify
 * of the chain takes, against the fixture's real PostgreSQL 15 on this machine. Run:
 * <pre>
 * mvn -B -o -q -pl cluster -am test-compile
 * mvn -B -o -q -pl cluster dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -cp meter-core/target/classes:cluster/target/classes:cluster/target/test-classes:$(cat /tmp/cp.txt) \
 *      dev.tollgate.cluster.postgres.ReplicationRate 20000 1000
 * </pre>
 */
public final class ReplicationRate {
    private ReplicationRate() {
    }

    public static void main(String[] args) throws Exception {
        int records = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int incidents = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
        Path dir = Files.createTempDirectory("tollgate-pg-rate-");
        ManualClock clock = new ManualClock(Instant.parse("2026-11-24T00:00:00Z").toEpochMilli());
        try (PostgresFixture pg = PostgresFixture.startNew(); Ledger local = Ledger.open(dir, clock)) {
            var settings = new ClusterLedger.Settings(pg.newDatabase(), PostgresFixture.USER, PostgresFixture.PASSWORD);
            List<String> types = new ArrayList<>();
            List<ObjectNode> fields = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                types.add("start");
                fields.add(TestRecords.other("gw-1", i));
            }
            local.submitAll(types, fields).join();
            types.clear();
            fields.clear();
            Instant at = Instant.parse("2026-11-24T00:00:00Z");
            for (int i = 0; i < incidents; i++) {
                types.add("flag");
                fields.add(TestRecords.flag("e" + i, 1, at, 101));
                types.add("provisional");
                fields.add(TestRecords.period("e" + i, 1, at, 101, "provisional"));
            }
            local.submitAll(types, fields).join();
            long total = local.head().records();
            long bytes = Files.size(Ledger.fileIn(dir));

            long t0 = System.nanoTime();
            try (ClusterLedger c = ClusterLedger.start(settings, "gw-1", local, clock)) {
                while (c.status().lastDelivered() < total) {
                    Thread.onSpinWait();
                }
                long t1 = System.nanoTime();
                System.out.printf("catch-up: %d local records (%d MB) delivered in %.2f s: %.0f records/s, %.1f MB/s%n", total,
                        bytes >> 20, (t1 - t0) / 1e9, total / ((t1 - t0) / 1e9), bytes / 1048576.0 / ((t1 - t0) / 1e9));
                long now = at.plusMillis(TestRecords.WINDOW).toEpochMilli();
                int finals = 0;
                long t2 = System.nanoTime();
                for (List<?> got; !(got = c.claimDue(now, TestRecords.WINDOW,
                        i -> TestRecords.period(i.entity(), (int) i.sequence(), i.flaggedAt(), 150, "final"))).isEmpty();) {
                    finals += got.size();
                }
                long t3 = System.nanoTime();
                System.out.printf("claimDue: %d incidents finalized in %.2f s (%.2f ms each, %d per transaction)%n", finals,
                        (t3 - t2) / 1e9, (t3 - t2) / 1e6 / finals, Claims.LIMIT);
                long t4 = System.nanoTime();
                var v = c.verify();
                long t5 = System.nanoTime();
                System.out.printf("verify: %d records, %s, in %.2f s%n", v.records().size(), v.badLine() == 0 ? "sound" : v.reason(),
                        (t5 - t4) / 1e9);
            }
        } finally {
            try (var all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
