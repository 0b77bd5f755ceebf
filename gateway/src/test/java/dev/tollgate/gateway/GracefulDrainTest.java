package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM on a real gateway process in front of a slow upstream: in-flight requests are finished,
 * new connections are refused, the stop is logged with its counts; a second SIGTERM or the grace
 * period's end forces the exit, and the ledger still ends with its stop record.
 */
class GracefulDrainTest {
    static final String PAGE = "{\"data\":[{\"id\":\"1\"},{\"id\":\"2\"}],\"meta\":{\"result_count\":2}}";

    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    int proxyPort;
    int adminPort;

    private Path config(ScriptedUpstream up, String grace) throws Exception {
        proxyPort = GatewayProcess.freePort();
        adminPort = GatewayProcess.freePort();
        Path config = dir.resolve("tollgate.yaml");
        Files.writeString(config, "listen: 127.0.0.1:" + proxyPort + "\nupstream:\n  url: " + up.url() + "\nadmin:\n  listen: 127.0.0.1:"
                + adminPort + "\ndataDir: data\nshutdown:\n  gracePeriod: " + grace + "\n");
        return config;
    }

    private List<CompletableFuture<HttpResponse<String>>> send(int n) {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/2/tweets?i=" + i))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        return all;
    }

    @Test
    void sigterm_finishesInFlightRequests_refusesNewOnes_logsTheStop() throws Exception {
        CountDownLatch slow = new CountDownLatch(1);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            for (int i = 0; i < 5; i++) {
                up.then(ScriptedUpstream.all(ScriptedUpstream.waitFor(slow), ScriptedUpstream.json(PAGE)));
            }
            try (GatewayProcess g = GatewayProcess.start(config(up, "30s"), dir.resolve("gateway.log"), adminPort)) {
                var inFlight = send(5);
                g.awaitTrue(10, "5 requests at the upstream", () -> up.received.size() == 5);
                g.process.destroy(); // SIGTERM
                g.awaitTrue(10, "the drain started", () -> g.logText().contains("stopping: draining 5 open connections"));
                g.awaitTrue(10, "not ready while draining", () -> !g.ready());
                try {
                    http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/2/tweets")).build(),
                            HttpResponse.BodyHandlers.discarding());
                    throw new AssertionError("a new connection was accepted while draining");
                } catch (ConnectException expected) {
                    // the listening socket is closed
                }
                slow.countDown();
                for (var f : inFlight) {
                    HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo(PAGE);
                    assertThat(r.headers().firstValue("Connection")).as("told the connection ends").hasValue("close");
                }
                assertThat(g.awaitExit(20)).isZero();
                assertThat(g.logText()).contains("5 requests finished while draining, 0 connections cut");
            }
        }
        assertThat(lastLedgerRecord()).isEqualTo("stop");
    }

    @Test
    void secondSigterm_stopsAtOnce() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.then(ScriptedUpstream.waitFor(never));
            try (GatewayProcess g = GatewayProcess.start(config(up, "60s"), dir.resolve("gateway.log"), adminPort)) {
                var inFlight = send(1);
                g.awaitTrue(10, "the request at the upstream", () -> up.received.size() == 1);
                g.process.destroy();
                g.awaitTrue(10, "the drain started", () -> g.logText().contains("stopping: draining"));
                g.process.destroy(); // the second SIGTERM
                assertThat(g.awaitExit(15)).as("well before the 60 s grace period").isZero();
                assertThat(g.logText()).contains("received again: stopping now").contains("1 connections cut");
                assertFailed(inFlight.get(0));
            } finally {
                never.countDown();
            }
        }
        assertThat(lastLedgerRecord()).isEqualTo("stop");
    }

    @Test
    void gracePeriodEnd_cutsWhatIsLeft() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.then(ScriptedUpstream.waitFor(never));
            try (GatewayProcess g = GatewayProcess.start(config(up, "500ms"), dir.resolve("gateway.log"), adminPort)) {
                var inFlight = send(1);
                g.awaitTrue(10, "the request at the upstream", () -> up.received.size() == 1);
                g.process.destroy();
                assertThat(g.awaitExit(15)).isZero();
                assertThat(g.logText()).contains("for up to 500ms").contains("1 connections cut");
                assertFailed(inFlight.get(0));
            } finally {
                never.countDown();
            }
        }
        assertThat(lastLedgerRecord()).isEqualTo("stop");
    }

    private static void assertFailed(CompletableFuture<HttpResponse<String>> f) throws Exception {
        try {
            HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
            throw new AssertionError("the cut request was answered: " + r.statusCode());
        } catch (ExecutionException expected) {
            // the connection was closed under it
        }
    }

    private String lastLedgerRecord() throws Exception {
        LedgerVerification v = LedgerVerification.of(Ledger.fileIn(dir.resolve("data")));
        assertThat(v.ok()).as(v.reason()).isTrue();
        return v.records().get(v.records().size() - 1).type();
    }
}
