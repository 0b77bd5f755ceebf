package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.ledger.Ledger;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 2: one owner per data directory, tried with real processes. A second
 * {@code serve} on the same data directory exits with one line naming the directory and the
 * owner's pid and touches nothing; the owner goes on; after the owner is killed with
 * {@code kill -9} the OS has released the lock and a new gateway takes over. Everything in the
 * data directory is private to its owner. A gateway that cannot listen writes nothing.
 */
class DataDirLockTest {
    static final String TOKEN = "lock-test-token";

    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    int adminPort;

    @Test
    void secondServe_onTheSameDataDir_exitsWithOneLine_naming_theDirAndPid_theFirstGoesOn_andKill9ReleasesTheLock() throws Exception {
        EventLoopGroup group = Transport.nio().group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), Transport.nio());
        InetSocketAddress up = upstream.start(new InetSocketAddress("127.0.0.1", 0), group, group);
        int proxyPort = freePort();
        adminPort = freePort();
        Files.writeString(dir.resolve("tollgate.yaml"), "listen: 127.0.0.1:" + proxyPort + "\nupstream:\n  url: http://127.0.0.1:" + up.getPort()
                + "\nadmin:\n  listen: 127.0.0.1:" + adminPort + "\ndataDir: data\n");
        Path data = dir.resolve("data");
        Process first = start("first.log");
        Process third = null;
        try {
            waitReady(first, "first.log");
            assertThat(proxy(proxyPort)).isEqualTo(200);
            TreeMap<String, Long> filesBefore = files(data);
            byte[] ledgerBefore = Files.readAllBytes(Ledger.fileIn(data));

            Process second = start("second.log", "--listen", "127.0.0.1:" + freePort(), "--admin-listen", "127.0.0.1:" + freePort());
            assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("the second gateway gives up at once").isTrue();
            String err = Files.readString(dir.resolve("second.log.err"));
            System.out.print("second gateway: exit " + second.exitValue() + ", stderr: " + err);
            assertThat(second.exitValue()).isNotZero();
            assertThat(err.lines().toList()).as("one line").hasSize(1);
            assertThat(err).startsWith("tollgate: dataDir: ").contains(data.toString()).contains("pid " + first.pid() + ")")
                    .doesNotContain("\tat ", "Exception");

            assertThat(first.isAlive()).isTrue();
            assertThat(proxy(proxyPort)).as("the first goes on").isEqualTo(200);
            assertThat(admin("/readyz")).isEqualTo(200);
            assertThat(Files.readAllBytes(Ledger.fileIn(data))).as("the first's ledger untouched").isEqualTo(ledgerBefore);
            assertThat(files(data).keySet()).as("the first's files all there").isEqualTo(filesBefore.keySet());

            first.destroyForcibly(); // kill -9: the OS releases the lock with the process
            assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();
            third = start("third.log");
            waitReady(third, "third.log");
            assertThat(proxy(proxyPort)).isEqualTo(200);

            Assumptions.assumeTrue(java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
            try (Stream<Path> all = Files.walk(data)) {
                for (Path p : all.toList()) {
                    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                    assertThat(mode).as("%s is private to its owner", data.relativize(p)).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
                }
            }
        } finally {
            first.destroyForcibly();
            if (third != null) {
                third.destroy();
                third.waitFor(20, TimeUnit.SECONDS);
            }
            upstream.stop();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void aGatewayThatCannotListen_writesNothingInItsDataDirectory() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Path file = dir.resolve("tollgate.yaml");
            Files.writeString(file, "listen: 127.0.0.1:" + taken.getLocalPort() + "\nupstream:\n  url: http://127.0.0.1:9\n"
                    + "admin:\n  listen: 127.0.0.1:0\ndataDir: data\n");
            var config = dev.tollgate.gateway.config.ConfigLoader.load(file);
            assertThatThrownBy(() -> Gateway.start(config, Gateway.Options.defaults().withClock(new ManualClock(GatewayFixture.T0))
                    .withListener(MeterListener.none()).manualTicks())).isInstanceOf(IOException.class).hasMessageContaining("listen: ");
            try (Stream<Path> all = Files.list(dir.resolve("data"))) {
                assertThat(all.map(p -> p.getFileName().toString()).toList()).as("only the lock").containsExactly(DataDir.LOCK_FILE);
            }
        }
        // and the lock was released: a gateway in this same process takes the directory
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            assertThat(f.gateway.ledger().file()).isEqualTo(Ledger.fileIn(dir.resolve("data")));
            assertThat(Files.exists(Ledger.fileIn(dir.resolve("data")))).isTrue();
            // a second gateway in this process on the same directory is refused like a second process
            assertThatThrownBy(() -> GatewayFixture.startGateway(dir, "http://127.0.0.1:9", "", new ManualClock(GatewayFixture.T0),
                    MeterListener.none())).isInstanceOf(IOException.class).hasMessageContaining("is in use by another Tollgate gateway (pid "
                            + ProcessHandle.current().pid() + ")");
        }
    }

    private Process start(String log, String... extra) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), "dev.tollgate.gateway.cli.TollgateCommand", "serve",
                "--config", dir.resolve("tollgate.yaml").toString()));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("TOLLGATE_ADMIN_TOKEN", TOKEN);
        pb.redirectOutput(dir.resolve(log).toFile()).redirectError(dir.resolve(log + ".err").toFile());
        return pb.start();
    }

    private void waitReady(Process p, String log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try {
                if (admin("/readyz") == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!p.isAlive()) {
                throw new AssertionError("the gateway exited: " + Files.readString(dir.resolve(log)) + Files.readString(dir.resolve(log + ".err")));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the gateway did not become ready: " + Files.readString(dir.resolve(log)));
    }

    private int proxy(int port) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/2/tweets/search/recent?max_results=10"))
                .header("X-Api-Key", "k-1").build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private int admin(String path) throws Exception {
        return new AdminClient(adminPort, TOKEN).status(path);
    }

    private static TreeMap<String, Long> files(Path data) throws IOException {
        TreeMap<String, Long> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(data)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                m.put(data.relativize(p).toString(), Files.size(p));
            }
        }
        return m;
    }

    private static int freePort() throws IOException {
        return GatewayProcess.freePort();
    }
}
