package dev.tollgate.gateway.ledger;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.LegalEntity;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.report.DamagePeriod;
import java.util.List;
import java.util.function.Supplier;

/**
 * Writes the meter's events into the ledger as they happen (SPEC §6): a flag record and the
 * provisional period at the flag (queued together: one write, both or neither), the final period
 * when it becomes final, each with the entity's name, the identifiers seen (and apart, those the
 * directory joined into the entity) and the configuration version.
 *
 * <p>Threads: the meter calls it on the thread that raised the event — often a Netty event loop.
 * It only builds the records and queues them ({@link Ledger#submitAll}, no I/O); the ledger's own
 * thread writes and fsyncs them and then runs the meter's {@code visible} callback, which is what
 * makes the incident show in the admin API, in block mode and in the log. When the ledger cannot
 * write (full disk), the records stay queued in order and the incident stays invisible until they
 * are durable; the proxy goes on, and {@code /readyz} and the metrics report the backlog.
 */
public final class LedgerWriter implements MeterListener {
    private final Ledger ledger;
    private final Supplier<Directory> directory;
    private final SeenIdentifiers seen;
    private final DamagesTerms terms;
    private final String configVersion;

    public LedgerWriter(Ledger ledger, Supplier<Directory> directory, SeenIdentifiers seen, DamagesTerms terms, String configVersion) {
        this.ledger = ledger;
        this.directory = directory;
        this.seen = seen;
        this.terms = terms;
        this.configVersion = configVersion;
    }

    @Override
    public void onFlag(Incident i, Runnable visible) {
        ObjectNode flag = JsonNodeFactory.instance.objectNode();
        flag.put("entity", i.entity());
        flag.put("entityName", name(i.entity()));
        flag.put("incident", i.id());
        flag.put("sequence", i.sequence());
        flag.put("flaggedAt", java.time.Instant.ofEpochMilli(i.flaggedAtMillis()).toString());
        flag.put("flagCount", i.flagCount());
        flag.put("threshold", i.evidence().threshold());
        ledger.submitAll(List.of("flag", "provisional"), List.of(flag, period(i))).thenRun(visible);
    }

    @Override
    public void onFinal(Incident i, Runnable visible) {
        ledger.submit("final", period(i)).thenRun(visible);
    }

    /** The fields of {@code i}'s final record, as {@link #onFinal} writes them (cluster mode: the claimer's final). */
    public ObjectNode finalFields(Incident i) {
        return period(i);
    }

    private ObjectNode period(Incident i) {
        return DamagePeriod.of(i, name(i.entity()), seen.of(i.entity()), seen.joined(i.entity()), configVersion, terms,
                java.time.Instant.ofEpochMilli(i.flaggedAtMillis())).toJson();
    }

    /**
     * A provisional update (SPEC §6): the open incident {@code i} as the meter gave it at {@code asOf},
     * the full period and evidence, as a {@code provisional} record (the hourly and shutdown updates).
     */
    public void onProvisionalUpdate(Incident i, java.time.Instant asOf) {
        try {
            ledger.append("provisional", periodOf(i, asOf).toJson()); // housekeeping thread: waits until durable
        } catch (java.io.UncheckedIOException e) {
            // logged and counted by the ledger; the record stays queued and is written when the disk takes it
        }
    }

    /** The period of {@code i} as reports show it, its figures dated {@code asOf}: what the ledger would record now. */
    public DamagePeriod periodOf(Incident i, java.time.Instant asOf) {
        return DamagePeriod.of(i, name(i.entity()), seen.of(i.entity()), seen.joined(i.entity()), configVersion, terms, asOf);
    }

    private String name(String entity) {
        LegalEntity e = directory.get().byId(entity);
        return e == null ? entity : e.name();
    }
}
