package dev.tollgate.gateway.ledger;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The durable provisional updates of SPEC §6: every open incident gets a {@code provisional}
 * record with its period as it stands (full figures and evidence, {@code asOf} the clock's instant)
 * at least every {@link #EVERY_MILLIS} after its previous one, and one more at shutdown; so a report
 * made offline from the data directory is at most an hour behind the gateway, and says as of when.
 *
 * <p>Driven by the gateway's once-a-second tick with its clock; the scan of the meter's incidents
 * runs only when an update is due. Threads: the housekeeping thread calls {@link #tick()}, the
 * closing thread {@link #atShutdown()} after the housekeeping stopped; both are synchronized, and
 * nothing else reads the state.
 */
public final class ProvisionalUpdates {
    /** At most this long between two provisional records of one open incident. */
    public static final long EVERY_MILLIS = 3_600_000L;

    /** Where the open incidents come from: the meter (single gateway), or the incidents this gateway raised (cluster mode). */
    public interface Source {
        /** The incidents as they stand now; only the provisional ones are updated. */
        List<Incident> incidents();

        /** True while {@code incident} is still open: the check before writing anything that must precede its final. */
        boolean stillOpen(Incident incident);

        static Source of(Meter meter) {
            return new Source() {
                @Override
                public List<Incident> incidents() {
                    return meter.incidents();
                }

                @Override
                public boolean stillOpen(Incident incident) {
                    return meter.stillOpen(incident);
                }
            };
        }
    }

    private final Source meter;
    private final LedgerWriter writer;
    private final Clock clock;
    /** Incident id → the as-of time (epoch ms) of its latest provisional record. */
    private final Map<String, Long> latest = new HashMap<>();
    private long nextDue = Long.MIN_VALUE;
    private final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();

    /** {@code restored}: for the open incidents of the ledger, the as-of time of their latest provisional record. */
    public ProvisionalUpdates(Source meter, LedgerWriter writer, Clock clock, Map<String, Instant> restored) {
        this.meter = meter;
        this.writer = writer;
        this.clock = clock;
        restored.forEach((id, t) -> latest.put(id, t.toEpochMilli()));
    }

    /** Writes the updates that are due (call it after the meter's own tick, so that due incidents are final first). */
    public synchronized void tick() {
        long now = clock.millis();
        if (now < nextDue) {
            return;
        }
        long next = now + EVERY_MILLIS;
        Set<String> open = new HashSet<>();
        for (Incident i : meter.incidents()) {
            if (i.status() != Incident.Status.PROVISIONAL || !meter.stillOpen(i)) {
                continue; // final meanwhile (its record queued or written): no provisional one may follow it
            }
            open.add(i.id());
            long last = Math.max(latest.getOrDefault(i.id(), Long.MIN_VALUE), i.flaggedAtMillis());
            if (now - last >= EVERY_MILLIS) {
                writer.onProvisionalUpdate(i, Instant.ofEpochMilli(now));
                written.incrementAndGet();
                last = now;
            }
            latest.put(i.id(), last);
            next = Math.min(next, last + EVERY_MILLIS);
        }
        latest.keySet().retainAll(open);
        nextDue = next;
    }

    /** Provisional updates handed to the ledger so far (for the metric; any thread). */
    public long written() {
        return written.get();
    }

    /** One update of every open incident, as of now: at shutdown, before the {@code stop} record. */
    public synchronized void atShutdown() {
        long now = clock.millis();
        for (Incident i : meter.incidents()) {
            if (i.status() == Incident.Status.PROVISIONAL && meter.stillOpen(i)) {
                writer.onProvisionalUpdate(i, Instant.ofEpochMilli(now));
                written.incrementAndGet();
                latest.put(i.id(), now);
            }
        }
    }
}
