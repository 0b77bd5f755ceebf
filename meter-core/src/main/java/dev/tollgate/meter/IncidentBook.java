package dev.tollgate.meter;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meter's incidents: which entities have one open, the final ones, the sequence numbers, and
 * the rule "durable before visible". An {@link EntityMeter} decides a flag or a final period by one
 * CAS and reports it here; this book tells the {@link MeterListener} and keeps the event out of
 * every view until the listener says its record is durable.
 *
 * <p>Order that the views rely on: a flag goes into {@link #unpublishedFlags} before
 * {@link #open}, and a final into {@link #unpublishedFinals} before it leaves {@link #open}; so a
 * view that finds an entity open and not unpublished sees a durable flag, and an incident is never
 * missing from {@link #incidents} between its provisional and its final form.
 */
final class IncidentBook {
    private static final Logger log = LoggerFactory.getLogger(Meter.class);

    private final MeterListener listener;
    private final long threshold;
    private final ConcurrentHashMap<String, EntityMeter> open = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Incident> finals = new ConcurrentLinkedQueue<>();
    private final ConcurrentHashMap<String, Incident> unpublishedFlags = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Incident> unpublishedFinals = new ConcurrentHashMap<>();
    /** Flags so far per entity ever flagged, so that sequences go on after an entity expired. */
    private final ConcurrentHashMap<String, Integer> sequences = new ConcurrentHashMap<>();
    private final LongAdder flags = new LongAdder();

    IncidentBook(MeterListener listener, long threshold) {
        this.listener = listener;
        this.threshold = threshold;
    }

    void flagged(String entity, EntityMeter e, Incident incident) {
        sequences.merge(entity, incident.sequence(), Math::max);
        unpublishedFlags.put(entity, incident); // hidden until the listener (the ledger) says it is durable
        open.put(entity, e);
        tell(() -> listener.onFlag(incident, () -> flagVisible(entity, incident)), incident);
    }

    private void flagVisible(String entity, Incident incident) {
        unpublishedFlags.remove(entity, incident);
        flags.increment();
        log.warn("flag: entity={} posts24h={} threshold={} at={}", entity, incident.flagCount(), threshold,
                Instant.ofEpochMilli(incident.flaggedAtMillis()));
    }

    void finalized(String entity, EntityMeter e, Incident incident) {
        unpublishedFinals.put(entity, incident);
        open.remove(entity, e);
        tell(() -> listener.onFinal(incident, () -> finalVisible(entity, incident)), incident);
    }

    private void finalVisible(String entity, Incident incident) {
        finals.add(incident);
        unpublishedFinals.remove(entity, incident);
        log.info("damage period final: entity={} period={}..{} posts={} amount={}", entity,
                Instant.ofEpochMilli(incident.periodStartMillis()), Instant.ofEpochMilli(incident.periodEndMillis()),
                incident.posts(), incident.amount());
    }

    /** A listener that fails must not stop the meter: its failure is logged, and it counts it itself. */
    private static void tell(Runnable call, Incident incident) {
        try {
            call.run();
        } catch (RuntimeException ex) {
            log.error("meter listener failed for {} ({})", incident.id(), incident.status().label(), ex);
        }
    }

    /** Puts back what a restart must not lose: the entity's sequence and its open incident. */
    void restore(String entity, EntityMeter e, int sequence, boolean isOpen) {
        sequences.merge(entity, sequence, Math::max);
        if (isOpen) {
            open.put(entity, e);
        }
    }

    void restoreFinals(List<Incident> finalIncidents) {
        finals.addAll(finalIncidents);
    }

    int lastSequence(String entity) {
        return sequences.getOrDefault(entity, 0);
    }

    /** Calls {@code visit} for every entity with an open incident (durable or not). */
    void forEachOpen(java.util.function.BiConsumer<String, EntityMeter> visit) {
        open.forEach(visit);
    }

    boolean flagPending(String entity) {
        return unpublishedFlags.containsKey(entity);
    }

    boolean stillOpen(Incident incident) {
        EntityMeter e = open.get(incident.entity());
        return e != null && e.openSequence() == incident.sequence();
    }

    boolean visiblyFlagged(String entity, EntityMeter e) {
        // hasOpenIncident alone turns true before the flag reaches the book, so it cannot tell
        return (e.hasOpenIncident() && open.get(entity) == e && !unpublishedFlags.containsKey(entity))
                || unpublishedFinals.containsKey(entity);
    }

    /**
     * Every final incident, then every provisional one as {@code provisional} computes it now;
     * oldest flag first.
     */
    List<Incident> incidents(BiFunction<String, EntityMeter, Incident> provisional) {
        // pending finals first: one published meanwhile is then found in finals (and shown once)
        List<Incident> pendingFinals = new ArrayList<>(unpublishedFinals.values());
        List<Incident> all = new ArrayList<>(finals);
        Set<String> finalIds = new HashSet<>();
        all.forEach(i -> finalIds.add(i.id()));
        for (Incident i : pendingFinals) {
            if (!finalIds.contains(i.id())) {
                all.add(stillProvisional(i)); // final in memory, provisional until its record is durable
            }
        }
        open.forEach((id, e) -> {
            Incident inc = unpublishedFlags.containsKey(id) ? null : provisional.apply(id, e);
            if (inc != null) {
                all.add(inc);
            }
        });
        all.sort(Comparator.comparingLong(Incident::flaggedAtMillis).thenComparing(Incident::entity));
        return all;
    }

    private static Incident stillProvisional(Incident i) {
        return new Incident(i.entity(), i.sequence(), i.flaggedAtMillis(), i.flagCount(), Incident.Status.PROVISIONAL,
                i.periodStartMillis(), i.periodEndMillis(), i.posts(), i.requests(), i.amount(), i.evidence());
    }

    /** Provisional incidents as the views show them (durable flags, finals not yet durable). */
    int openCount() {
        int hidden = 0;
        for (String id : unpublishedFlags.keySet()) {
            if (open.containsKey(id)) {
                hidden++;
            }
        }
        return Math.max(0, open.size() - hidden) + unpublishedFinals.size();
    }

    long flagCount() {
        return flags.sum();
    }
}
