package dev.tollgate.cluster.postgres;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL 15 for the tests of one class: the image's binaries
 * ({@code /usr/lib/postgresql/15/bin}), {@code initdb} into a temporary directory, {@code pg_ctl start}
 * on a free loopback port of this helper's range (25000–25999) with its unix socket in that
 * directory and {@code fsync=off} (a test's data need not survive the machine; commits stay synchronous, so a
 * {@link #kill()} loses no committed transaction, as with a real server). PostgreSQL refuses
 * to run as root, so as root every binary runs through {@code runuser -u postgres --} and the
 * directory belongs to postgres. A role {@code tollgate} (password authentication, scram) owns the
 * databases the tests create with {@link #newDatabase()}, one per test.
 *
 * <p>{@link #stop()} and {@link #kill()} take the server down (a clean stop, and an immediate one
 * like a crash); {@link #start()} brings it back on the same port and data directory, for the
 * "PostgreSQL down" tests. {@link #close()} stops it and deletes the directory. Skipped with an
 * assumption only when the binaries are absent.
 */
public final class PostgresFixture implements AutoCloseable {
    static final String BIN = "/usr/lib/postgresql/15/bin";
    public static final String USER = "tollgate";
    public static final String PASSWORD = "tollgate-test-password";
    private static final String SUPERUSER_PASSWORD = "postgres-test-password";
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Path dir;
    private final int port;
    private final boolean root;

    private PostgresFixture(Path dir, int port, boolean root) {
        this.dir = dir;
        this.port = port;
        this.root = root;
    }

    /** Creates a cluster in a new temporary directory and starts it. */
    public static PostgresFixture startNew() throws IOException, InterruptedException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(BIN, "initdb")) && Files.isExecutable(Path.of(BIN, "pg_ctl")),
                "PostgreSQL 15 binaries not found in " + BIN + " (install the postgresql-15 package to run the cluster ledger tests)");
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("tollgate-pg-");
        PostgresFixture pg = new PostgresFixture(dir, freePort(), root);
        try {
            Files.writeString(dir.resolve("pwfile"), SUPERUSER_PASSWORD + "\n", StandardCharsets.UTF_8);
            if (root) {
                pg.run(List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
            }
            pg.run(List.of(BIN + "/initdb", "-D", pg.data().toString(), "-U", "postgres", "--pwfile=" + dir.resolve("pwfile"),
                    "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"), true);
            pg.start();
            try (Connection c = DriverManager.getConnection(pg.url("postgres"), "postgres", SUPERUSER_PASSWORD);
                    Statement s = c.createStatement()) {
                s.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
                s.execute("CREATE DATABASE " + USER + " OWNER " + USER);
            }
            return pg;
        } catch (IOException | SQLException | RuntimeException e) {
            pg.close();
            throw e instanceof IOException io ? io : new IOException("could not start PostgreSQL for the tests: " + e, e);
        }
    }

    /** A port in this helper's range that nothing listens on now. */
    private static int freePort() throws IOException {
        int first = 25000 + ThreadLocalRandom.current().nextInt(1000);
        for (int i = 0; i < 1000; i++) {
            int p = 25000 + (first - 25000 + i) % 1000;
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                return p;
            } catch (IOException taken) {
                // next one
            }
        }
        throw new IOException("no free port in 25000-25999");
    }

    private Path data() {
        return dir.resolve("data");
    }

    /** Starts (or restarts after {@link #stop()}/{@link #kill()}) the server on its port and data directory. */
    public void start() throws IOException, InterruptedException {
        run(List.of(BIN + "/pg_ctl", "start", "-w", "-t", "60", "-D", data().toString(), "-l", dir.resolve("server.log").toString(),
                "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k " + dir + " -c fsync=off"
                        + " -c full_page_writes=off -c max_connections=60"), true);
    }

    /** A clean, fast stop: connections are closed, the server exits. */
    public void stop() throws IOException, InterruptedException {
        run(List.of(BIN + "/pg_ctl", "stop", "-w", "-m", "fast", "-D", data().toString()), true);
    }

    /** An immediate stop, like a crash (the next start recovers from the WAL). */
    public void kill() throws IOException, InterruptedException {
        run(List.of(BIN + "/pg_ctl", "stop", "-w", "-m", "immediate", "-D", data().toString()), true);
    }

    public int port() {
        return port;
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** A new, empty database owned by {@code tollgate}; its URL. */
    public String newDatabase() throws SQLException {
        String name = "t" + DATABASES.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), "postgres", SUPERUSER_PASSWORD);
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " OWNER " + USER);
        }
        return url(name);
    }

    /** A superuser connection to {@code url}'s database, for what a test does behind Tollgate's back (tampering). */
    Connection superuser(String url) throws SQLException {
        return DriverManager.getConnection(url, "postgres", SUPERUSER_PASSWORD);
    }

    private void run(List<String> command, boolean asPostgres) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgres && root) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        Path out = Files.createTempFile("tollgate-pg-cmd-", ".out");
        try {
            Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", full) + ": no answer within 120 s");
            }
            if (p.exitValue() != 0) {
                String log = Files.exists(dir.resolve("server.log")) ? Files.readString(dir.resolve("server.log")) : "";
                throw new IOException(String.join(" ", full) + " exited with " + p.exitValue() + ": " + Files.readString(out)
                        + (log.isEmpty() ? "" : "\nserver.log:\n" + log));
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Stops the server (immediately: its data is thrown away) and deletes the directory. */
    @Override
    public void close() throws IOException {
        try {
            if (Files.exists(data().resolve("postmaster.pid"))) {
                run(List.of(BIN + "/pg_ctl", "stop", "-w", "-m", "immediate", "-D", data().toString()), true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
