package dev.tollgate.gateway;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real {@code tollgate serve} process on the test's class path, its output in a log file:
 * for the tests that need signals, {@code kill -9} or a second process on the same data.
 */
final class GatewayProcess implements AutoCloseable {
    static final String TOKEN = "process-test-token";

    final Process process;
    final Path log;
    final int adminPort;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private GatewayProcess(Process process, Path log, int adminPort) {
        this.process = process;
        this.log = log;
        this.adminPort = adminPort;
    }

    /** Starts {@code serve --config config} with the admin token set; does not wait for readiness. */
    static GatewayProcess launch(Path config, Path log, int adminPort) throws IOException {
        return new GatewayProcess(serve(config, log, TOKEN), log, adminPort);
    }

    /**
     * A {@code tollgate serve --config config [extra…]} process on the tests' class path, with the
     * production logging (to its standard error, here {@code log}) and {@code token} as the admin token.
     */
    static Process serve(Path config, Path log, String token, String... extra) throws IOException {
        Path logging = Path.of("target", "classes", "logback.xml").toAbsolutePath();
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dlogback.configurationFile=" + logging, "-cp", System.getProperty("java.class.path"),
                "dev.tollgate.gateway.cli.TollgateCommand", "serve", "--config", config.toString()));
        cmd.addAll(java.util.List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("TOLLGATE_ADMIN_TOKEN", token);
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }

    /** Waits (at most 60 s) until {@code admin}'s {@code /readyz} says ready; fails with the log if the process exits or never is. */
    static Process awaitReady(Process p, AdminClient admin, Path log) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (admin.status("/readyz") != 200) {
            if (!p.isAlive()) {
                throw new AssertionError("the gateway exited: " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the gateway did not become ready: " + Files.readString(log));
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return p;
    }

    /** Starts the gateway and waits (at most 30 s) until its {@code /readyz} says ready. */
    static GatewayProcess start(Path config, Path log, int adminPort) throws Exception {
        GatewayProcess g = launch(config, log, adminPort);
        g.awaitTrue(30, "the gateway became ready", g::ready);
        return g;
    }

    boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false; // not listening (yet, or any more)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A guarded admin resource, with the token. */
    String admin(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).header("Authorization", "Bearer " + TOKEN)
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Waits, at most {@code seconds}, for {@code condition}; fails with the process's log if it never holds. */
    void awaitTrue(int seconds, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not seen within " + seconds + " s: " + what + "\n--- gateway log ---\n" + logText());
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Waits for the process to exit (at most {@code seconds}); returns its exit code. */
    int awaitExit(int seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("the gateway did not exit within " + seconds + " s\n--- gateway log ---\n" + logText());
        }
        return process.exitValue();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** SIGKILL (kill -9: no shutdown hook, no last flush), and waits until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
