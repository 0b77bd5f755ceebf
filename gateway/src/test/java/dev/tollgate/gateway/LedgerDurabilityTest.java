package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.ledger.ControlledDisk;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, items 3, 7 (ledger) and 8: a flag shows nowhere — admin API, meter, block mode —
 * until its ledger record is durable, and that fsync never runs on an event loop; ledger records
 * that fail on a full disk wait in order and are written when space returns, with readyz and the
 * metrics true to the state within a second; a restart flags nobody twice; a ledger with an
 * altered record refuses to start and stays as it was.
 */
@ExtendWith(LeakCheck.class)
class LedgerDurabilityTest {
    static final String ME = "net:127.0.0.0/24";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static String page(int n) {
        return RawHttp.get("/2/tweets/search/recent?max_results=" + n);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(2);
        }
    }

    @Test
    void flag_isInvisibleEverywhere_untilItsRecordIsDurable_andNoEventLoopEverFsyncs() throws Exception {
        ControlledDisk[] disk = new ControlledDisk[1];
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 100\n  mode: block\n",
                MeterListener.none(), real -> disk[0] = new ControlledDisk(real));
             RawHttp c = f.raw()) {
            CountDownLatch hold = new CountDownLatch(1);
            disk[0].reached = new CountDownLatch(1);
            disk[0].hold = hold;
            try {
            assertThat(c.exchange(page(100)).status()).isEqualTo(200);
            assertThat(c.exchange(page(60)).status()).as("the crossing request is served, its event loop never waits for the disk")
                    .isEqualTo(200);
            Await.value(() -> f.posts(ME), 160, "charged");
            assertThat(disk[0].reached.await(5, TimeUnit.SECONDS)).as("the flag's records reached the disk").isTrue();

            // held at its fsync: not durable, so not visible anywhere
            assertThat(f.gateway.meter().flagPending(ME)).isTrue();
            assertThat(f.gateway.meter().flagged(ME)).isFalse();
            assertThat(f.gateway.meter().incidents()).isEmpty();
            assertThat(JSON.readTree(f.admin("/api/v1/incidents").body())).isEmpty();
            assertThat(JSON.readTree(f.admin("/api/v1/entities/" + java.net.URLEncoder.encode(ME, "UTF-8")).body()).get("flagged").asBoolean())
                    .isFalse();
            assertThat(f.admin("/metrics").body()).contains("tollgate_flags_total 0.0").contains("tollgate_open_incidents 0.0")
                    .contains("tollgate_ledger_pending_records 2.0");
            assertThat(c.exchange(page(10)).status()).as("block mode shows no flag that is not durable").isEqualTo(200);
            } finally {
                disk[0].hold = null;
                hold.countDown(); // also when an assertion above failed: else closing the gateway would wait for ever
            }
            await(() -> f.gateway.meter().flagged(ME), "the flag shows once durable");
            assertThat(JSON.readTree(f.admin("/api/v1/incidents").body())).hasSize(1);
            assertThat(c.exchange(page(10)).status()).isEqualTo(429);
            assertThat(f.admin("/metrics").body()).contains("tollgate_flags_total 1.0").contains("tollgate_ledger_pending_records 0.0");
            assertThat(disk[0].forcingThreads).as("every fsync on the ledger's own thread").containsExactly("tollgate-ledger");
            HttpResponse<String> csv = f.admin("/api/v1/reports/damages?format=csv");
            assertThat(csv.headers().firstValue("Tollgate-Ledger-Head").orElseThrow())
                    .isEqualTo(f.gateway.ledger().head().records() + " " + f.gateway.ledger().head().hash());
        }
        LedgerVerification v = LedgerVerification.of(Ledger.fileIn(dir.resolve("data")));
        assertThat(v.ok()).isTrue();
        List<String> types = v.records().stream().map(LedgerRecord::type).toList();
        assertThat(types.subList(types.indexOf("flag"), types.indexOf("flag") + 2)).containsExactly("flag", "provisional");
    }

    @Test
    void fullDisk_recordsWaitInOrder_readyzAndMetricsSayIt_andRecoverWithinASecondOfFreedSpace_noSecondFlagAfterRestart()
            throws Exception {
        ControlledDisk[] disk = new ControlledDisk[1];
        Path ledgerFile = Ledger.fileIn(dir.resolve("data"));
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 50\n",
                MeterListener.none(), real -> disk[0] = new ControlledDisk(real))) {
            long sizeBefore = Files.size(ledgerFile);
            disk[0].full = true;
            assertThat(f.get("/2/tweets/search/recent?max_results=100").statusCode()).as("the proxy goes on").isEqualTo(200);
            Await.value(() -> f.posts(ME), 100, "still metered");
            await(() -> f.gateway.ledger().failing(), "the failed write is seen");
            HttpResponse<String> ready = f.admin("/readyz");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(ready.body()).get("failing").toString()).isEqualTo("[\"ledger\"]");
            JsonNode status = JSON.readTree(f.admin("/api/v1/status").body());
            assertThat(status.at("/parts/ledger").asText()).contains("cannot be written");
            assertThat(status.get("ledgerPendingRecords").asInt()).isEqualTo(2);
            assertThat(f.admin("/metrics").body()).contains("tollgate_ledger_failing 1.0").contains("tollgate_ledger_pending_records 2.0");
            assertThat(f.gateway.meter().flagged(ME)).as("not durable, not shown").isFalse();
            assertThat(Files.size(ledgerFile)).as("no partial record left in the file").isEqualTo(sizeBefore);
            assertThat(f.get("/2/tweets/search/recent?max_results=1").statusCode()).isEqualTo(200);

            long freed = System.nanoTime();
            disk[0].full = false; // space returns; nothing else is written meanwhile
            await(() -> {
                try {
                    return f.admin("/readyz").statusCode() == 200;
                } catch (Exception e) {
                    return false;
                }
            }, "readyz recovers once the backlog is written");
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
            System.out.printf("ledger full-disk test: readyz back %d ms after space returned%n", tookMillis);
            assertThat(tookMillis).as("within about a second (the retry period)").isLessThan(2_000);
            assertThat(f.admin("/metrics").body()).contains("tollgate_ledger_failing 0.0").contains("tollgate_ledger_pending_records 0.0");
            await(() -> f.gateway.meter().flagged(ME), "the flag shows once durable");
        }
        LedgerVerification v = LedgerVerification.of(ledgerFile);
        assertThat(v.ok()).isTrue();
        assertThat(v.records().stream().filter(r -> r.type().equals("flag")).count()).isEqualTo(1);
        assertThat(v.records().stream().filter(r -> r.type().equals("provisional")).count()).as("the one written with the flag and the update at shutdown").isEqualTo(2);

        // a restart on the same data directory: the incident comes back, nobody is flagged again
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 50\n")) {
            assertThat(f.gateway.meter().flagged(ME)).isTrue();
            f.get("/2/tweets/search/recent?max_results=100");
            Await.value(() -> f.posts(ME), 201, "101 restored, 100 more counted");
            assertThat(f.gateway.ledger().awaitWritten(5000)).isTrue();
            assertThat(f.gateway.meter().incidents()).hasSize(1);
        }
        assertThat(LedgerVerification.of(ledgerFile).records().stream().filter(r -> r.type().equals("flag")).count()).isEqualTo(1);
    }

    @Test
    void alteredLastRecord_gatewayRefusesToStart_withOneLine_andTheLedgerStaysAsItWas() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 50\n")) {
            f.get("/2/tweets/search/recent?max_results=100");
            Await.value(() -> f.posts(ME), 100, "charged");
            Await.isTrue(() -> f.gateway.meter().flagged(ME), "the flag shown once durable");
        }
        Path file = Ledger.fileIn(dir.resolve("data"));
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        int last = lines.size() - 1;
        lines.set(last, lines.get(last).replace("\"type\":\"stop\"", "\"type\":\"stoP\""));
        Files.write(file, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
        byte[] before = Files.readAllBytes(file);

        assertThatThrownBy(() -> new GatewayFixture(dir, PostApiServer.Options.defaults(), "meter:\n  threshold: 50\n"))
                .isInstanceOf(Ledger.BrokenLedgerException.class)
                .hasMessageContaining("line " + lines.size())
                .hasMessageContaining("tollgate verify-ledger")
                .hasMessageNotContaining("\n");
        assertThat(Files.readAllBytes(file)).as("nothing truncated, nothing appended").isEqualTo(before);
        CommandLineTest.Run verify = CommandLineTest.run("verify-ledger", "--data-dir", dir.resolve("data").toString());
        assertThat(verify.exit()).isEqualTo(1);
        assertThat(verify.out()).contains("BROKEN at line " + lines.size());
    }
}
