package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.ledger.IncidentHistory;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import dev.tollgate.meter.ledger.LedgerVerification;
import dev.tollgate.meter.report.DamagePeriod;
import dev.tollgate.meter.report.DamageReport;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster ledger against a real PostgreSQL, with real local ledgers and real threads. */
class ClusterLedgerTest extends OnPostgres {
    static final Instant T0 = Instant.parse("2026-11-24T00:00:00Z");

    @TempDir
    Path dir;
    String url;
    ClusterLedger.Settings settings;
    final ManualClock clock = new ManualClock(T0.toEpochMilli());
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void database() throws Exception {
        url = pg.newDatabase();
        settings = new ClusterLedger.Settings(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    Ledger local(String node) throws Exception {
        Ledger l = Ledger.open(dir.resolve(node), clock);
        open.add(l);
        return l;
    }

    ClusterLedger cluster(String node, Ledger local) {
        ClusterLedger c = ClusterLedger.start(settings, node, local, clock);
        open.add(c);
        return c;
    }

    long count(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
                Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    void awaitDelivered(ClusterLedger c, Ledger l) throws Exception {
        Await.until(() -> c.status().up() && c.status().pending() == 0 && c.status().lastDelivered() == l.head().records(),
                "every local record delivered");
    }

    /** Every record of every node exactly once, in each node's order, linked to the local record it came from. */
    static void assertOneChainOf(List<LedgerRecord> chain, Map<String, Ledger> locals) throws Exception {
        Map<String, Long> lastSeq = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (LedgerRecord r : chain) {
            String node = r.fields().path("node").asText();
            long localSeq = r.fields().path("localSeq").asLong();
            assertThat(seen.add(node + "/" + localSeq)).as("record %s/%s once", node, localSeq).isTrue();
            assertThat(localSeq).as("node %s in order", node).isGreaterThan(lastSeq.getOrDefault(node, 0L));
            lastSeq.put(node, localSeq);
        }
        for (var e : locals.entrySet()) {
            List<LedgerRecord> mine = e.getValue().records();
            List<LedgerRecord> delivered = chain.stream().filter(r -> r.fields().path("node").asText().equals(e.getKey())).toList();
            assertThat(delivered).hasSize(mine.size());
            for (int i = 0; i < mine.size(); i++) {
                assertThat(delivered.get(i).fields().path("localHash").asText()).isEqualTo(mine.get(i).hash());
                assertThat(delivered.get(i).type()).isEqualTo(mine.get(i).type());
            }
        }
    }

    @Test
    void threeGateways_replicatingConcurrently_makeOneChainThatVerifies() throws Exception {
        List<String> nodes = List.of("gw-1", "gw-2", "gw-3");
        Map<String, Ledger> locals = new HashMap<>();
        Map<String, ClusterLedger> clusters = new HashMap<>();
        for (String n : nodes) {
            locals.put(n, local(n));
            clusters.put(n, cluster(n, locals.get(n)));
        }
        int perNode = 150;
        ExecutorService writers = Executors.newFixedThreadPool(3);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (String n : nodes) {
                done.add(writers.submit(() -> {
                    go.await();
                    for (int i = 0; i < perNode; i++) {
                        locals.get(n).append("start", TestRecords.other(n, i));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            writers.shutdownNow();
        }
        for (String n : nodes) {
            awaitDelivered(clusters.get(n), locals.get(n));
        }
        LedgerVerification v = clusters.get("gw-1").verify();
        assertThat(v.badLine()).as(v.reason() == null ? "sound" : v.reason()).isZero();
        assertThat(v.records()).hasSize(3 * perNode);
        assertThat(v.head().records()).isEqualTo(3 * perNode);
        assertOneChainOf(v.records(), locals);
        // every gateway reads the same chain
        assertThat(clusters.get("gw-3").records().get(3 * perNode - 1).hash()).isEqualTo(v.lastHash());
        // a line of the cluster chain checks with the README's python3 one-liner rule: hash of the text without its hash member
        String line = lineOf(1);
        assertThat(Chain.sha256(line.substring(0, line.lastIndexOf(",\"hash\":")) + "}")).isEqualTo(v.records().get(0).hash());
        // the chain dumped as lines (psql -Atc 'SELECT line FROM ledger_record ORDER BY seq') is a ledger file meter-core's own
        // verifier accepts, with the same head: one format, one checker
        Path dump = dir.resolve("dump.jsonl");
        java.nio.file.Files.write(dump, allLines());
        LedgerVerification local = LedgerVerification.of(dump);
        assertThat(local.ok()).as(String.valueOf(local.reason())).isTrue();
        assertThat(local.head()).isEqualTo(v.head());
    }

    List<String> allLines() throws Exception {
        List<String> lines = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
                Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT line FROM ledger_record ORDER BY seq")) {
            while (r.next()) {
                lines.add(r.getString(1));
            }
        }
        return lines;
    }

    String lineOf(long seq) throws Exception {
        try (Connection c = DriverManager.getConnection(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
                Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT line FROM ledger_record WHERE seq = " + seq)) {
            r.next();
            return r.getString(1);
        }
    }

    @Test
    void twoFlagsForOneEntity_fromTwoGateways_makeOneOpenIncident_andReportsCountItOnce() throws Exception {
        Ledger a = local("gw-a");
        Ledger b = local("gw-b");
        Instant flagged = T0.plusSeconds(3600);
        a.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 1, flagged, 1_000_001),
                TestRecords.period("acme", 1, flagged, 1_000_001, "provisional"))).join();
        ClusterLedger ca = cluster("gw-a", a);
        awaitDelivered(ca, a);
        // gw-b flagged the same entity from its own count while Redis was down; and then its hourly update
        b.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 1, flagged.plusSeconds(5), 400_000),
                TestRecords.period("acme", 1, flagged.plusSeconds(5), 400_000, "provisional"))).join();
        b.append("provisional", TestRecords.period("acme", 1, flagged.plusSeconds(5), 450_000, "provisional"));
        ClusterLedger cb = cluster("gw-b", b);
        awaitDelivered(cb, b);

        assertThat(ca.openIncidents()).singleElement().satisfies(i -> {
            assertThat(i.incidentId()).isEqualTo("acme#1");
            assertThat(i.nodeId()).isEqualTo("gw-a");
            assertThat(i.flagCount()).isEqualTo(1_000_001);
        });
        List<LedgerRecord> chain = cb.records();
        assertThat(chain).extracting(LedgerRecord::type).containsExactly("flag", "provisional", "superseded", "superseded", "superseded");
        assertThat(chain.get(2).fields().path("supersededType").asText()).isEqualTo("flag");
        assertThat(chain.get(2).fields().path("supersededBecause").asText()).contains("acme#1").contains("gw-a");
        assertThat(chain.get(3).fields().path("supersededBecause").asText()).contains("flagged by gw-a");
        DamageReport report = DamageReport.fromLedger(chain, DamageReport.BEGINNING, DamageReport.END, null, T0.plusSeconds(7200));
        assertThat(report.periods()).singleElement().satisfies(p -> assertThat(p.posts()).isEqualTo(1_000_001));
        IncidentHistory h = IncidentHistory.of(chain);
        assertThat(h.entities()).singleElement().satisfies(e -> assertThat(e.toString()).contains("acme"));
        assertThat(count("SELECT count(*) FROM incidents")).isEqualTo(1);
    }

    @Test
    void claimDue_fromThreeGatewaysAtOnce_finalizesEachDueIncidentExactlyOnce() throws Exception {
        Ledger flagger = local("gw-1");
        int due = 12;
        for (int i = 0; i < due; i++) {
            Instant at = T0.plusSeconds(60L * i);
            flagger.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("e" + i, 1, at, 101),
                    TestRecords.period("e" + i, 1, at, 101, "provisional"))).join();
        }
        Instant late = T0.plusSeconds(7200); // not yet a window old at the claim
        flagger.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("late", 1, late, 101),
                TestRecords.period("late", 1, late, 101, "provisional"))).join();
        Map<String, Ledger> locals = new HashMap<>();
        Map<String, ClusterLedger> clusters = new HashMap<>();
        locals.put("gw-1", flagger);
        clusters.put("gw-1", cluster("gw-1", flagger));
        for (String n : List.of("gw-2", "gw-3")) {
            locals.put(n, local(n));
            clusters.put(n, cluster(n, locals.get(n)));
        }
        awaitDelivered(clusters.get("gw-1"), flagger);
        assertThat(clusters.get("gw-2").openIncidents()).hasSize(due + 1);

        long now = T0.plusMillis(TestRecords.WINDOW).plusSeconds(3600).toEpochMilli();
        Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        ExecutorService claimers = Executors.newFixedThreadPool(3);
        CountDownLatch go = new CountDownLatch(1);
        Map<String, List<LedgerRecord>> wrote = new ConcurrentHashMap<>();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (String n : List.of("gw-1", "gw-2", "gw-3")) {
                done.add(claimers.submit(() -> {
                    go.await();
                    wrote.put(n, clusters.get(n).claimDue(now, TestRecords.WINDOW, i -> {
                        calls.computeIfAbsent(i.incidentId(), k -> new AtomicInteger()).incrementAndGet();
                        return TestRecords.period(i.entity(), (int) i.sequence(), i.flaggedAt(), 150, "final");
                    }));
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            claimers.shutdownNow();
        }
        assertThat(calls).hasSize(due);
        assertThat(calls.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
        assertThat(wrote.values().stream().mapToInt(List::size).sum()).isEqualTo(due);
        assertThat(clusters.get("gw-3").openIncidents()).singleElement().satisfies(i -> assertThat(i.entity()).isEqualTo("late"));
        assertThat(count("SELECT count(*) FROM incidents WHERE status = 'final'")).isEqualTo(due);
        // each claimer's own ledger gets its finals, and their delivery adds nothing to the chain
        for (String n : List.of("gw-1", "gw-2", "gw-3")) {
            int mine = wrote.get(n).size();
            Await.until(() -> locals.get(n).records().stream().filter(r -> r.type().equals("final")).count() == mine,
                    n + "'s finals in its local ledger");
            awaitDelivered(clusters.get(n), locals.get(n));
        }
        // the link of each local copy to its chain row commits with the delivery: wait for it rather than race the status
        Await.until(() -> count("SELECT count(*) FROM ledger_record WHERE type = 'final' AND local_seq IS NULL") == 0,
                "every claimed final linked to its local copy");
        LedgerVerification v = clusters.get("gw-2").verify();
        assertThat(v.badLine()).isZero();
        assertThat(v.records()).hasSize(2 * (due + 1) + due);
        DamageReport report = DamageReport.fromLedger(v.records(), DamageReport.BEGINNING, DamageReport.END, null, Instant.ofEpochMilli(now));
        assertThat(report.periods()).filteredOn(DamagePeriod::isFinal).hasSize(due);
        assertThat(report.periods()).filteredOn(DamagePeriod::isFinal).allSatisfy(p -> assertThat(p.posts()).isEqualTo(150));
        // a second round finds nothing due
        assertThat(clusters.get("gw-1").claimDue(now, TestRecords.WINDOW, i -> {
            throw new AssertionError("finalized twice: " + i);
        })).isEmpty();
    }

    @Test
    void claimer_stoppedBetweenCommitAndLocalCopy_writesTheCopyAtItsNextStart() throws Exception {
        Ledger l = local("gw-1");
        Instant at = T0;
        l.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 1, at, 101),
                TestRecords.period("acme", 1, at, 101, "provisional"))).join();
        ClusterLedger first = cluster("gw-1", l);
        awaitDelivered(first, l);
        l.close(); // the local copy cannot be written: as if the process died right after the claim's commit
        long now = at.plusMillis(TestRecords.WINDOW).toEpochMilli();
        List<LedgerRecord> finals = first.claimDue(now, TestRecords.WINDOW,
                i -> TestRecords.period(i.entity(), (int) i.sequence(), i.flaggedAt(), 120, "final"));
        assertThat(finals).hasSize(1);
        first.close();
        assertThat(l.records()).extracting(LedgerRecord::type).containsExactly("flag", "provisional");

        Ledger again = local("gw-1");
        ClusterLedger second = cluster("gw-1", again);
        Await.until(() -> again.head().records() == 3, "the final copied into the local ledger");
        awaitDelivered(second, again);
        LedgerRecord copy = again.records().get(2);
        assertThat(copy.type()).isEqualTo("final");
        assertThat(copy.fields().path("clusterSeq").asLong()).isEqualTo(finals.get(0).seq());
        assertThat(copy.fields().path("posts").asLong()).isEqualTo(120);
        assertThat(count("SELECT count(*) FROM ledger_record")).isEqualTo(3);
        assertThat(count("SELECT local_seq FROM ledger_record WHERE seq = " + finals.get(0).seq())).isEqualTo(3);
        // and a third start copies nothing more
        second.close();
        ClusterLedger third = cluster("gw-1", again);
        awaitDelivered(third, again);
        assertThat(again.head().records()).isEqualTo(3);
        assertThat(count("SELECT count(*) FROM ledger_record")).isEqualTo(3);
    }

    @Test
    void gatewayRestart_newClusterLedgerOnTheSameLocalLedger_resumesWithoutDuplicates() throws Exception {
        Ledger l = local("gw-1");
        for (int i = 0; i < 5; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        ClusterLedger first = cluster("gw-1", l);
        awaitDelivered(first, l);
        first.close();
        for (int i = 5; i < 12; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        ClusterLedger second = cluster("gw-1", l);
        awaitDelivered(second, l);
        assertThat(count("SELECT count(*) FROM ledger_record")).isEqualTo(12);
        assertOneChainOf(second.records(), Map.of("gw-1", l));
    }

    @Test
    void nodeIdReused_withAnotherLocalLedger_deliversNothingAndSaysWhy() throws Exception {
        Ledger l = local("gw-1");
        for (int i = 0; i < 3; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        ClusterLedger first = cluster("gw-1", l);
        awaitDelivered(first, l);
        first.close();
        Ledger other = local("elsewhere");
        for (int i = 0; i < 4; i++) {
            other.append("start", TestRecords.other("elsewhere", i));
        }
        ClusterLedger second = cluster("gw-1", other);
        Await.until(() -> !second.status().up() && second.status().lastError() != null, "the replicator refuses");
        assertThat(second.status().lastError()).contains("gw-1").contains("hashes differ");
        assertThat(count("SELECT count(*) FROM ledger_record")).isEqualTo(3);
    }

    @Test
    void tamperedRow_verifyNamesTheFirstBadRecord() throws Exception {
        Ledger l = local("gw-1");
        for (int i = 0; i < 6; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        ClusterLedger c = cluster("gw-1", l);
        awaitDelivered(c, l);
        assertThat(c.verify().badLine()).isZero();
        try (Connection su = pg.superuser(url); Statement s = su.createStatement()) {
            s.executeUpdate("UPDATE ledger_record SET line = replace(line, '/gw-1/3\"', '/gw-1/33\"') WHERE seq = 4");
        }
        LedgerVerification v = c.verify();
        assertThat(v.badLine()).isEqualTo(4);
        assertThat(v.reason()).contains("altered");
        assertThat(v.records()).hasSize(3);
        assertThat(c.records()).hasSize(3);

        // a forger who recomputes that record's hash breaks the next record's prev instead
        try (Connection su = pg.superuser(url); Statement s = su.createStatement()) {
            String line = lineOf(4);
            ObjectNode body = (ObjectNode) Chain.JSON.readTree(line);
            body.remove("hash");
            String resealed = Chain.seal(body);
            s.executeUpdate("UPDATE ledger_record SET line = '" + resealed.replace("'", "''") + "', hash = '"
                    + Chain.hashOf(resealed) + "' WHERE seq = 4");
        }
        v = c.verify();
        assertThat(v.badLine()).isEqualTo(5);
        assertThat(v.reason()).contains("prev");
    }

    @Test
    void recordsRemovedFromTheEnd_verifySaysSo_readOnlyToo() throws Exception {
        Ledger l = local("gw-1");
        for (int i = 0; i < 4; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        ClusterLedger c = cluster("gw-1", l);
        awaitDelivered(c, l);
        c.close();
        try (Connection su = pg.superuser(url); Statement s = su.createStatement()) {
            s.executeUpdate("DELETE FROM ledger_record WHERE seq = 4");
        }
        try (ClusterLedger ro = ClusterLedger.openReadOnly(settings)) {
            LedgerVerification v = ro.verify();
            assertThat(v.badLine()).isEqualTo(4);
            assertThat(v.reason()).contains("removed from its end");
            assertThat(v.records()).hasSize(3);
        }
    }

    @Test
    void sameEntitiesFlaggedByThreeGatewaysAtOnce_whileClaimsRun_oneIncidentEach_andNoDeadlock() throws Exception {
        List<String> nodes = List.of("gw-1", "gw-2", "gw-3");
        Map<String, Ledger> locals = new HashMap<>();
        Map<String, ClusterLedger> clusters = new HashMap<>();
        for (String n : nodes) {
            locals.put(n, local(n));
        }
        int old = 10;
        for (int i = 0; i < old; i++) {
            locals.get("gw-1").submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("old" + i, 1, T0, 101),
                    TestRecords.period("old" + i, 1, T0, 101, "provisional"))).join();
        }
        for (String n : nodes) {
            clusters.put(n, cluster(n, locals.get(n)));
        }
        awaitDelivered(clusters.get("gw-1"), locals.get("gw-1"));
        int fresh = 25;
        Instant flagged = T0.plusMillis(TestRecords.WINDOW);
        long now = flagged.toEpochMilli();
        ExecutorService threads = Executors.newFixedThreadPool(5);
        CountDownLatch go = new CountDownLatch(1);
        List<LedgerRecord> claimed = java.util.Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (String n : nodes) {
                done.add(threads.submit(() -> {
                    List<Integer> order = new ArrayList<>();
                    for (int i = 0; i < fresh; i++) {
                        order.add(i);
                    }
                    java.util.Collections.shuffle(order, new java.util.Random(n.hashCode()));
                    go.await();
                    for (int i : order) {
                        locals.get(n).submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("new" + i, 1, flagged, 101),
                                TestRecords.period("new" + i, 1, flagged, 101, "provisional"))).join();
                    }
                    return null;
                }));
            }
            for (String n : List.of("gw-2", "gw-3")) {
                done.add(threads.submit(() -> {
                    go.await();
                    for (int round = 0; round < 50 && claimed.size() < old; round++) {
                        claimed.addAll(clusters.get(n).claimDue(now, TestRecords.WINDOW,
                                i -> TestRecords.period(i.entity(), (int) i.sequence(), i.flaggedAt(), 150, "final")));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            threads.shutdownNow();
        }
        for (String n : nodes) {
            awaitDelivered(clusters.get(n), locals.get(n));
        }
        assertThat(claimed).hasSize(old);
        assertThat(clusters.get("gw-1").openIncidents()).hasSize(fresh)
                .allSatisfy(i -> assertThat(i.entity()).startsWith("new"));
        LedgerVerification v = clusters.get("gw-3").verify();
        assertThat(v.badLine()).isZero();
        assertThat(v.records()).filteredOn(r -> r.type().equals("flag")).hasSize(old + fresh);
        assertThat(v.records()).filteredOn(r -> r.type().equals("superseded")).hasSize(2 * 2 * fresh);
        assertThat(v.records()).filteredOn(r -> r.type().equals("final")).hasSize(old);
        DamageReport report = DamageReport.fromLedger(v.records(), DamageReport.BEGINNING, DamageReport.END, null, flagged);
        assertThat(report.periods()).hasSize(old + fresh);
        // every gateway's records are in the chain, once, in its order (claimed finals aside: they are the cluster's)
        assertThat(count("SELECT count(*) FROM ledger_record WHERE local_seq IS NULL")).isZero();
    }

    @Test
    void records_readOnceThenExtended_equalTheVerifiedChain_andStopAtARecordThatDoesNotFollow() throws Exception {
        Ledger l = local("gw-1");
        ClusterLedger c = cluster("gw-1", l);
        for (int i = 0; i < 4; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        awaitDelivered(c, l);
        List<LedgerRecord> first = c.records();
        assertThat(first).hasSize(4);
        for (int i = 4; i < 9; i++) {
            l.append("start", TestRecords.other("gw-1", i));
        }
        awaitDelivered(c, l);
        List<LedgerRecord> second = c.records();
        assertThat(second.subList(0, 4)).isEqualTo(first);
        assertThat(second).extracting(LedgerRecord::hash).containsExactlyElementsOf(c.verify().records().stream().map(LedgerRecord::hash).toList());
        l.append("start", TestRecords.other("gw-1", 9));
        awaitDelivered(c, l);
        try (Connection su = pg.superuser(url); Statement s = su.createStatement()) {
            s.executeUpdate("UPDATE ledger_record SET line = replace(line, '/gw-1/9\"', '/gw-1/99\"') WHERE seq = 10");
        }
        assertThat(c.records()).hasSize(9);
        assertThat(c.verify().badLine()).isEqualTo(10);
    }

    @Test
    void wrongPassword_statusSaysSoInOneLine_andRecordsWait() throws Exception {
        Ledger l = local("gw-1");
        l.append("start", TestRecords.other("gw-1", 0));
        ClusterLedger c = ClusterLedger.start(new ClusterLedger.Settings(url, PostgresFixture.USER, "not-the-password"), "gw-1", l, clock);
        open.add(c);
        Await.until(() -> !c.status().up() && c.status().lastError() != null, "the failure reported");
        assertThat(c.status().lastError()).contains("password authentication failed").doesNotContain("\n");
        assertThat(c.status().pending()).isEqualTo(1);
    }

    @Test
    void openReadOnly_whenPostgresIsNotThere_namesTheUrlAndTheCause() {
        var nowhere = new ClusterLedger.Settings("jdbc:postgresql://127.0.0.1:1/tollgate", PostgresFixture.USER, "x");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ClusterLedger.openReadOnly(nowhere))
                .hasMessageStartingWith("cluster.postgres.url: cannot reach jdbc:postgresql://127.0.0.1:1/tollgate as tollgate: ")
                .hasMessageContaining("refused");
    }

    @Test
    void settings_rejectAUrlThatIsNotPostgres_namingTheKey() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ClusterLedger.Settings("postgres://127.0.0.1/x", "u", "p"))
                .hasMessage("cluster.postgres.url: 'postgres://127.0.0.1/x' (expected: jdbc:postgresql://HOST:PORT/DATABASE)");
        assertThat(new ClusterLedger.Settings(url, "u", "secret").toString()).doesNotContain("secret");
    }

    @Test
    void claimDue_whenTheFinalizerCannotYet_leavesTheIncidentOpen() throws Exception {
        Ledger l = local("gw-1");
        l.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 1, T0, 101),
                TestRecords.period("acme", 1, T0, 101, "provisional"))).join();
        ClusterLedger c = cluster("gw-1", l);
        awaitDelivered(c, l);
        long due = T0.plusMillis(TestRecords.WINDOW).toEpochMilli();
        assertThat(c.claimDue(due - 1, TestRecords.WINDOW, i -> {
            throw new AssertionError("not due yet: " + i);
        })).isEmpty();
        assertThat(c.claimDue(due, TestRecords.WINDOW, i -> null)).isEmpty();
        assertThat(c.openIncidents()).hasSize(1);
        assertThat(c.claimDue(due, TestRecords.WINDOW, i -> TestRecords.period("acme", 1, T0, 130, "final")))
                .singleElement().satisfies(r -> {
                    assertThat(r.type()).isEqualTo("final");
                    assertThat(r.fields().path("node").asText()).isEqualTo("gw-1");
                });
        assertThat(c.openIncidents()).isEmpty();
        assertThat(count("SELECT posts FROM incidents WHERE entity = 'acme'")).isEqualTo(130);
    }

    @Test
    void nextFlag_arrivingWhileTheOpenIncidentIsBeingFinalized_waitsForTheClaim_andOpensTheNextIncident() throws Exception {
        Ledger a = local("gw-a");
        Ledger b = local("gw-b");
        a.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 1, T0, 101),
                TestRecords.period("acme", 1, T0, 101, "provisional"))).join();
        ClusterLedger ca = cluster("gw-a", a);
        ClusterLedger cb = cluster("gw-b", b);
        awaitDelivered(ca, a);
        long now = T0.plusMillis(TestRecords.WINDOW).toEpochMilli();
        CountDownLatch claiming = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        try {
            Future<List<LedgerRecord>> claim = claimer.submit(() -> ca.claimDue(now, TestRecords.WINDOW, i -> {
                claiming.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return TestRecords.period("acme", 1, T0, 101, "final");
            }));
            claiming.await();
            // gw-b raises the next flag (Redis closed #1 in its view) while gw-a holds #1 to finalize it
            Instant next = Instant.ofEpochMilli(now);
            b.submitAll(List.of("flag", "provisional"), List.of(TestRecords.flag("acme", 2, next, 102),
                    TestRecords.period("acme", 2, next, 102, "provisional"))).join();
            Await.until(() -> count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    + "AND datname = current_database()") >= 1, "gw-b's delivery waits for the claim's row lock");
            assertThat(cb.status().pending()).isEqualTo(2);
            release.countDown();
            assertThat(claim.get()).hasSize(1);
        } finally {
            release.countDown();
            claimer.shutdownNow();
        }
        awaitDelivered(cb, b);
        assertThat(cb.records()).extracting(LedgerRecord::type).containsExactly("flag", "provisional", "final", "flag", "provisional");
        assertThat(cb.openIncidents()).singleElement().satisfies(i -> assertThat(i.incidentId()).isEqualTo("acme#2"));
    }
}
