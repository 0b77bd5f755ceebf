package dev.tollgate.meter.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.damages.DamagesTerms;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One damage period as the ledger records it and reports show it: the figures, the rule and
 * terms used, and the evidence (the per-bucket counts of the 48 hours around the flag) from
 * which anyone can recompute the period and the amount.
 */
public record DamagePeriod(
        String entityId,
        String entityName,
        int sequence,
        String status,
        Instant flaggedAt,
        long flagCount,
        Instant periodStart,
        Instant periodEnd,
        long posts,
        long requests,
        BigDecimal amount,
        String currency,
        String rule,
        long threshold,
        long windowMillis,
        Terms terms,
        Evidence evidence,
        List<String> identifiers,
        List<String> directoryIdentifiers,
        String configVersion,
        Instant asOf,
        long ledgerRecord) {

    /** The price terms: amount = posts × price ÷ unit, rounded as named. */
    public record Terms(BigDecimal price, long unit, String rounding, String currency) {
    }

    /** Per-bucket posts and requests from {@code firstBucket}, one bucket every {@code bucketMillis}. */
    public record Evidence(Instant firstBucket, long bucketMillis, Instant earliestStart, long[] posts, long[] requests) {
    }

    public String incidentId() {
        return entityId + "#" + sequence;
    }

    public boolean isFinal() {
        return "final".equals(status);
    }

    /** From an incident of the meter as it stood at its flag (provisional) or as final. */
    public static DamagePeriod of(Incident i, String entityName, List<String> identifiers, String configVersion, DamagesTerms terms) {
        return of(i, entityName, identifiers, List.of(), configVersion, terms, Instant.ofEpochMilli(i.flaggedAtMillis()));
    }

    /**
     * From an incident of the meter, with what the gateway knows beside it ({@code directoryIdentifiers}: the
     * subset of {@code identifiers} by which the directory joined requests into the entity); {@code asOf}: when
     * the meter gave its figures.
     */
    public static DamagePeriod of(Incident i, String entityName, List<String> identifiers, List<String> directoryIdentifiers,
            String configVersion, DamagesTerms terms, Instant asOf) {
        Incident.Evidence e = i.evidence();
        return new DamagePeriod(i.entity(), entityName, i.sequence(), i.status().label(), Instant.ofEpochMilli(i.flaggedAtMillis()),
                i.flagCount(), Instant.ofEpochMilli(i.periodStartMillis()), Instant.ofEpochMilli(i.periodEndMillis()), i.posts(),
                i.requests(), i.amount().amount(), i.amount().currency().getCurrencyCode(), e.rule(), e.threshold(), e.windowMillis(),
                new Terms(terms.price(), terms.unit(), terms.rounding().configName(), terms.currency().getCurrencyCode()),
                new Evidence(Instant.ofEpochMilli(e.firstBucketMillis()), e.bucketMillis(), Instant.ofEpochMilli(e.earliestStartMillis()),
                        e.posts().clone(), e.requests().clone()),
                List.copyOf(identifiers), List.copyOf(directoryIdentifiers), configVersion,
                i.status() == Incident.Status.FINAL ? null : asOf, 0);
    }

    /** The same period with its figures dated {@code t}. */
    public DamagePeriod withAsOf(Instant t) {
        return new DamagePeriod(entityId, entityName, sequence, status, flaggedAt, flagCount, periodStart, periodEnd, posts, requests, amount,
                currency, rule, threshold, windowMillis, terms, evidence, identifiers, directoryIdentifiers, configVersion, t, ledgerRecord);
    }

    /** The same period as read from the ledger record number {@code seq}. */
    public DamagePeriod withLedgerRecord(long seq) {
        return new DamagePeriod(entityId, entityName, sequence, status, flaggedAt, flagCount, periodStart, periodEnd, posts, requests, amount,
                currency, rule, threshold, windowMillis, terms, evidence, identifiers, directoryIdentifiers, configVersion, asOf, seq);
    }

    /** The identifiers seen with the entity that the directory did not join into it (e.g. the networks its keys were used from). */
    public List<String> seenIdentifiers() {
        return identifiers.stream().filter(x -> !directoryIdentifiers.contains(x)).toList();
    }

    /** The one rule by which a time range selects periods, everywhere (admin API, reports, CLI): the period overlaps {@code [from, to)}. */
    public boolean overlaps(Instant from, Instant to) {
        return periodEnd.isAfter(from) && periodStart.isBefore(to);
    }

    /** The incident this period describes, as the meter lists it. */
    public Incident toIncident() {
        java.util.Currency c = java.util.Currency.getInstance(currency);
        return new Incident(entityId, sequence, flaggedAt.toEpochMilli(), flagCount,
                isFinal() ? Incident.Status.FINAL : Incident.Status.PROVISIONAL, periodStart.toEpochMilli(), periodEnd.toEpochMilli(),
                posts, requests, new dev.tollgate.meter.damages.Money(amount, c),
                new Incident.Evidence(evidence.firstBucket().toEpochMilli(), evidence.bucketMillis(), windowMillis, threshold,
                        evidence.earliestStart().toEpochMilli(), evidence.posts().clone(), evidence.requests().clone(), rule));
    }

    /** The JSON form, as in the ledger (no {@code ledgerRecord}: the record's own {@code seq} says it). */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("entity", entityId);
        o.put("entityName", entityName);
        o.put("incident", incidentId());
        o.put("sequence", sequence);
        o.put("status", status);
        o.put("flaggedAt", flaggedAt.toString());
        o.put("flagCount", flagCount);
        o.put("periodStart", periodStart.toString());
        o.put("periodEnd", periodEnd.toString());
        o.put("posts", posts);
        o.put("requests", requests);
        o.put("amount", amount.toPlainString());
        o.put("currency", currency);
        o.put("rule", rule);
        o.put("threshold", threshold);
        o.put("windowMillis", windowMillis);
        ObjectNode t = o.putObject("terms");
        t.put("price", terms.price().toPlainString());
        t.put("unit", terms.unit());
        t.put("rounding", terms.rounding());
        t.put("currency", terms.currency());
        ObjectNode ev = o.putObject("evidence");
        ev.put("firstBucket", evidence.firstBucket().toString());
        ev.put("bucketMillis", evidence.bucketMillis());
        ev.put("earliestStart", evidence.earliestStart().toString());
        ArrayNode p = ev.putArray("posts");
        for (long x : evidence.posts()) {
            p.add(x);
        }
        ArrayNode r = ev.putArray("requests");
        for (long x : evidence.requests()) {
            r.add(x);
        }
        ArrayNode ids = o.putArray("identifiers");
        identifiers.forEach(ids::add);
        ArrayNode joined = o.putArray("directoryIdentifiers");
        directoryIdentifiers.forEach(joined::add);
        o.put("configVersion", configVersion);
        if (asOf != null) {
            o.put("asOf", asOf.toString());
        }
        return o;
    }

    /** The JSON form in the JSON report: as in the ledger, with {@code ledgerRecord} (the record's seq) when the figures are a record. */
    public ObjectNode toReportJson() {
        ObjectNode o = toJson();
        if (ledgerRecord > 0) {
            o.put("ledgerRecord", ledgerRecord);
        }
        return o;
    }

    /** Reads the JSON form back (from a ledger record). */
    public static DamagePeriod fromJson(JsonNode o) {
        JsonNode t = o.path("terms");
        JsonNode ev = o.path("evidence");
        List<String> ids = new ArrayList<>();
        o.path("identifiers").forEach(n -> ids.add(n.asText()));
        List<String> joined = new ArrayList<>();
        o.path("directoryIdentifiers").forEach(n -> joined.add(n.asText())); // absent in records written before it existed
        return new DamagePeriod(o.path("entity").asText(), o.path("entityName").asText(), o.path("sequence").asInt(),
                o.path("status").asText(), Instant.parse(o.path("flaggedAt").asText()), o.path("flagCount").asLong(),
                Instant.parse(o.path("periodStart").asText()), Instant.parse(o.path("periodEnd").asText()), o.path("posts").asLong(),
                o.path("requests").asLong(), new BigDecimal(o.path("amount").asText()), o.path("currency").asText(),
                o.path("rule").asText(), o.path("threshold").asLong(), o.path("windowMillis").asLong(),
                new Terms(new BigDecimal(t.path("price").asText()), t.path("unit").asLong(), t.path("rounding").asText(),
                        t.path("currency").asText()),
                new Evidence(Instant.parse(ev.path("firstBucket").asText()), ev.path("bucketMillis").asLong(),
                        Instant.parse(ev.path("earliestStart").asText()), longs(ev.path("posts")), longs(ev.path("requests"))),
                List.copyOf(ids), List.copyOf(joined), o.path("configVersion").asText(),
                o.hasNonNull("asOf") ? Instant.parse(o.path("asOf").asText()) : null, o.path("ledgerRecord").asLong(0));
    }

    private static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    /** The sliding count at the end of each evidence bucket, from the evidence alone (a lower bound before a full window is in it). */
    public long[] slidingCounts() {
        int n = (int) (windowMillis / evidence.bucketMillis());
        long[] p = evidence.posts();
        long[] out = new long[p.length];
        long sum = 0;
        for (int k = 0; k < p.length; k++) {
            sum += p[k];
            if (k >= n) {
                sum -= p[k - n];
            }
            out[k] = sum;
        }
        return out;
    }
}
