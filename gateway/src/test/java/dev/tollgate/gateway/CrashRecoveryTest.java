package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gateway process killed with {@code kill -9} under load, then started again on the same
 * data directory: its counts come back within the one-second bound, its incident is not
 * flagged twice, and its ledger chain is intact.
 */
class CrashRecoveryTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "crash-test-token";

    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    int proxyPort;
    int adminPort;

    @Test
    void killMinus9_underLoad_restartRestoresCountsWithinOneSecond_oneIncident_intactChain() throws Exception {
        EventLoopGroup group = Transport.nio().group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        InetSocketAddress up = upstream.start(new InetSocketAddress("127.0.0.1", 0), group, group);
        proxyPort = freePort();
        adminPort = freePort();
        Files.writeString(dir.resolve("entities.yaml"), "entities:\n  - id: crashco\n    name: Crash Co\n"
                + "    apiKeys: [k-c0, k-c1, k-c2, k-c3]\n");
        Files.writeString(dir.resolve("tollgate.yaml"), "listen: 127.0.0.1:" + proxyPort + "\nupstream:\n  url: http://127.0.0.1:" + up.getPort()
                + "\nadmin:\n  listen: 127.0.0.1:" + adminPort + "\ndataDir: data\nmeter:\n  threshold: 2000\n"
                + "entities:\n  directory: entities.yaml\n");
        Process first = startGateway("first.log");
        try {
            ConcurrentLinkedQueue<Long> done = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> load = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                String key = "k-c" + t;
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort
                                    + "/2/tweets/search/recent?max_results=10")).header("X-Api-Key", key).timeout(Duration.ofSeconds(5)).build(),
                                    HttpResponse.BodyHandlers.discarding());
                            if (r.statusCode() == 200) {
                                done.add(System.nanoTime());
                            }
                        } catch (IOException e) {
                            return; // the gateway is gone
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                }, "load-" + t);
                th.start();
                load.add(th);
            }
            // until the entity was flagged and well past it
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((done.size() < 600 || incidents().size() < 1 || journalBatches() < 4) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                Thread.yield();
            }
            assertThat(incidents()).as("flagged before the crash").hasSize(1);
            first.destroyForcibly(); // SIGKILL
            long killed = System.nanoTime();
            first.waitFor(10, TimeUnit.SECONDS);
            stop.set(true);
            for (Thread th : load) {
                th.join(10_000);
            }
            long served = done.size();
            long servedBeforeLastSecond = done.stream().filter(t -> t < killed - TimeUnit.MILLISECONDS.toNanos(1500)).count();

            Process second = startGateway("second.log");
            try {
                long posts = entity("crashco").get("posts24h").asLong();
                assertThat(posts).as("never more than was served (4 requests may have been in flight)").isLessThanOrEqualTo((served + 4) * 10);
                assertThat(posts).as("at most the last second lost: served %d, before the last 1.5 s %d", served, servedBeforeLastSecond)
                        .isGreaterThanOrEqualTo(servedBeforeLastSecond * 10);
                System.out.printf("crash test: served %d pages before kill -9, %d posts restored (%d lost)%n", served, posts,
                        served * 10 - posts);
                JsonNode inc = incidents();
                assertThat(inc).as("the open incident came back").hasSize(1);
                assertThat(inc.get(0).get("status").asText()).isEqualTo("provisional");
                for (int i = 0; i < 20; i++) {
                    http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/2/tweets/search/recent?max_results=10"))
                            .header("X-Api-Key", "k-c1").build(), HttpResponse.BodyHandlers.discarding());
                }
                assertThat(incidents()).as("not flagged twice").hasSize(1);
            } finally {
                second.destroy(); // SIGTERM: a clean stop
                assertThat(second.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }
            LedgerVerification v = LedgerVerification.of(Ledger.fileIn(dir.resolve("data")));
            assertThat(v.ok()).as("ledger chain: %s", v.reason()).isTrue();
            assertThat(v.records().stream().filter(r -> r.type().equals("flag")).count()).isEqualTo(1);
            assertThat(v.records().get(v.records().size() - 1).type()).isEqualTo("stop");
        } finally {
            first.destroyForcibly();
            upstream.stop();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private Process startGateway(String log) throws Exception {
        return GatewayProcess.awaitReady(GatewayProcess.serve(dir.resolve("tollgate.yaml"), dir.resolve(log), TOKEN), adminApi(), dir.resolve(log));
    }

    private AdminClient adminApi() {
        return new AdminClient(adminPort, TOKEN);
    }


    private long journalBatches() {
        return adminApi().metric("tollgate_journal_batches_total");
    }

    private JsonNode incidents() throws Exception {
        return JSON.readTree(admin("/api/v1/incidents"));
    }

    private JsonNode entity(String id) throws Exception {
        return JSON.readTree(admin("/api/v1/entities/" + id));
    }

    private String admin(String path) throws Exception {
        return adminApi().get(path);
    }

    private static int freePort() throws IOException {
        return GatewayProcess.freePort();
    }
}
