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
 * The damage periods of a time range, for all entities or one, as the ledger holds them: for each
 * incident its latest record (final, else provisional). A period is in the range if it overlaps
 * {@code [from, to)}. Built from the ledger alone, so the same ledger gives the same report
 * wherever it is read. {@code ledgerHead} is the head of the records it was built from (record
 * count and last hash), printed by every format so that the report is anchored to the chain.
 */
public record DamageReport(Instant generatedAt, Instant from, Instant to, String entity, List<DamagePeriod> periods,
        LedgerHead ledgerHead) {

    /** The range of a report that names no bounds: everything (1970 to the end of 9999). */
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

    public static DamageReport fromLedger(List<LedgerRecord> records, Instant from, Instant to, String entity, Instant now) {
        Map<String, DamagePeriod> latest = new LinkedHashMap<>();
        for (LedgerRecord r : records) {
            if (!r.type().equals("provisional") && !r.type().equals("final")) {
                continue;
            }
            DamagePeriod p = DamagePeriod.fromJson(r.fields());
            DamagePeriod before = latest.get(p.incidentId());
            if (before == null || !before.isFinal()) {
                latest.put(p.incidentId(), p);
            }
        }
        List<DamagePeriod> periods = new ArrayList<>();
        for (DamagePeriod p : latest.values()) {
            boolean inRange = p.periodEnd().isAfter(from) && p.periodStart().isBefore(to);
            if (inRange && (entity == null || entity.equals(p.entityId()))) {
                periods.add(p);
            }
        }
        periods.sort(Comparator.comparing(DamagePeriod::periodStart).thenComparing(DamagePeriod::entityId)
                .thenComparingInt(DamagePeriod::sequence));
        return new DamageReport(now, from, to, entity, List.copyOf(periods), LedgerHead.of(records));
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
