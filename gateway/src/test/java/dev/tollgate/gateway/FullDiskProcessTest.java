package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 7 (the ledger's half), on a real full disk: the data directory is a small tmpfs
 * made for the test (skipped where the test may not mount one), a real gateway process flags an
 * entity while the disk is full, the flag waits in memory (invisible, readyz failing, metric
 * showing the backlog), is written within about a second of the space returning, and after a
 * {@code kill -9} and a restart the entity is not flagged a second time.
 */
class FullDiskProcessTest {
    static final String TOKEN = "full-disk-token";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    int proxyPort;
    int adminPort;

    @Test
    void flagOnAFullTmpfs_waitsInvisible_isWrittenWhenSpaceReturns_andIsNotRaisedAgainAfterKill9() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        boolean mounted = exec("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", data.toString()) == 0;
        Assumptions.assumeTrue(mounted, "SKIPPED: this environment does not let the test mount a tmpfs; LedgerDurabilityTest covers it with an injected failure");
        EventLoopGroup group = Transport.nio().group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        Process gw = null;
        try {
            InetSocketAddress up = upstream.start(new InetSocketAddress("127.0.0.1", 0), group, group);
            proxyPort = freePort();
            adminPort = freePort();
            Files.writeString(dir.resolve("tollgate.yaml"), "listen: 127.0.0.1:" + proxyPort + "\nupstream:\n  url: http://127.0.0.1:" + up.getPort()
                    + "\nadmin:\n  listen: 127.0.0.1:" + adminPort + "\ndataDir: data\nmeter:\n  threshold: 50\n");
            gw = start("first.log");
            Path ledger = Ledger.fileIn(data);
            long sizeBefore = Files.size(ledger);

            Path filler = data.resolve("filler");
            try (OutputStream out = Files.newOutputStream(filler)) {
                byte[] chunk = new byte[4096];
                for (;;) {
                    out.write(chunk);
                }
            } catch (IOException full) {
                // the disk is full
            }
            assertThat(proxy()).as("the proxy goes on").isEqualTo(200); // 100 posts: over the threshold
            await(() -> metric("tollgate_ledger_pending_records") >= 2 && metric("tollgate_ledger_failing") == 1, "the backlog is reported");
            assertThat(status("/readyz")).isEqualTo(503);
            assertThat(JSON.readTree(admin("/api/v1/incidents"))).as("not durable, not shown").isEmpty();
            assertThat(Files.size(ledger)).as("no partial record in the ledger").isEqualTo(sizeBefore);

            Files.delete(filler);
            long freed = System.nanoTime();
            await(() -> status("/readyz") == 200, "readyz recovers once the backlog is written");
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
            System.out.printf("full tmpfs: readyz back %d ms after space returned%n", took);
            assertThat(took).isLessThan(2_000);
            assertThat(metric("tollgate_ledger_pending_records")).isZero();
            assertThat(JSON.readTree(admin("/api/v1/incidents"))).hasSize(1);

            gw.destroyForcibly(); // kill -9
            assertThat(gw.waitFor(10, TimeUnit.SECONDS)).isTrue();
            gw = start("second.log");
            assertThat(JSON.readTree(admin("/api/v1/incidents"))).as("the incident came back").hasSize(1);
            for (int i = 0; i < 5; i++) {
                proxy();
            }
            assertThat(JSON.readTree(admin("/api/v1/incidents"))).as("not flagged twice").hasSize(1);
            gw.destroy();
            assertThat(gw.waitFor(20, TimeUnit.SECONDS)).isTrue();
            LedgerVerification v = LedgerVerification.of(ledger);
            assertThat(v.ok()).as("chain: %s", v.reason()).isTrue();
            assertThat(v.records().stream().filter(r -> r.type().equals("flag")).count()).isEqualTo(1);
        } finally {
            if (gw != null) {
                gw.destroyForcibly();
                gw.waitFor(10, TimeUnit.SECONDS);
            }
            upstream.stop();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            exec("umount", data.toString());
        }
    }

    /**
     * {@code kill -9} while the flag still waits for space: it was never durable, so it was never
     * shown and is lost with the process; after the restart the ledger holds the entity's flag once.
     */
    @Test
    void kill9_whileTheFlagWaitsForSpace_theLedgerStillEndsWithOneFlag() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        boolean mounted = exec("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", data.toString()) == 0;
        Assumptions.assumeTrue(mounted, "SKIPPED: this environment does not let the test mount a tmpfs");
        EventLoopGroup group = Transport.nio().group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        Process gw = null;
        try {
            InetSocketAddress up = upstream.start(new InetSocketAddress("127.0.0.1", 0), group, group);
            proxyPort = freePort();
            adminPort = freePort();
            Files.writeString(dir.resolve("tollgate.yaml"), "listen: 127.0.0.1:" + proxyPort + "\nupstream:\n  url: http://127.0.0.1:" + up.getPort()
                    + "\nadmin:\n  listen: 127.0.0.1:" + adminPort + "\ndataDir: data\nmeter:\n  threshold: 50\n");
            gw = start("first.log");
            Path filler = data.resolve("filler");
            try (OutputStream out = Files.newOutputStream(filler)) {
                byte[] chunk = new byte[4096];
                for (;;) {
                    out.write(chunk);
                }
            } catch (IOException full) {
                // the disk is full
            }
            assertThat(proxy()).isEqualTo(200);
            await(() -> metric("tollgate_ledger_pending_records") >= 2, "the flag waits for space");
            assertThat(JSON.readTree(admin("/api/v1/incidents"))).isEmpty();
            gw.destroyForcibly(); // kill -9 with the flag pending
            assertThat(gw.waitFor(10, TimeUnit.SECONDS)).isTrue();
            Files.delete(filler);
            gw = start("second.log");
            for (int i = 0; i < 3; i++) {
                proxy();
            }
            await(() -> {
                try {
                    return JSON.readTree(admin("/api/v1/incidents")).size() == 1;
                } catch (Exception e) {
                    return false;
                }
            }, "flagged (once) after the restart");
            gw.destroy();
            assertThat(gw.waitFor(20, TimeUnit.SECONDS)).isTrue();
            LedgerVerification v = LedgerVerification.of(Ledger.fileIn(data));
            assertThat(v.ok()).as("chain: %s", v.reason()).isTrue();
            assertThat(v.records().stream().filter(r -> r.type().equals("flag")).count()).isEqualTo(1);
            assertThat(v.records().stream().filter(r -> r.type().equals("provisional")).count()).as("the one written with the flag and the update at the clean stop").isEqualTo(2);
        } finally {
            if (gw != null) {
                gw.destroyForcibly();
                gw.waitFor(10, TimeUnit.SECONDS);
            }
            upstream.stop();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            exec("umount", data.toString());
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(5);
        }
    }

    private static int exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private Process start(String log) throws Exception {
        return GatewayProcess.awaitReady(GatewayProcess.serve(dir.resolve("tollgate.yaml"), dir.resolve(log), TOKEN), adminApi(), dir.resolve(log));
    }

    private AdminClient adminApi() {
        return new AdminClient(adminPort, TOKEN);
    }


    private int proxy() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/2/tweets/search/recent?max_results=100"))
                .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private int status(String path) {
        return adminApi().status(path);
    }

    private String admin(String path) throws Exception {
        return adminApi().get(path);
    }

    private long metric(String name) {
        return adminApi().metric(name);
    }

    private static int freePort() throws IOException {
        return GatewayProcess.freePort();
    }
}
