package dev.tollgate.gateway;

import dev.tollgate.gateway.admin.AdminServer;
import dev.tollgate.gateway.admin.AdminToken;
import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.entity.DirectoryWatcher;
import dev.tollgate.gateway.entity.EntityResolver;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.gateway.ledger.LedgerWriter;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.ledger.IncidentHistory;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.persist.WindowStore;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.proxy.ProxyServer;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterListener;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the proxy, the admin API, the meter behind them, and the once-a-second
 * housekeeping (finalizing incidents, expiring entities, reloading the directory).
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final Meter meter;
    private final GatewayMetrics metrics;
    private final DirectoryWatcher directory;
    private final SeenIdentifiers seen = new SeenIdentifiers();
    private final AdminToken token;
    private final Ledger ledger;
    private final WindowStore windows;
    private final ScheduledExecutorService journal;
    private final String configVersion;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final EventLoopGroup adminGroup;
    private final ProxyServer proxy;
    private final AdminServer admin;
    private final ScheduledExecutorService housekeeping;
    private volatile boolean serving;
    private InetSocketAddress proxyAddress;
    private InetSocketAddress adminAddress;

    /** What a gateway can be asked to do beside its configuration. */
    public record Options(Clock clock, MeterListener listener, boolean housekeeping, int workerThreads) {
        public static Options defaults() {
            return new Options(Clock.systemUTC(), MeterListener.none(), true, Runtime.getRuntime().availableProcessors());
        }

        public Options withClock(Clock c) {
            return new Options(c, listener, housekeeping, workerThreads);
        }

        public Options withListener(MeterListener l) {
            return new Options(clock, l, housekeeping, workerThreads);
        }

        /** Without the background housekeeping thread: the caller calls {@link Gateway#tick()}. */
        public Options manualTicks() {
            return new Options(clock, listener, false, workerThreads);
        }
    }

    private Gateway(GatewayConfig config, Options options) throws IOException {
        this.config = config;
        Files.createDirectories(config.dataDir());
        this.metrics = new GatewayMetrics();
        this.directory = DirectoryWatcher.open(config.entities().directory());
        this.ledger = Ledger.open(config.dataDir(), options.clock());
        this.configVersion = versionOf(config);
        recordStart(options);
        LedgerWriter writer = new LedgerWriter(ledger, directory, seen, config.damages().terms(), configVersion);
        MeterListener outer = options.listener();
        this.meter = new Meter(config.meter().meterConfig(), config.damages().terms(), options.clock(), new MeterListener() {
            @Override
            public void onFlag(Incident incident) {
                writer.onFlag(incident);
                outer.onFlag(incident);
            }

            @Override
            public void onFinal(Incident incident) {
                writer.onFinal(incident);
                outer.onFinal(incident);
            }
        });
        KeyHasher hasher = KeyHasher.open(config.entities().keyHashSecretFile(), config.dataDir());
        EntityResolver resolver = new EntityResolver(config.entities(), directory, hasher);
        IncidentHistory history = IncidentHistory.of(ledger.records());
        this.windows = WindowStore.open(config.dataDir(), meter, options.clock(), history.entities(), history.finals());
        this.token = AdminToken.open(config.admin().tokenFile(), config.dataDir());
        Transport transport = Transport.best();
        this.boss = transport.group(1);
        this.workers = transport.group(options.workerThreads());
        this.adminGroup = transport.group(1);
        this.proxy = new ProxyServer(config, meter, resolver, seen, metrics, transport);
        this.admin = new AdminServer(token, metrics, meter, directory, seen, this::ready, ledger, options.clock(), transport);
        metrics.gauge("tollgate_entities_tracked", "Entities with a live window", meter::entityCount);
        metrics.gauge("tollgate_entity_table_capacity", "Bound on the entity table in compact-entity units (meter.maxEntities)", meter::entityCapacity);
        metrics.gauge("tollgate_entity_table_used", "Entity table units in use (a full ring counts as its bytes / 256)", meter::entityWeight);
        metrics.counter("tollgate_entities_evicted_total", "Entities evicted to keep the table within its bound", meter::evictedEntities);
        metrics.counter("tollgate_records_untracked_total", "Records not counted: their entity was new and the table full of protected entities",
                meter::untrackedRecords);
        metrics.counter("tollgate_flags_total", "Flags raised: entities that crossed the threshold", meter::flagCount);
        metrics.gauge("tollgate_open_incidents", "Incidents whose damage period is still provisional", meter::openIncidentCount);
        metrics.counter("tollgate_late_records_total", "Records for buckets already out of the window", meter::lateRecords);
        metrics.gauge("tollgate_ledger_records", "Records in the ledger", ledger::size);
        metrics.counter("tollgate_ledger_failures_total", "Ledger records that could not be written", ledger::failures);
        metrics.counter("tollgate_directory_reloads_total", "Entity directory reloads", directory::reloads);
        metrics.counter("tollgate_directory_rejects_total", "Entity directory files rejected", directory::rejects);
        metrics.counter("tollgate_journal_batches_total", "Journal batches written (one fsync each, at most one a second)", windows::batches);
        metrics.gauge("tollgate_journal_last_flush_timestamp_millis", "When the journal last wrote the counts (epoch milliseconds)",
                windows::lastFlushMillis);
        this.housekeeping = options.housekeeping() ? daemon("tollgate-housekeeping") : null;
        this.journal = options.housekeeping() ? daemon("tollgate-journal") : null;
        log.info("transport {}, {} worker threads", transport.name(), options.workerThreads());
    }

    /** Starts a gateway: binds the proxy and the admin API. */
    public static Gateway start(GatewayConfig config, Options options) throws IOException, InterruptedException {
        Gateway g = new Gateway(config, options);
        try {
            try {
                g.proxyAddress = g.proxy.start(g.boss, g.workers);
            } catch (Exception e) {
                throw bindError("listen", config.listen(), e);
            }
            try {
                g.adminAddress = g.admin.start(config.admin().listen().socketAddress(), g.adminGroup);
            } catch (Exception e) {
                throw bindError("admin.listen", config.admin().listen(), e);
            }
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
        g.serving = true;
        if (g.housekeeping != null) {
            g.housekeeping.scheduleAtFixedRate(g.guarded(g::tick, "housekeeping failed; retrying in a second", null), 1, 1, TimeUnit.SECONDS);
            g.journal.scheduleAtFixedRate(g.guarded(g.windows::flush, "journal: could not write the last second's counts; retrying in a second",
                    GatewayMetrics.ErrorKind.JOURNAL), 1, 1, TimeUnit.SECONDS);
            g.journal.scheduleAtFixedRate(g.guarded(g.windows::snapshot, "windows snapshot failed; the journal goes on",
                    GatewayMetrics.ErrorKind.JOURNAL), 5, 5, TimeUnit.MINUTES);
        }
        log.info("proxy on {} → {}; admin API on {}; mode {}", g.proxyAddress, config.upstream().url(), g.adminAddress,
                config.meter().mode().configName());
        return g;
    }

    /** A listening address that cannot be bound, said with the key that set it. */
    private static IOException bindError(String key, Object address, Exception e) throws InterruptedException {
        if (e instanceof InterruptedException ie) {
            throw ie;
        }
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (why.contains("Address already in use") || why.contains("address already in use")) {
            why = "the address is already in use (another gateway, or another server, listens there)";
        }
        return new IOException(key + ": " + address + ": cannot listen: " + why, e);
    }

    /** A short, stable version of the configuration in force: the first 16 hex digits of the SHA-256 of its canonical form. */
    static String versionOf(GatewayConfig c) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(c.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "cfg-" + java.util.HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void recordStart(Options options) throws IOException {
        if (ledger.recoveredTornRecords() > 0) {
            ledger.append("recovery", JsonNodeFactory.instance.objectNode()
                    .put("detail", "the last record was cut short by a crash and was set aside next to the ledger"));
        }
        String lastVersion = null;
        for (var r : ledger.records()) {
            if (r.type().equals("config")) {
                lastVersion = r.fields().path("configVersion").asText();
            }
        }
        if (!configVersion.equals(lastVersion)) {
            ObjectNode c = JsonNodeFactory.instance.objectNode();
            c.put("configVersion", configVersion);
            ObjectNode m = c.putObject("meter");
            m.put("threshold", config.meter().threshold());
            m.put("window", dev.tollgate.gateway.config.Durations.format(config.meter().window()));
            m.put("bucket", dev.tollgate.gateway.config.Durations.format(config.meter().bucket()));
            m.put("mode", config.meter().mode().configName());
            ObjectNode d = c.putObject("damages");
            d.put("currency", config.damages().currency());
            d.put("price", config.damages().price().toPlainString());
            d.put("unit", config.damages().unit());
            d.put("rounding", config.damages().rounding().configName());
            c.put("settings", config.toString());
            ledger.append("config", c);
        }
        ledger.append("start", JsonNodeFactory.instance.objectNode().put("configVersion", configVersion)
                .put("upstream", config.upstream().url().toString()));
    }

    private boolean ready() {
        return serving && !ledger.failing();
    }

    /** Housekeeping: finalizes due incidents, expires idle entities, reloads a changed directory. */
    public void tick() {
        meter.tick();
        directory.reloadIfChanged();
    }

    private static ScheduledExecutorService daemon(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Writes the counts of the last second to the journal (the journal thread does it every second). */
    public void flush() throws IOException {
        windows.flush();
    }

    /** Work of a background thread that fails without stopping the thread. */
    private interface Task {
        void run() throws IOException;
    }

    /** {@code task}, whose failure is logged (and counted as {@code kind}, when given) for the next run to retry. */
    private Runnable guarded(Task task, String failure, GatewayMetrics.ErrorKind kind) {
        return () -> {
            try {
                task.run();
            } catch (IOException | RuntimeException e) {
                if (kind != null) {
                    metrics.error(kind);
                }
                log.error("{}: {}", failure, e.toString());
            }
        };
    }

    public Meter meter() {
        return meter;
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    public SeenIdentifiers seen() {
        return seen;
    }

    public DirectoryWatcher directory() {
        return directory;
    }

    /** Requests recorded in the meter so far (served, cut short or blocked). */
    public long meteredRequests() {
        return proxy.meteredRequests();
    }

    public InetSocketAddress proxyAddress() {
        return proxyAddress;
    }

    public InetSocketAddress adminAddress() {
        return adminAddress;
    }

    public Ledger ledger() {
        return ledger;
    }

    public String configVersion() {
        return configVersion;
    }

    public String adminToken() {
        return token.value();
    }

    public GatewayConfig config() {
        return config;
    }

    @Override
    public void close() {
        serving = false;
        if (housekeeping != null) {
            housekeeping.shutdownNow();
            journal.shutdown();
            try {
                journal.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        proxy.stop();
        admin.stop();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        adminGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().syncUninterruptibly();
        workers.terminationFuture().syncUninterruptibly();
        adminGroup.terminationFuture().syncUninterruptibly();
        try {
            windows.close();
        } catch (IOException e) {
            log.error("windows: could not write the last snapshot: {}", e.toString());
        }
        try {
            ledger.append("stop", JsonNodeFactory.instance.objectNode());
            ledger.close();
        } catch (java.io.UncheckedIOException | IOException e) {
            log.error("ledger: could not record the stop: {}", e.toString());
        }
    }
}
