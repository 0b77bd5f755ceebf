package dev.tollgate.cluster;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.cluster.postgres.ClusterLedger;
import dev.tollgate.cluster.redis.ChangeSource;
import dev.tollgate.cluster.redis.GlobalWindows;
import dev.tollgate.cluster.redis.WindowShipper;
import dev.tollgate.meter.EntityCount;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterView;
import dev.tollgate.meter.WindowExport;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.PeriodRule;
import dev.tollgate.meter.ledger.IncidentHistory;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster link (SPEC §9): this gateway's share of one meter. The local {@link Meter} counts
 * lock-free as in a single process but decides nothing ({@link dev.tollgate.meter.Crossings#ELSEWHERE});
 * this class joins the three places where the rest happens:
 * <ul>
 *   <li><b>Redis</b> ({@link GlobalWindows}, {@link WindowShipper}): the shipper sends this
 *       gateway's absolute bucket counts; each reply carries the global figures and, to exactly
 *       one gateway, "you flagged" ({@link #onGlobal}).</li>
 *   <li><b>The local ledger</b> ({@link Records}): the flagging gateway writes the flag and its
 *       provisional period there first (durable before visible, as in a single process).</li>
 *   <li><b>PostgreSQL</b> ({@link ClusterLedger}): the replicator delivers the local records in
 *       order; the database keeps one open incident per entity and one chain. Once a day's window
 *       has passed, exactly one gateway claims each due incident and finalizes it from the global
 *       series ({@link #tick}). Reports and the incidents API read the chain ({@link #records}).</li>
 * </ul>
 * While Redis is unreachable a gateway flags only from what it knows for certain: its own count
 * above the threshold (a share of the truth can only be below it). Such a flag is offered to Redis
 * ({@code tollgate_open}) once it returns, and PostgreSQL supersedes it if another gateway's flag
 * got there first, so no crossing is ever billed twice.
 */
public final class ClusterMeter implements MeterView, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMeter.class);
    /** How often the open incidents are read back from PostgreSQL, so every gateway blocks and shows the same flags. */
    static final long REFRESH_MILLIS = 5_000;

    /** Where this gateway writes its records: the gateway's ledger writer. */
    public interface Records {
        /** Writes the flag of {@code incident} and its provisional period to the local ledger; runs {@code durable} once written. */
        void flag(Incident incident, Runnable durable);

        /** The fields of {@code incident}'s final record (a damage period), as the local ledger would write them. */
        ObjectNode finalFields(Incident incident);
    }

    /** The last global figures Redis gave for an entity, and when. */
    public record Global(long posts24h, long requests24h, int openSequence, long atMillis) {
    }

    /** A flag this gateway knows of: its sequence and flag time, from Redis, PostgreSQL or its own decision. */
    record Open(int sequence, long flaggedAtMillis, long flagCount) {
    }

    private final String nodeId;
    private final Meter local;
    private final MeterConfig config;
    private final DamagesTerms terms;
    private final Clock clock;
    private final Records records;
    private final GlobalWindows windows;
    private final ClusterLedger ledger;
    private final WindowShipper shipper;
    private final Map<String, Global> global = new ConcurrentHashMap<>();
    private final Map<String, Open> open = new ConcurrentHashMap<>();
    /** The open incidents as PostgreSQL held them at the last read. */
    private volatile Map<String, Open> recordedOpen = Map.of();
    /** Flags this gateway raised while Redis was away, to offer to Redis when it is back. */
    private final Map<String, Open> unoffered = new ConcurrentHashMap<>();
    /** Entities whose open incident this gateway raised (its flag record durable): it writes their provisional updates. */
    private final Map<String, Open> raisedHere = new ConcurrentHashMap<>();
    /** Entities whose flag this gateway is writing now (its local record not yet durable). */
    private final Map<String, Boolean> flagging = new ConcurrentHashMap<>();
    private final LongAdder flagsRaised = new LongAdder();
    private final LongAdder finalsWritten = new LongAdder();
    private final LongAdder certainFlags = new LongAdder();
    /** System.nanoTime of the next read of PostgreSQL: a cadence in real time, whatever the meter's clock says. */
    private volatile long nextRefreshNanos = Long.MIN_VALUE;
    /** What the cluster chain said of past incidents at the last read, and the same by entity (one read, one immutable view). */
    private record Past(IncidentHistory history, Map<String, Meter.RestoredIncidents> byEntity) {
        static Past of(List<LedgerRecord> records) {
            IncidentHistory h = IncidentHistory.of(records);
            Map<String, Meter.RestoredIncidents> by = new HashMap<>();
            h.entities().forEach(r -> by.put(r.entity(), r));
            return new Past(h, Map.copyOf(by));
        }
    }

    private volatile Past chain = Past.of(List.of());
    /** Why the last read of PostgreSQL failed and since when; null while reads succeed. */
    private volatile String readFailure;
    private volatile Instant readFailingSince;

    private ClusterMeter(ClusterSettings settings, Meter local, DamagesTerms terms, Clock clock, Records records, Ledger localLedger) {
        this.nodeId = settings.nodeId();
        this.local = local;
        this.config = local.config();
        this.terms = terms;
        this.clock = clock;
        this.records = records;
        ClusterSettings.Redis r = settings.redis();
        this.windows = new GlobalWindows(new GlobalWindows.Settings(r.nodes(), r.password(), r.commandTimeout(), GlobalWindows.Mode.AUTO), nodeId, config, clock);
        ClusterSettings.Postgres pg = settings.postgres();
        this.ledger = ClusterLedger.start(new ClusterLedger.Settings(pg.url(), pg.user(), pg.password()), nodeId, localLedger, clock);
        this.shipper = new WindowShipper(windows, ChangeSource.of(local), config, clock, r.flushInterval(),
                r.nearThresholdFlushInterval(), r.coldFlushInterval(), this::onGlobal);
    }

    /**
     * Joins the cluster: connects to Redis and PostgreSQL (both may be down: the gateway serves and
     * catches up when they answer) and starts shipping {@code local}'s counts.
     */
    public static ClusterMeter start(ClusterSettings settings, Meter local, DamagesTerms terms, Clock clock, Records records,
            Ledger localLedger) {
        ClusterMeter m = new ClusterMeter(settings, local, terms, clock, records, localLedger);
        m.shipper.start();
        return m;
    }

    /** One Redis reply: the global figures, and a flag if this gateway's shipment crossed the threshold. */
    private void onGlobal(String entity, GlobalWindows.ShipReply reply) {
        global.put(entity, new Global(reply.posts24h(), reply.requests24h(), reply.openSequence(), clock.millis()));
        if (reply.flagged() > 0) {
            raise(entity, new Open(reply.flagged(), reply.flaggedAtMillis(), reply.flagCount()), true); // Redis's decision time, the same everywhere
        } else if (reply.openSequence() > 0 && !open.containsKey(entity) && !flagging.containsKey(entity)) {
            // flagged by another gateway: blocked and shown here too (its record reaches PostgreSQL on its way)
            open.putIfAbsent(entity, new Open(reply.openSequence(), reply.flaggedAtMillis(), reply.flagCount()));
        } else if (reply.openSequence() == 0) {
            Open o = open.get(entity);
            if (o != null && !flagging.containsKey(entity) && !unoffered.containsKey(entity)) {
                open.remove(entity, o); // finalized meanwhile (Redis closes after PostgreSQL took the final)
            }
        }
    }

    /** Writes a flag this gateway decided; it shows (blocks, lists) once its local record is durable. */
    private void raise(String entity, Open flag, boolean global) {
        if (flagging.putIfAbsent(entity, Boolean.TRUE) != null) {
            return;
        }
        Incident provisional;
        try {
            provisional = assess(entity, flag, Incident.Status.PROVISIONAL, global);
        } catch (RuntimeException e) {
            // Redis answered the flag but not the series: the flag stands on its count alone; evidence follows in the final
            log.warn("cluster: flag of {} #{}: the global series could not be read ({}); recording it from this gateway's window",
                    entity, flag.sequence(), e.toString());
            provisional = assess(entity, flag, Incident.Status.PROVISIONAL, false);
        }
        flagsRaised.increment();
        records.flag(provisional, () -> {
            open.put(entity, flag);
            raisedHere.put(entity, flag);
            flagging.remove(entity);
            ledger.wake();
            log.warn("flag: entity={} posts24h={} threshold={} at={} (cluster: decided {})", entity, flag.flagCount(),
                    config.threshold(), Instant.ofEpochMilli(flag.flaggedAtMillis()), global ? "by Redis" : "from this gateway's own count");
        });
    }

    /**
     * The incident of {@code flag} as it stands now: its period chosen and priced by the one rule
     * on the global series ({@code global}) or on this gateway's own window.
     */
    private Incident assess(String entity, Open flag, Incident.Status status, boolean fromGlobal) {
        long b = config.bucketMillis();
        int n = config.bucketsPerWindow();
        long flagBucket = Math.floorDiv(flag.flaggedAtMillis(), b);
        long earliest = flagBucket - n + 1;
        Meter.RestoredIncidents past = lastOf(entity);
        if (past != null && past.lastFinalSequence() > 0) {
            earliest = Math.max(earliest, Math.floorDiv(past.lastFinalStartMillis(), b) + n);
        }
        Map<Long, long[]> counts = new HashMap<>();
        if (fromGlobal) {
            GlobalWindows.Series s = windows.series(entity, (flagBucket - n + 1) * b, (flagBucket + n) * b);
            for (GlobalWindows.BucketCounts c : s.buckets()) {
                counts.put(Math.floorDiv(c.bucketStartMillis(), b), new long[] {c.posts(), c.requests()});
            }
        } else {
            WindowExport w = local.export(entity);
            for (int k = 0; k < w.posts().length; k++) {
                counts.put(Math.floorDiv(w.firstBucketMillis(), b) + k, new long[] {w.posts()[k], w.requests()[k]});
            }
        }
        PeriodRule.Series series = new PeriodRule.Series() {
            @Override
            public long postsAt(long bucket) {
                long[] c = counts.get(bucket);
                return c == null ? 0 : c[0];
            }

            @Override
            public long requestsAt(long bucket) {
                long[] c = counts.get(bucket);
                return c == null ? 0 : c[1];
            }
        };
        PeriodRule.Flag f = new PeriodRule.Flag(entity, flag.sequence(), flag.flaggedAtMillis(), flag.flagCount(), flagBucket, earliest);
        return PeriodRule.assess(f, status, series, x -> x * b, config, terms);
    }

    /** What the cluster chain says of {@code entity}'s past incidents, as of the last refresh. */
    private Meter.RestoredIncidents lastOf(String entity) {
        return chain.byEntity().get(entity);
    }

    /**
     * Once a second (the gateway's housekeeping): reads the open incidents back from PostgreSQL,
     * raises certain flags while Redis is away, offers them when it is back, and finalizes the due
     * incidents this gateway wins.
     */
    public void tick() {
        long now = clock.millis();
        boolean redisUp = windows.status().up();
        if (!redisUp) {
            flagFromOwnCounts(now);
        } else if (!unoffered.isEmpty()) {
            offerOwnFlags();
        }
        if (nextRefreshNanos == Long.MIN_VALUE || System.nanoTime() - nextRefreshNanos >= 0) {
            refresh(now);
        }
        if (redisUp) {
            finalizeDue(now);
        }
    }

    private void flagFromOwnCounts(long now) {
        for (EntityCount c : local.top(64)) {
            if (c.posts24h() <= config.threshold()) {
                break;
            }
            String entity = c.id();
            Global g = global.get(entity);
            if (open.containsKey(entity) || flagging.containsKey(entity) || (g != null && g.openSequence() > 0)) {
                continue;
            }
            Meter.RestoredIncidents past = lastOf(entity);
            int last = Math.max(past == null ? 0 : Math.max(past.lastFinalSequence(), past.openSequence()), g == null ? 0 : g.openSequence());
            if (past != null && past.lastFinalSequence() > 0) {
                long claimed = claimedPosts(entity, past, now);
                if (c.posts24h() - claimed <= config.threshold()) {
                    continue;
                }
            }
            Open flag = new Open(last + 1, now, c.posts24h());
            certainFlags.increment();
            unoffered.put(entity, flag);
            raise(entity, flag, false);
        }
    }

    /** Posts of the entity's last final period still in this gateway's window (they are not billed twice). */
    private long claimedPosts(String entity, Meter.RestoredIncidents past, long now) {
        long b = config.bucketMillis();
        WindowExport w = local.export(entity);
        long start = Math.max(past.lastFinalStartMillis(), now - config.windowMillis() + b);
        long end = past.lastFinalStartMillis() + config.windowMillis();
        long sum = 0;
        for (int k = 0; k < w.posts().length; k++) {
            long t = w.firstBucketMillis() + k * b;
            if (t >= start && t < end) {
                sum += w.posts()[k];
            }
        }
        return sum;
    }

    private void offerOwnFlags() {
        for (Map.Entry<String, Open> e : unoffered.entrySet()) {
            try {
                windows.open(e.getKey(), e.getValue().sequence(), e.getValue().flaggedAtMillis(), e.getValue().flagCount());
                unoffered.remove(e.getKey(), e.getValue());
            } catch (RuntimeException ex) {
                log.debug("cluster: offering the flag of {} to Redis failed: {}", e.getKey(), ex.toString());
                return;
            }
        }
    }

    private void refresh(long now) {
        try {
            List<ClusterLedger.OpenIncident> open = ledger.openIncidents();
            Map<String, Open> fresh = new HashMap<>();
            for (ClusterLedger.OpenIncident o : open) {
                Open flag = new Open((int) o.sequence(), o.flaggedAt().toEpochMilli(), o.flagCount());
                fresh.put(o.entity(), flag);
                if (nodeId.equals(o.nodeId())) {
                    raisedHere.putIfAbsent(o.entity(), flag); // ours, after a restart too: its updates are ours to write
                }
            }
            fresh.forEach(this.open::put);
            recordedOpen = Map.copyOf(fresh);
            // an incident of ours PostgreSQL no longer holds open was finalized (here or elsewhere): no more updates of it
            raisedHere.entrySet().removeIf(e -> {
                Open o = fresh.get(e.getKey());
                return (o == null || o.sequence() != e.getValue().sequence()) && !recentlyRaised(e.getKey(), now);
            });
            // a flag PostgreSQL does not hold open is over (finalized elsewhere), unless it is still on its way there
            this.open.keySet().removeIf(e -> !fresh.containsKey(e) && !flagging.containsKey(e) && !unoffered.containsKey(e)
                    && !recentlyRaised(e, now));
            chain = Past.of(ledger.records());
            nextRefreshNanos = System.nanoTime() + REFRESH_MILLIS * 1_000_000;
            if (readFailure != null) {
                log.info("cluster: PostgreSQL readable again (failing since {})", readFailingSince);
            }
            readFailure = null;
            readFailingSince = null;
        } catch (SQLException | RuntimeException e) {
            if (readFailure == null) {
                readFailingSince = Instant.ofEpochMilli(now);
                log.warn("cluster: PostgreSQL cannot be read ({}); flags known stay as they are, records wait in the local ledger",
                        e.toString());
            }
            readFailure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            nextRefreshNanos = System.nanoTime() + 1_000_000_000L; // try again in a second
        }
    }

    /** True if this gateway's own flag of the entity may not have reached PostgreSQL yet. */
    private boolean recentlyRaised(String entity, long now) {
        ClusterLedger.Status s = ledger.status();
        Open o = open.get(entity);
        return o != null && (s.pending() > 0 || now - o.flaggedAtMillis() < 2 * REFRESH_MILLIS);
    }

    private void finalizeDue(long now) {
        try {
            List<LedgerRecord> finals = ledger.claimDue(now, config.windowMillis(), oi -> {
                Open flag = new Open((int) oi.sequence(), oi.flaggedAt().toEpochMilli(), oi.flagCount());
                Incident fin = assess(oi.entity(), flag, Incident.Status.FINAL, true);
                ObjectNode fields = records.finalFields(fin);
                GlobalWindows.Series s = windows.series(oi.entity(), fin.evidence().firstBucketMillis(),
                        fin.evidence().firstBucketMillis() + (long) fin.evidence().posts().length * config.bucketMillis());
                var gateways = fields.putArray("gateways");
                s.nodes().forEach(gateways::add);
                return fields;
            });
            for (LedgerRecord r : finals) {
                String entity = r.fields().path("entity").asText();
                int sequence = r.fields().path("sequence").asInt();
                long start = Instant.parse(r.fields().path("periodStart").asText()).toEpochMilli();
                long end = Instant.parse(r.fields().path("periodEnd").asText()).toEpochMilli();
                windows.close(entity, sequence, start, end);
                Open o = open.get(entity);
                if (o != null && o.sequence() == sequence) {
                    open.remove(entity, o);
                }
                raisedHere.computeIfPresent(entity, (k, mine) -> mine.sequence() == sequence ? null : mine);
                Map<String, Open> stillOpen = new HashMap<>(recordedOpen);
                stillOpen.computeIfPresent(entity, (k, held) -> held.sequence() == sequence ? null : held);
                recordedOpen = Map.copyOf(stillOpen);
                finalsWritten.increment();
                log.info("damage period final: entity={} #{} period={}..{} (cluster: finalized by {})", entity, sequence,
                        Instant.ofEpochMilli(start), Instant.ofEpochMilli(end), nodeId);
            }
            if (!finals.isEmpty()) {
                chain = Past.of(ledger.records());
            }
        } catch (SQLException | RuntimeException e) {
            log.debug("cluster: finalization postponed ({})", e.toString());
        }
    }

    // ---- what the gateway shows ------------------------------------------------------------

    @Override
    public MeterConfig config() {
        return config;
    }

    /** True while the entity has an open incident anywhere in the cluster (durable where it was raised). */
    @Override
    public boolean flagged(String entity) {
        return open.containsKey(entity);
    }

    /** The global sliding post count: Redis's last answer, or this gateway's own count if that is higher (not yet shipped). */
    @Override
    public long posts24h(String entity) {
        Global g = global.get(entity);
        long own = local.posts24h(entity);
        return g == null ? own : Math.max(g.posts24h(), own);
    }

    @Override
    public long requests24h(String entity) {
        Global g = global.get(entity);
        long own = local.requests24h(entity);
        return g == null ? own : Math.max(g.requests24h(), own);
    }

    /** This gateway's own flag is being written: nothing shows it until its record is durable. */
    @Override
    public boolean flagPending(String entity) {
        return flagging.containsKey(entity) && !open.containsKey(entity);
    }

    /**
     * From this gateway's own window, scaled to the global count: the time until enough of the
     * entity's posts leave the window (for Retry-After). A bound, not exact: other gateways' posts
     * may leave at other times.
     */
    @Override
    public long millisUntilAtMost(String entity, long level) {
        long global = posts24h(entity);
        long own = local.posts24h(entity);
        return local.millisUntilAtMost(entity, Math.max(0, own - (global - level)));
    }

    /** The entities this gateway counts, with the global figures where Redis answered; highest first. */
    @Override
    public List<EntityCount> top(int limit) {
        List<EntityCount> out = new ArrayList<>();
        for (EntityCount c : local.top(Integer.MAX_VALUE)) {
            out.add(new EntityCount(c.id(), posts24h(c.id()), requests24h(c.id()), flagged(c.id())));
        }
        out.sort(java.util.Comparator.comparingLong(EntityCount::posts24h).reversed().thenComparing(EntityCount::id));
        return out.size() > limit ? List.copyOf(out.subList(0, limit)) : out;
    }

    /**
     * The global sliding count read from Redis now, for the admin API (never the request path): right
     * also for an entity this gateway never served. This gateway's view when Redis does not answer.
     */
    public long globalPosts24hNow(String entity) {
        try {
            return readGlobalPosts24h(entity);
        } catch (RuntimeException e) {
            log.debug("cluster: the global count of {} could not be read now ({}); showing the last known", entity, e.toString());
            return posts24h(entity);
        }
    }

    /**
     * {@link #globalPosts24hNow} of each entity, in order, for a list: once a read fails (Redis
     * away, a master failing over), or if the link is down already, the rest are the last known
     * figures, so a list costs at most one command timeout, not one per entry.
     */
    public long[] globalPosts24hNow(List<String> entities) {
        long[] out = new long[entities.size()];
        boolean read = windows.status().up();
        for (int i = 0; i < out.length; i++) {
            String entity = entities.get(i);
            if (read) {
                try {
                    out[i] = readGlobalPosts24h(entity);
                    continue;
                } catch (RuntimeException e) {
                    read = false;
                    log.debug("cluster: global counts could not be read now ({}); listing the last known", e.toString());
                }
            }
            out[i] = posts24h(entity);
        }
        return out;
    }

    private long readGlobalPosts24h(String entity) {
        long b = config.bucketMillis();
        long current = Math.floorDiv(clock.millis(), b);
        long sum = 0;
        for (GlobalWindows.BucketCounts c : windows.series(entity, (current - config.bucketsPerWindow() + 1) * b, (current + 1) * b)
                .buckets()) {
            sum += c.posts();
        }
        return Math.max(sum, local.posts24h(entity)); // what this gateway has not shipped yet is not in Redis
    }

    /** This gateway's own sliding count of the entity (its share of the global one). */
    public long localPosts24h(String entity) {
        return local.posts24h(entity);
    }

    /** The last global figures from Redis, or null. */
    public Global global(String entity) {
        return global.get(entity);
    }

    /** The cluster ledger's records (the one chain), for reports and {@code /api/v1/incidents}. */
    public List<LedgerRecord> records() throws SQLException {
        return ledger.records();
    }

    /** The open incidents this gateway raised, as they stand now: their provisional updates are this gateway's to write. */
    public List<Incident> raisedHere() {
        List<Incident> out = new ArrayList<>();
        raisedHere.forEach((entity, o) -> {
            try {
                out.add(assess(entity, o, Incident.Status.PROVISIONAL, true));
            } catch (RuntimeException e) {
                log.debug("cluster: provisional update of {} postponed: {}", entity, e.toString()); // Redis away: the next tick
            }
        });
        return out;
    }

    /** True while {@code incident} is open and raised here: no final of it has been seen. */
    public boolean stillOpenHere(Incident incident) {
        Open o = raisedHere.get(incident.entity());
        return o != null && o.sequence() == incident.sequence();
    }

    /** The incidents as the cluster chain holds them: finals, then the open ones with their period as it stands now. */
    @Override
    public List<Incident> incidents() {
        List<Incident> all = new ArrayList<>(chain.history().finals());
        // the open incidents: as PostgreSQL holds them, else as this gateway raised them or Redis told it (the same flag time
        // and count everywhere: Redis's decision), so every gateway lists the same
        Map<String, Open> listed = new HashMap<>(open);
        listed.putAll(raisedHere);
        listed.putAll(recordedOpen);
        listed.forEach((entity, o) -> {
            try {
                all.add(assess(entity, o, Incident.Status.PROVISIONAL, true));
            } catch (RuntimeException e) {
                all.add(assess(entity, o, Incident.Status.PROVISIONAL, false));
            }
        });
        all.sort(java.util.Comparator.comparingLong(Incident::flaggedAtMillis).thenComparing(Incident::entity));
        return all;
    }

    public GlobalWindows.Status redisStatus() {
        return windows.status();
    }

    public ClusterLedger.Status postgresStatus() {
        return ledger.status();
    }

    /**
     * Null while PostgreSQL is fine for this gateway (delivery and reads), else why not and since
     * when: for readiness and the status API, which name the degraded link.
     */
    public String postgresProblem() {
        ClusterLedger.Status s = ledger.status();
        if (!s.up()) {
            return "unreachable since " + s.since() + (s.lastError() == null ? "" : " (" + s.lastError() + ")") + "; " + s.pending()
                    + " records wait in the local ledger";
        }
        String read = readFailure;
        return read == null ? null : "cannot be read since " + readFailingSince + " (" + read + "); " + s.pending()
                + " records wait in the local ledger";
    }

    public WindowShipper.Stats shipping() {
        return shipper.stats();
    }

    public String nodeId() {
        return nodeId;
    }

    public long flagsRaised() {
        return flagsRaised.sum();
    }

    public long certainFlags() {
        return certainFlags.sum();
    }

    public long finalsWritten() {
        return finalsWritten.sum();
    }

    /** Ships what is pending (one last attempt), then closes the links. The local ledger stays open: the gateway closes it. */
    @Override
    public void close() {
        shipper.close();
        ledger.close();
        windows.close();
    }
}
