package dev.tollgate.gateway;

import dev.tollgate.gateway.access.AccessLog;
import dev.tollgate.gateway.admin.AdminServer;
import dev.tollgate.gateway.admin.AdminToken;
import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.admin.Readiness;
import dev.tollgate.gateway.config.ConfigRecord;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.entity.DirectoryWatcher;
import dev.tollgate.gateway.entity.EntityResolver;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.gateway.ledger.DirectoryRecords;
import dev.tollgate.gateway.ledger.LedgerWriter;
import dev.tollgate.gateway.ledger.ProvisionalUpdates;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.ledger.IncidentHistory;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.persist.WindowStore;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.proxy.ProxyServer;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.cluster.ClusterMeter;
import dev.tollgate.meter.Crossings;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterView;
import dev.tollgate.meter.MeterListener;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
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
    /** Cluster mode's link (SPEC §9); null for a single gateway. */
    private final ClusterMeter cluster;
    private final GatewayMetrics metrics;
    private final DirectoryWatcher directory;
    private final SeenIdentifiers seen = new SeenIdentifiers();
    private final AdminToken token;
    private final DataDir dataDir;
    private final HeldListener proxyListener;
    private final HeldListener adminListener;
    private final Ledger ledger;
    private final WindowStore windows;
    private final ScheduledExecutorService journal;
    private final ConfigRecord configRecord;
    private final DirectoryRecords directoryRecords;
    private final String configVersion;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final EventLoopGroup adminGroup;
    private final ProxyServer proxy;
    private final AccessLog accessLog;
    private final AdminServer admin;
    private final ScheduledExecutorService housekeeping;
    private final ProvisionalUpdates provisional;
    private volatile boolean serving;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private InetSocketAddress proxyAddress;
    private InetSocketAddress adminAddress;

    /**
     * What a gateway can be asked to do beside its configuration; {@code ledgerDisk} wraps the
     * ledger file's {@link Ledger.Disk} (tests inject failures and holds there).
     */
    public record Options(Clock clock, MeterListener listener, boolean housekeeping, int workerThreads, UnaryOperator<Ledger.Disk> ledgerDisk) {
        public static Options defaults() {
            return new Options(Clock.systemUTC(), MeterListener.none(), true, Runtime.getRuntime().availableProcessors(), UnaryOperator.identity());
        }

        public Options withClock(Clock c) {
            return new Options(c, listener, housekeeping, workerThreads, ledgerDisk);
        }

        public Options withListener(MeterListener l) {
            return new Options(clock, l, housekeeping, workerThreads, ledgerDisk);
        }

        /** Without the background housekeeping thread: the caller calls {@link Gateway#tick()}. */
        public Options manualTicks() {
            return new Options(clock, listener, false, workerThreads, ledgerDisk);
        }

        public Options withLedgerDisk(UnaryOperator<Ledger.Disk> seam) {
            return new Options(clock, listener, housekeeping, workerThreads, seam);
        }
    }

    /**
     * Order (issue 10): the data directory's lock, then the listening sockets (bound, not yet
     * accepting), and only then anything read from or written to the data directory. A gateway
     * that cannot lock or cannot listen leaves the directory as it found it.
     */
    private Gateway(GatewayConfig config, Options options) throws IOException, InterruptedException {
        this.config = config;
        if (config.clustered() && config.entities().keyHashSecretFile() == null
                && (System.getenv(KeyHasher.SECRET_ENV) == null || System.getenv(KeyHasher.SECRET_ENV).isBlank())) {
            // each gateway would otherwise generate its own secret: one API key, a different entity on each gateway
            throw new IOException("entities.keyHashSecretFile: missing (expected in cluster mode: the same secret file on every gateway, "
                    + "or " + KeyHasher.SECRET_ENV + ", so that one API key is one entity cluster-wide)");
        }
        // read-only checks first: a bad entities.yaml stops the start before the data directory is touched
        this.directory = DirectoryWatcher.open(config.entities().directory());
        this.dataDir = DataDir.lock(config.dataDir());
        if (config.entities().directory() != null) {
            log.info("entity directory {}: {}", config.entities().directory(), directory.current().summary());
        }
        Transport transport = Transport.best();
        this.boss = transport.group(1);
        this.workers = transport.group(options.workerThreads());
        this.adminGroup = transport.group(1);
        try {
            try {
                this.proxyListener = HeldListener.bind(transport, boss, workers, config.listen().socketAddress(), ProxyServer::configure);
            } catch (Exception e) {
                throw bindError("listen", config.listen(), e);
            }
            try {
                this.adminListener = HeldListener.bind(transport, adminGroup, adminGroup, config.admin().listen().socketAddress(), b -> { });
            } catch (Exception e) {
                proxyListener.close();
                throw bindError("admin.listen", config.admin().listen(), e);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            shutdownGroups();
            dataDir.close();
            throw e;
        }
        try {
            this.ledger = Ledger.open(config.dataDir(), options.clock(), options.ledgerDisk());
        } catch (IOException | RuntimeException e) {
            proxyListener.close();
            adminListener.close();
            shutdownGroups();
            dataDir.close();
            throw e;
        }
        try {
            this.metrics = new GatewayMetrics();
            this.configRecord = ConfigRecord.of(config);
            this.configVersion = configRecord.version();
            KeyHasher hasher = KeyHasher.open(config.entities().keyHashSecretFile(), config.dataDir());
            this.directoryRecords = new DirectoryRecords(ledger, hasher);
            try {
                recordStart(options);
            } catch (java.io.UncheckedIOException e) {
                throw new IOException("ledger " + ledger.file() + ": cannot write the start records: " + e.getCause().getMessage()
                        + " (is the disk full or read-only?)", e);
            }
            directory.onAccepted(directoryRecords::onReload);
            LedgerWriter writer = new LedgerWriter(ledger, directory, seen, config.damages().terms(), configVersion);
            MeterListener outer = options.listener();
            this.meter = new Meter(config.meter().meterConfig(), config.damages().terms(), options.clock(), new MeterListener() {
                // the ledger thread runs the callbacks once the record is durable: then the meter shows it, then the outer listener hears it
                @Override
                public void onFlag(Incident incident, Runnable visible) {
                    writer.onFlag(incident, () -> {
                        visible.run();
                        tellOuter(() -> outer.onFlag(incident));
                    });
                }

                @Override
                public void onFinal(Incident incident, Runnable visible) {
                    writer.onFinal(incident, () -> {
                        visible.run();
                        tellOuter(() -> outer.onFinal(incident));
                    });
                }
            }, config.clustered() ? Crossings.ELSEWHERE : Crossings.HERE);
            EntityResolver resolver = new EntityResolver(config.entities(), directory, hasher);
            IncidentHistory history = IncidentHistory.of(ledger.records());
            // cluster mode: incidents live in the cluster ledger, never in this gateway's meter (which must not finalize its share)
            this.windows = config.clustered() ? WindowStore.open(config.dataDir(), meter, options.clock(), java.util.List.of(), java.util.List.of())
                    : WindowStore.open(config.dataDir(), meter, options.clock(), history.entities(), history.finals());
            this.token = AdminToken.open(config.admin().tokenFile(), config.dataDir());
            makePrivate();
            this.accessLog = openAccessLog(config);
            if (accessLog != null) {
                metrics.counter("tollgate_access_log_lines_total", "Access log lines written", accessLog::written);
                metrics.counter("tollgate_access_log_dropped_total", "Access log lines dropped: the writer could not keep up", accessLog::dropped);
                metrics.counter("tollgate_access_log_failures_total", "Access log writes that failed (full disk)", accessLog::failures);
            }
            this.cluster = config.clustered() ? ClusterMeter.start(config.cluster(), meter, config.damages().terms(), options.clock(),
                    new ClusterMeter.Records() {
                        @Override
                        public void flag(Incident incident, Runnable durable) {
                            writer.onFlag(incident, () -> {
                                durable.run();
                                tellOuter(() -> outer.onFlag(incident));
                            });
                        }

                        @Override
                        public ObjectNode finalFields(Incident incident) {
                            return writer.finalFields(incident);
                        }
                    }, ledger) : null;
            MeterView view = cluster != null ? cluster : meter;
            this.proxy = new ProxyServer(config, meter, view, resolver, seen, metrics, transport, accessLog, options.clock());
            Readiness readiness = new Readiness()
                    .part("proxy", () -> serving ? null : "not serving (starting or stopping)")
                    .part("ledger", () -> ledger.failing() ? ledger.pending() + " records cannot be written; see the log" : null)
                    .part("journal", () -> windows.failing() ? "the counts of " + windows.pendingEntities()
                            + " entities wait in memory for the disk to take them; see the log" : null);
            if (cluster != null) {
                ClusterLinks.register(cluster, readiness, metrics);
            }
            this.provisional = new ProvisionalUpdates(cluster == null ? ProvisionalUpdates.Source.of(meter) : new ProvisionalUpdates.Source() {
                // cluster mode: the updates of the incidents this gateway raised (PostgreSQL takes those of the flagging gateway only)
                @Override
                public java.util.List<Incident> incidents() {
                    return cluster.raisedHere();
                }

                @Override
                public boolean stillOpen(Incident incident) {
                    return cluster.stillOpenHere(incident);
                }
            }, writer, options.clock(), history.provisionalAsOf());
            this.admin = new AdminServer(token, metrics, view, meter, cluster == null ? null : ClusterLinks.view(cluster), directory, seen,
                    readiness, ledger, options.clock(), transport,
                    writer::periodOf);
            metrics.gauge("tollgate_entities_tracked", "Entities with a live window", meter::entityCount);
            metrics.gauge("tollgate_entity_table_capacity", "Bound on the entity table in compact-entity units (meter.maxEntities)",
                    meter::entityCapacity);
            metrics.gauge("tollgate_entity_table_used", "Entity table units in use (a full ring counts as its bytes / 256)", meter::entityWeight);
            metrics.counter("tollgate_entities_evicted_total", "Entities evicted to keep the table within its bound", meter::evictedEntities);
            metrics.counter("tollgate_records_untracked_total",
                    "Records not counted: their entity was new and the table full of protected entities", meter::untrackedRecords);
            metrics.counter("tollgate_flags_total", "Flags raised: entities that crossed the threshold", meter::flagCount);
            metrics.gauge("tollgate_open_incidents", "Incidents whose damage period is still provisional", meter::openIncidentCount);
            metrics.counter("tollgate_late_records_total", "Records for buckets already out of the window", meter::lateRecords);
            metrics.gauge("tollgate_ledger_records", "Records in the ledger", ledger::size);
            metrics.counter("tollgate_ledger_failures_total", "Ledger write attempts that failed (each retry of a backlog counts)", ledger::failures);
            metrics.gauge("tollgate_ledger_pending_records", "Ledger records queued and not yet durable (a full disk's backlog included)",
                    ledger::pending);
            metrics.gauge("tollgate_ledger_failing", "1 while the ledger cannot write its backlog, else 0", () -> ledger.failing() ? 1 : 0);
            metrics.counter("tollgate_directory_reloads_total", "Entity directory reloads", directory::reloads);
            metrics.counter("tollgate_directory_rejects_total", "Entity directory files rejected", directory::rejects);
            metrics.counter("tollgate_journal_batches_total", "Journal batches written (one fsync each, at most one a second)", windows::batches);
            metrics.counter("tollgate_provisional_updates_total", "Hourly and shutdown provisional records of open incidents",
                    provisional::written);
            metrics.gaugeSeconds("tollgate_journal_last_flush_timestamp_seconds", "When the journal last had every count written (Unix time)",
                    () -> windows.lastFlushMillis() / 1000.0);
            metrics.gaugeSeconds("tollgate_snapshot_last_timestamp_seconds",
                    "When the last windows snapshot of this process was written (Unix time; 0 before the first, every 5 minutes)",
                    () -> windows.lastSnapshotMillis() / 1000.0);
            metrics.gauge("tollgate_journal_failing", "1 while journal writes fail (a full disk) and counts wait in memory, else 0",
                    () -> windows.failing() ? 1 : 0);
            metrics.gauge("tollgate_journal_pending_entities", "Entities whose counts wait in memory for the journal to take them",
                    windows::pendingEntities);
            this.housekeeping = options.housekeeping() ? daemon("tollgate-housekeeping") : null;
            this.journal = options.housekeeping() ? daemon("tollgate-journal") : null;
            log.info("transport {}, {} worker threads", transport.name(), options.workerThreads());
        } catch (IOException | RuntimeException e) {
            proxyListener.close();
            adminListener.close();
            shutdownGroups();
            try {
                ledger.close();
            } finally {
                dataDir.close();
            }
            throw e;
        }
    }

    private static AccessLog openAccessLog(GatewayConfig config) throws IOException {
        GatewayConfig.AccessLog a = config.accessLog();
        if (!a.enabled()) {
            return null;
        }
        Path file = a.fileIn(config.dataDir());
        if (file == null) {
            return AccessLog.to(System.out, 65_536);
        }
        try {
            return AccessLog.toFile(file);
        } catch (IOException e) {
            throw new IOException("accessLog.path: " + file + ": cannot be opened for writing (" + e + ")", e);
        }
    }

    /** Starts a gateway: locks its data directory, binds the proxy and the admin API, restores, then accepts. */
    public static Gateway start(GatewayConfig config, Options options) throws IOException, InterruptedException {
        Gateway g = new Gateway(config, options);
        g.proxyAddress = g.proxyListener.address();
        g.adminAddress = g.adminListener.address();
        g.proxyListener.open(g.proxy.pipeline());
        g.adminListener.open(g.admin.pipeline());
        g.serving = true;
        if (g.housekeeping != null) {
            g.housekeeping.scheduleAtFixedRate(g.guarded(g::tick, "housekeeping failed; retrying in a second", null), 1, 1, TimeUnit.SECONDS);
            g.journal.scheduleAtFixedRate(g::flushJournal, 1, 1, TimeUnit.SECONDS);
            g.journal.scheduleAtFixedRate(g.guarded(() -> {
                g.windows.snapshot();
                g.makePrivate();
            }, "windows snapshot failed; the journal goes on",
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

    private void recordStart(Options options) throws IOException {
        if (ledger.recoveredTornRecords() > 0) {
            ledger.append("recovery", JsonNodeFactory.instance.objectNode()
                    .put("detail", "the last record was cut short by a crash and was set aside next to the ledger"));
        }
        java.util.List<dev.tollgate.meter.ledger.LedgerRecord> records = ledger.records();
        String lastVersion = null;
        for (var r : records) {
            if (r.type().equals("config")) {
                lastVersion = r.fields().path("configVersion").asText();
            }
        }
        if (!configVersion.equals(lastVersion)) {
            ObjectNode c = JsonNodeFactory.instance.objectNode();
            c.put("configVersion", configVersion);
            c.set("settings", configRecord.settings());
            ledger.append("config", c);
        }
        directoryRecords.atStart(directory.current(), records);
        ledger.append("start", JsonNodeFactory.instance.objectNode().put("configVersion", configVersion)
                .put("directoryVersion", directoryRecords.version())
                .put("upstream", config.upstream().url().toString()));
    }

    /** Every directory 0700 and file 0600 in the data directory (the window store's new files included). */
    private void makePrivate() {
        try {
            dataDir.makePrivate();
        } catch (IOException e) {
            log.warn("dataDir {}: could not make every file private to its owner: {}", config.dataDir(), e.toString());
        }
    }

    /** An outer listener that fails must not stop the ledger thread. */
    private static void tellOuter(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.error("meter listener failed", e);
        }
    }

    private void shutdownGroups() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        adminGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().syncUninterruptibly();
        workers.terminationFuture().syncUninterruptibly();
        adminGroup.terminationFuture().syncUninterruptibly();
    }

    /** Housekeeping: finalizes due incidents, expires idle entities, writes due provisional updates, reloads a changed directory. */
    public void tick() {
        meter.tick();
        if (cluster != null) {
            cluster.tick();
        }
        provisional.tick();
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

    /**
     * The journal thread's work every second: a failure is counted; the window store logs when
     * writing stops and when it resumes (not every second) and keeps the counts until it can.
     */
    private void flushJournal() {
        try {
            windows.flush();
        } catch (IOException | RuntimeException e) {
            metrics.error(GatewayMetrics.ErrorKind.JOURNAL);
        }
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

    /**
     * Graceful stop (SIGTERM): not ready at once, the listening socket closed, in-flight requests
     * finished for up to {@code grace} (or until {@code force} turns true: a second signal), then
     * {@link #close()}: journal, snapshot and ledger written. Logs the stop with its counts.
     */
    public void shutdown(java.time.Duration grace, java.util.function.BooleanSupplier force) {
        if (closed.get()) {
            return;
        }
        serving = false;
        long started = System.nanoTime();
        int open = proxy.openConnections();
        long before = proxy.meteredRequests();
        proxyListener.close(); // no new connection; the ones open are drained
        log.info("stopping: draining {} open connections for up to {}", open, dev.tollgate.gateway.config.Durations.format(grace));
        int cut = 0;
        try {
            cut = proxy.drain(started + grace.toNanos(), force);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long finished = proxy.meteredRequests() - before;
        close();
        log.info("stopped after {} ms: {} requests finished while draining, {} connections cut, {} requests metered in all, ledger {} records",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), finished, cut, proxy.meteredRequests(), ledger.size());
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
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
        proxyListener.close();
        adminListener.close();
        shutdownGroups();
        if (accessLog != null) {
            accessLog.close();
        }
        if (cluster != null) {
            cluster.close(); // ships what is pending; records not yet in PostgreSQL wait in the local ledger for the next start
        }
        try {
            windows.close();
            makePrivate(); // the last snapshot's and journal's files, owner-only like the rest
        } catch (IOException e) {
            log.error("windows: could not write the last snapshot: {}", e.toString());
        }
        try {
            provisional.atShutdown();
            ledger.append("stop", JsonNodeFactory.instance.objectNode());
        } catch (java.io.UncheckedIOException e) {
            log.error("ledger: could not record the stop: {}", e.toString());
        }
        try {
            ledger.close(); // writes what is still queued, or logs it in full
        } catch (IOException e) {
            log.error("ledger: could not close: {}", e.toString());
        }
        try {
            dataDir.close();
        } catch (IOException e) {
            log.error("dataDir {}: could not release the lock: {}", config.dataDir(), e.toString());
        }
    }
}
