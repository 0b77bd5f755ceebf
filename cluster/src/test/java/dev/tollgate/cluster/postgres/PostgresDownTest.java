package dev.tollgate.cluster.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL going away under running gateways (a clean stop and a crash), and a gateway starting
 * while it is away: records wait in the local ledgers and arrive in order, once, when it is back.
 * Its own server, since these tests stop it.
 */
class PostgresDownTest extends OnPostgres {

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(Instant.parse("2026-11-24T00:00:00Z").toEpochMilli());
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Appends records to each local ledger from its own thread until told to stop; the records' count per node. */
    final class Writers implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final ExecutorService threads;
        final List<Future<Integer>> done = new ArrayList<>();

        Writers(Map<String, Ledger> locals) {
            threads = Executors.newFixedThreadPool(locals.size());
            for (var e : locals.entrySet()) {
                done.add(threads.submit(() -> {
                    int i = 0;
                    while (!stop.get() && i < 20_000) {
                        e.getValue().append("start", TestRecords.other(e.getKey(), i++));
                        Thread.yield();
                    }
                    return i;
                }));
            }
        }

        @Override
        public void close() throws Exception {
            stop.set(true);
            for (Future<Integer> f : done) {
                f.get();
            }
            threads.shutdown();
        }
    }

    private static void awaitAllDelivered(Map<String, ClusterLedger> clusters, Map<String, Ledger> locals) throws Exception {
        for (var e : clusters.entrySet()) {
            Ledger l = locals.get(e.getKey());
            Await.until(() -> e.getValue().status().up() && e.getValue().status().lastDelivered() == l.head().records(),
                    e.getKey() + " delivered everything");
        }
    }

    @Test
    void postgresStoppedAndCrashed_midRun_recordsWaitLocally_andArriveInOrderOnce() throws Exception {
        String url = pg.newDatabase();
        var settings = new ClusterLedger.Settings(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
        Map<String, Ledger> locals = new HashMap<>();
        Map<String, ClusterLedger> clusters = new HashMap<>();
        for (String n : List.of("gw-1", "gw-2")) {
            Ledger l = Ledger.open(dir.resolve(n), clock);
            open.add(l);
            locals.put(n, l);
            ClusterLedger c = ClusterLedger.start(settings, n, l, clock);
            open.add(c);
            clusters.put(n, c);
        }
        try (Writers w = new Writers(locals)) {
            Await.until(() -> clusters.get("gw-1").status().lastDelivered() > 20, "some records delivered");
            pg.stop();
            long atStop = locals.get("gw-1").head().records();
            Await.until(() -> !clusters.get("gw-1").status().up() && !clusters.get("gw-2").status().up(), "both see PostgreSQL down");
            Await.until(() -> locals.get("gw-1").head().records() > atStop + 50, "records go on into the local ledger");
            ClusterLedger.Status down = clusters.get("gw-1").status();
            assertThat(down.pending()).isPositive();
            assertThat(down.lastError()).isNotBlank();
            pg.start();
            Await.until(() -> clusters.get("gw-1").status().up(), "gw-1 delivers again");
            long afterRestart = clusters.get("gw-2").status().lastDelivered();
            Await.until(() -> clusters.get("gw-2").status().up() && (clusters.get("gw-2").status().lastDelivered() > afterRestart + 20
                    || clusters.get("gw-2").status().pending() == 0), "gw-2 delivers again");
            pg.kill(); // a crash this time: transactions in flight are lost, the replicator must find out what committed
            pg.start();
        }
        awaitAllDelivered(clusters, locals);
        try (ClusterLedger reader = ClusterLedger.openReadOnly(settings)) {
            LedgerVerification v = reader.verify();
            assertThat(v.badLine()).as(v.reason() == null ? "sound" : v.reason()).isZero();
            assertThat(v.records()).hasSize((int) (locals.get("gw-1").head().records() + locals.get("gw-2").head().records()));
            ClusterLedgerTest.assertOneChainOf(v.records(), locals);
        }
    }

    @Test
    void gatewayStartingWhilePostgresIsDown_servesFromItsLocalLedger_andDeliversOnceItIsBack() throws Exception {
        String url = pg.newDatabase();
        var settings = new ClusterLedger.Settings(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
        pg.stop();
        try {
            Ledger l = Ledger.open(dir.resolve("gw-1"), clock);
            open.add(l);
            ClusterLedger c = ClusterLedger.start(settings, "gw-1", l, clock);
            open.add(c);
            for (int i = 0; i < 10; i++) {
                l.append("start", TestRecords.other("gw-1", i));
            }
            Await.until(() -> !c.status().up() && c.status().lastError() != null, "PostgreSQL reported down");
            assertThat(c.status().pending()).isEqualTo(10);
        } finally {
            pg.start();
        }
        ClusterLedger c = (ClusterLedger) open.get(1);
        Ledger l = (Ledger) open.get(0);
        Await.until(() -> c.status().up() && c.status().pending() == 0, "delivered after PostgreSQL came back");
        assertThat(c.records()).hasSize(10);
        ClusterLedgerTest.assertOneChainOf(c.records(), Map.of("gw-1", l));
    }

    @Test
    void idleGateway_seesPostgresGoAndComeBack_inItsStatus() throws Exception {
        String url = pg.newDatabase();
        var settings = new ClusterLedger.Settings(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
        Ledger l = Ledger.open(dir.resolve("gw-1"), clock);
        open.add(l);
        ClusterLedger c = ClusterLedger.start(settings, "gw-1", l, clock);
        open.add(c);
        Await.until(() -> c.status().up(), "up");
        Instant upSince = c.status().since();
        pg.stop();
        try {
            // up and lastError are set one after the other: wait for both rather than read them apart
            Await.until(() -> {
                ClusterLedger.Status s = c.status();
                return !s.up() && s.lastError() != null && !s.lastError().isBlank();
            }, "PostgreSQL down seen with nothing to deliver (the heartbeat), with its error");
        } finally {
            pg.start();
        }
        Await.until(() -> c.status().up() && c.status().lastError() == null, "up again, the error cleared");
        assertThat(c.status().since()).isAfterOrEqualTo(upSince);
    }
}
