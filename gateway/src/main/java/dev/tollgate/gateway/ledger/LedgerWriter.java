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
import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * Writes the meter's events into the ledger as they happen (SPEC §6): a flag record and the
 * provisional period at the flag, the final period when it becomes final, each with the entity's
 * name, the identifiers seen and the configuration version. The meter calls it before it logs or
 * shows the event, and the ledger returns only once the record is on disk.
 *
 * <p>When the ledger cannot write (full disk), the event still happens in the meter and the proxy
 * goes on; the failure is logged and counted by the ledger, and {@code /readyz} reports it.
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
    public void onFlag(Incident i) {
        ObjectNode flag = JsonNodeFactory.instance.objectNode();
        flag.put("entity", i.entity());
        flag.put("entityName", name(i.entity()));
        flag.put("incident", i.id());
        flag.put("sequence", i.sequence());
        flag.put("flaggedAt", java.time.Instant.ofEpochMilli(i.flaggedAtMillis()).toString());
        flag.put("flagCount", i.flagCount());
        flag.put("threshold", i.evidence().threshold());
        append("flag", flag);
        append("provisional", period(i));
    }

    @Override
    public void onFinal(Incident i) {
        append("final", period(i));
    }

    private ObjectNode period(Incident i) {
        return DamagePeriod.of(i, name(i.entity()), seen.of(i.entity()), configVersion, terms).toJson();
    }

    /**
     * A provisional update (SPEC §6): the open incident {@code i} as the meter gave it at {@code asOf},
     * the full period and evidence, as a {@code provisional} record (the hourly and shutdown updates).
     */
    public void onProvisionalUpdate(Incident i, java.time.Instant asOf) {
        append("provisional", periodOf(i, asOf).toJson());
    }

    /** The period of {@code i} as reports show it, its figures dated {@code asOf}: what the ledger would record now. */
    public DamagePeriod periodOf(Incident i, java.time.Instant asOf) {
        return DamagePeriod.of(i, name(i.entity()), seen.of(i.entity()), configVersion, terms, asOf);
    }

    private String name(String entity) {
        LegalEntity e = directory.get().byId(entity);
        return e == null ? entity : e.name();
    }

    private void append(String type, ObjectNode fields) {
        try {
            ledger.append(type, fields);
        } catch (UncheckedIOException e) {
            // logged and counted by the ledger; the meter goes on
        }
    }
}
