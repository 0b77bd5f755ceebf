package dev.tollgate.gateway.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.LegalEntity;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.EntityCount;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.WindowExport;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.report.DamagePeriod;
import dev.tollgate.meter.report.DamageReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The JSON documents of the admin API, with the field names SPEC §7 gives. Every incident it
 * shows comes from one {@link DamageReport} made at one instant ({@link #snapshot}): final periods
 * from the ledger, open ones live from the meter; the same figures and the same range rule as the
 * damages report in every format.
 *
 * <p>Called on the admin API's event loop; {@link #snapshot} is synchronized, so its cache of the
 * ledger's periods is safe with more than one admin thread.
 */
final class AdminViews {
    static final ObjectMapper JSON = new ObjectMapper();

    /** List entries whose global count is read from Redis when listed, in cluster mode. */
    static final int FRESH_TOP = 100;

    private final dev.tollgate.meter.MeterView meter;
    private final Meter local;
    private final ClusterView cluster;
    private final Supplier<Directory> directory;
    private final SeenIdentifiers seen;
    private final Ledger ledger;
    private final BiFunction<Incident, Instant, DamagePeriod> periodOf;
    /** The ledger's latest period per incident, as read when the ledger file had {@link #readStamp}; admin thread only. */
    private Map<String, DamagePeriod> recorded = Map.of();
    private List<Object> readStamp = List.of();
    private dev.tollgate.meter.ledger.LedgerHead recordedHead;

    /** {@code periodOf}: an incident of the meter as a period, its figures dated by the instant given. */
    AdminViews(dev.tollgate.meter.MeterView meter, Meter local, ClusterView cluster, Supplier<Directory> directory, SeenIdentifiers seen,
            Ledger ledger, BiFunction<Incident, Instant, DamagePeriod> periodOf) {
        this.meter = meter;
        this.local = local;
        this.cluster = cluster;
        this.directory = directory;
        this.seen = seen;
        this.ledger = ledger;
        this.periodOf = periodOf;
    }

    /**
     * The incidents of {@code [from, to)} (by period overlap), one entity's or all, as of {@code now}:
     * the ledger's periods, with each incident the meter holds open (or final and not yet final in
     * the ledger) taken from the meter as it stands at {@code now}.
     *
     * @throws UncheckedIOException if the ledger cannot be read
     */
    synchronized DamageReport snapshot(Instant from, Instant to, String entity, Instant now) {
        Map<String, DamagePeriod> fromLedger = recorded();
        List<DamagePeriod> live = new ArrayList<>();
        for (Incident i : meter.incidents()) {
            if (entity != null && !entity.equals(i.entity())) {
                continue;
            }
            DamagePeriod r = fromLedger.get(i.id());
            if (i.status() == Incident.Status.PROVISIONAL || r == null || !r.isFinal()) {
                live.add(periodOf.apply(i, now));
            }
        }
        return DamageReport.live(fromLedger.values(), recordedHead, live, from, to, entity, now);
    }

    /** The ledger's periods, read again only when the file changed (its record count, size or time stamp). */
    private Map<String, DamagePeriod> recorded() {
        if (cluster != null) {
            try {
                List<dev.tollgate.meter.ledger.LedgerRecord> records = cluster.records();
                recordedHead = dev.tollgate.meter.ledger.LedgerHead.of(records);
                recorded = DamageReport.latestOf(records);
                readStamp = List.of("cluster");
            } catch (Exception e) {
                if (readStamp.isEmpty()) {
                    throw new UncheckedIOException(new IOException("the cluster ledger (PostgreSQL) cannot be read now: " + e.getMessage(), e));
                }
                // PostgreSQL is away: the periods as last read (the head says which), the live ones from the cluster link
            }
            return recorded;
        }
        try {
            List<Object> stamp = List.of(ledger.size(), Files.size(ledger.file()), Files.getLastModifiedTime(ledger.file()));
            if (!stamp.equals(readStamp)) {
                // only what is durable: a record written but not yet fsynced is not shown (durable before visible)
                long durable = ledger.size();
                List<dev.tollgate.meter.ledger.LedgerRecord> records = ledger.records().stream().filter(r -> r.seq() <= durable).toList();
                recorded = DamageReport.latestOf(records);
                recordedHead = dev.tollgate.meter.ledger.LedgerHead.of(records);
                readStamp = stamp;
            }
            return recorded;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ArrayNode top(int n, Instant now) {
        DamageReport all = snapshot(DamageReport.BEGINNING, DamageReport.END, null, now);
        ArrayNode out = JSON.createArrayNode();
        for (EntityCount c : fresh(meter.top(n))) {
            out.add(entity(c.id(), c.posts24h(), c.requests24h(), c.flagged(), all.periods()));
        }
        return out;
    }

    /**
     * In cluster mode, the first {@value #FRESH_TOP} entries of a list with their global count read
     * from Redis now (one read each, until one fails; further entries keep this gateway's last
     * answer), re-sorted.
     */
    private List<EntityCount> fresh(List<EntityCount> top) {
        if (cluster == null || top.isEmpty()) {
            return top;
        }
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < Math.min(FRESH_TOP, top.size()); i++) {
            ids.add(top.get(i).id());
        }
        long[] now = cluster.posts24hNow(ids);
        List<EntityCount> out = new java.util.ArrayList<>(top.size());
        for (int i = 0; i < top.size(); i++) {
            EntityCount c = top.get(i);
            out.add(i < now.length ? new EntityCount(c.id(), now[i], c.requests24h(), meter.flagged(c.id())) : c);
        }
        out.sort(java.util.Comparator.comparingLong(EntityCount::posts24h).reversed().thenComparing(EntityCount::id));
        return out;
    }

    /** One entity with its hourly series of the last 48 hours. */
    ObjectNode one(String id, Instant now) {
        DamageReport mine = snapshot(DamageReport.BEGINNING, DamageReport.END, id, now);
        ObjectNode e = entity(id, meter.posts24h(id), meter.requests24h(id), meter.flagged(id), mine.periods());
        e.put("asOf", now.toString());
        if (cluster != null) {
            cluster.describe(id, e);
        }
        WindowExport x = local.export(id);
        java.util.TreeMap<Long, long[]> hours = new java.util.TreeMap<>();
        for (int k = 0; k < x.posts().length; k++) {
            long start = Math.floorDiv(x.firstBucketMillis() + k * x.bucketMillis(), 3_600_000L) * 3_600_000L;
            long[] pr = hours.computeIfAbsent(start, h -> new long[2]);
            pr[0] += x.posts()[k];
            pr[1] += x.requests()[k];
        }
        ArrayNode hourly = e.putArray("hourly");
        hours.forEach((start, pr) -> hourly.addObject().put("start", Instant.ofEpochMilli(start).toString())
                .put("posts", pr[0]).put("requests", pr[1]));
        return e;
    }

    boolean known(String id) {
        return directory.get().byId(id) != null || meter.posts24h(id) > 0 || meter.requests24h(id) > 0
                || (cluster != null && cluster.counts(id))
                || meter.incidents().stream().anyMatch(i -> i.entity().equals(id));
    }

    private ObjectNode entity(String id, long posts, long requests, boolean flagged, List<DamagePeriod> all) {
        ObjectNode e = JSON.createObjectNode();
        LegalEntity le = directory.get().byId(id);
        e.put("id", id);
        e.put("name", le == null ? id : le.name());
        if (le != null && le.contact() != null) {
            e.put("contact", le.contact());
        }
        e.put("posts24h", posts);
        e.put("requests24h", requests);
        e.put("flagged", flagged);
        ArrayNode ids = e.putArray("identifiers");
        seen.of(id).forEach(ids::add);
        ArrayNode joined = e.putArray("directoryIdentifiers"); // those of identifiers the directory joined into it
        seen.joined(id).forEach(joined::add);
        ArrayNode inc = e.putArray("incidents");
        for (DamagePeriod p : all) {
            if (p.entityId().equals(id)) {
                inc.add(incident(p));
            }
        }
        return e;
    }

    static ArrayNode incidents(DamageReport report) {
        ArrayNode out = JSON.createArrayNode();
        report.periods().forEach(p -> out.add(incident(p)));
        return out;
    }

    /** An incident as SPEC §7 names its fields; a provisional one also says as of when ({@code asOf}). */
    static ObjectNode incident(DamagePeriod p) {
        ObjectNode o = JSON.createObjectNode();
        o.put("entity", p.entityId());
        o.put("sequence", p.sequence());
        o.put("flaggedAt", p.flaggedAt().toString());
        o.put("flagCount", p.flagCount());
        o.put("periodStart", p.periodStart().toString());
        o.put("periodEnd", p.periodEnd().toString());
        o.put("status", p.status());
        o.put("posts", p.posts());
        o.put("requests", p.requests());
        o.put("amount", p.amount().toPlainString());
        o.put("currency", p.currency());
        if (p.asOf() != null) {
            o.put("asOf", p.asOf().toString());
        }
        return o;
    }
}
