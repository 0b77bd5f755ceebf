package dev.tollgate.meter.ledger;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.report.DamagePeriod;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The incident state a restart takes back from the ledger: per entity, its last final period and
 * its open incident (a flag not yet final), and the final incidents to list again; and for each
 * open incident (by {@link Incident#id()}) the as-of time of its latest provisional record, from
 * which the gateway's hourly provisional updates go on.
 */
public record IncidentHistory(List<Meter.RestoredIncidents> entities, List<Incident> finals, Map<String, java.time.Instant> provisionalAsOf) {

    public static IncidentHistory of(List<LedgerRecord> records) {
        Map<String, DamagePeriod> lastFinal = new LinkedHashMap<>();
        Map<String, DamagePeriod> lastFlag = new LinkedHashMap<>();
        Map<String, java.time.Instant> lastFlagAsOf = new LinkedHashMap<>();
        Map<String, java.time.Instant> asOf = new LinkedHashMap<>();
        List<Incident> finals = new ArrayList<>();
        for (LedgerRecord r : records) {
            if (r.type().equals("final")) {
                DamagePeriod p = DamagePeriod.fromJson(r.fields());
                lastFinal.put(p.entityId(), p);
                finals.add(p.toIncident());
            } else if (r.type().equals("provisional")) {
                DamagePeriod p = DamagePeriod.fromJson(r.fields());
                lastFlag.put(p.entityId(), p);
                lastFlagAsOf.put(p.entityId(), p.asOf() != null ? p.asOf() : java.time.Instant.parse(r.time()));
            }
        }
        List<Meter.RestoredIncidents> out = new ArrayList<>();
        java.util.Set<String> ids = new java.util.LinkedHashSet<>(lastFinal.keySet());
        ids.addAll(lastFlag.keySet());
        for (String id : ids) {
            DamagePeriod fin = lastFinal.get(id);
            DamagePeriod flag = lastFlag.get(id);
            boolean open = flag != null && (fin == null || flag.sequence() > fin.sequence());
            if (open) {
                asOf.put(flag.incidentId(), lastFlagAsOf.get(id));
            }
            out.add(new Meter.RestoredIncidents(id, fin == null ? 0 : fin.sequence(),
                    fin == null ? 0 : fin.periodStart().toEpochMilli(), open ? flag.sequence() : 0,
                    open ? flag.flaggedAt().toEpochMilli() : 0, open ? flag.flagCount() : 0));
        }
        return new IncidentHistory(List.copyOf(out), List.copyOf(finals), Map.copyOf(asOf));
    }

}
