package dev.tollgate.meter.report;

import dev.tollgate.meter.ledger.LedgerHead;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The damage periods of a time range, for all entities or one: for each incident its best figures
 * at {@code asOf} (SPEC §6). A final period is taken from its ledger record; an open (provisional)
 * one is taken live from the meter while the gateway runs ({@link #live}), else from its latest
 * provisional record in the ledger ({@link #fromLedger}), which the gateway rewrites at least
 * hourly and at shutdown. A period is selected when it overlaps {@code [from, to)}
 * ({@link DamagePeriod#overlaps}), the one rule of the admin API, the reports and the CLI.
 *
 * <p>{@code asOf} is the instant up to which every figure of the report is known: the earliest
 * as-of of its provisional periods, else (offline) the time of the newest ledger record read or
 * (online) the instant the meter was read. {@code ledgerHead} is the head of the ledger records it
 * was built from (record count and last hash), printed by every format so that the report is
 * anchored to the chain.
 */
public record DamageReport(Instant generatedAt, Instant asOf, Instant from, Instant to, String entity, List<DamagePeriod> periods,
        LedgerHead ledgerHead) {

    /**
     * The range of a report that names no bounds: everything (1970 to the end of 9999). These
     * sentinels are never shown: reports print such a bound as open ({@link #openFrom}, {@link #openTo}).
     */
    public static final Instant BEGINNING = Instant.EPOCH;
    public static final Instant END = Instant.ofEpochMilli(253_402_300_800_000L);

    /**
     * A bound of a report's range as users write it: a date ({@code 2026-11-01}, midnight UTC) or
     * an instant ({@code 2026-11-01T10:00:00Z}); {@code dflt} when blank. {@code key} names it in the error.
     */
    public static Instant bound(String key, String text, Instant dflt) {
        if (text == null || text.isBlank()) {
            return dflt;
        }
        String s = text.trim();
        try {
            return s.length() == 10 ? java.time.LocalDate.parse(s).atStartOfDay(java.time.ZoneOffset.UTC).toInstant() : Instant.parse(s);
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException(key + ": '" + s + "' (expected: a date like 2026-11-01 or an instant like 2026-11-01T10:00:00Z)");
        }
    }

    /** Total amount and posts of one entity, per currency. */
    public record EntityTotal(String entityId, String entityName, String currency, int periods, long posts, BigDecimal amount) {
    }

    /**
     * From the ledger alone (offline, or another process): each provisional period as of its latest
     * provisional record ({@code asOf} field, else the record's time).
     */
    public static DamageReport fromLedger(List<LedgerRecord> records, Instant from, Instant to, String entity, Instant now) {
        Map<String, DamagePeriod> latest = latestOf(records);
        Instant newest = records.isEmpty() ? now : Instant.parse(records.get(records.size() - 1).time());
        return select(latest.values(), LedgerHead.of(records), from, to, entity, now, newest);
    }

    /**
     * While the gateway runs: the ledger's periods ({@code recorded}, from {@link #latestOf}), each
     * incident the meter gives in {@code live} replacing its recorded one unless that is final
     * ({@code live}: the meter's incidents at {@code now}, open ones with {@code asOf == now}).
     */
    public static DamageReport live(java.util.Collection<DamagePeriod> recorded, LedgerHead head, List<DamagePeriod> live, Instant from,
            Instant to, String entity, Instant now) {
        Map<String, DamagePeriod> latest = new LinkedHashMap<>();
        recorded.forEach(p -> latest.put(p.incidentId(), p));
        for (DamagePeriod p : live) {
            DamagePeriod before = latest.get(p.incidentId());
            if (before == null || !before.isFinal()) {
                latest.put(p.incidentId(), p);
            }
        }
        return select(latest.values(), head, from, to, entity, now, now);
    }

    /**
     * For each incident (by {@link DamagePeriod#incidentId()}), its latest record: the final one,
     * else the latest provisional one, dated by its record's time when it has no {@code asOf}.
     */
    public static Map<String, DamagePeriod> latestOf(List<LedgerRecord> records) {
        Map<String, DamagePeriod> latest = new LinkedHashMap<>();
        for (LedgerRecord r : records) {
            if (!r.type().equals("provisional") && !r.type().equals("final")) {
                continue;
            }
            DamagePeriod p = DamagePeriod.fromJson(r.fields()).withLedgerRecord(r.seq());
            if (!p.isFinal() && p.asOf() == null) {
                p = p.withAsOf(Instant.parse(r.time()));
            }
            DamagePeriod before = latest.get(p.incidentId());
            if (before == null || !before.isFinal()) {
                latest.put(p.incidentId(), p);
            }
        }
        return latest;
    }

    private static DamageReport select(Iterable<DamagePeriod> all, LedgerHead head, Instant from, Instant to, String entity, Instant now,
            Instant known) {
        List<DamagePeriod> periods = new ArrayList<>();
        Instant asOf = known;
        for (DamagePeriod p : all) {
            if (p.overlaps(from, to) && (entity == null || entity.equals(p.entityId()))) {
                periods.add(p);
                if (!p.isFinal() && p.asOf().isBefore(asOf)) {
                    asOf = p.asOf();
                }
            }
        }
        periods.sort(Comparator.comparing(DamagePeriod::periodStart).thenComparing(DamagePeriod::entityId)
                .thenComparingInt(DamagePeriod::sequence));
        return new DamageReport(now, asOf, from, to, entity, List.copyOf(periods), head);
    }

    /** True when the range has no lower bound (none was given): every period up to {@link #to}. */
    public boolean openFrom() {
        return !from.isAfter(BEGINNING);
    }

    /** True when the range has no upper bound (none was given): every period from {@link #from} on. */
    public boolean openTo() {
        return !to.isBefore(END);
    }

    /** True while some period of the report is provisional (its figures may still grow). */
    public boolean hasProvisional() {
        return periods.stream().anyMatch(p -> !p.isFinal());
    }

    public List<EntityTotal> totals() {
        Map<String, EntityTotal> t = new TreeMap<>();
        for (DamagePeriod p : periods) {
            String key = p.entityId() + "\u0000" + p.currency();
            EntityTotal before = t.get(key);
            t.put(key, before == null ? new EntityTotal(p.entityId(), p.entityName(), p.currency(), 1, p.posts(), p.amount())
                    : new EntityTotal(p.entityId(), p.entityName(), p.currency(), before.periods() + 1, before.posts() + p.posts(),
                            before.amount().add(p.amount())));
        }
        return new ArrayList<>(t.values());
    }

    /** Total amount per currency. */
    public Map<String, BigDecimal> grandTotals() {
        Map<String, BigDecimal> t = new TreeMap<>();
        for (DamagePeriod p : periods) {
            t.merge(p.currency(), p.amount(), BigDecimal::add);
        }
        return t;
    }
}
