package dev.tollgate.meter;

/**
 * Learns of flags and final damage periods as they happen. Each event is delivered exactly once,
 * by the thread that caused it (a record on a Netty event loop, a tick), outside any lock;
 * implementations must be thread-safe and quick: never I/O on the caller's thread.
 *
 * <p>Durable before visible: the meter calls {@link #onFlag(Incident, Runnable)} /
 * {@link #onFinal(Incident, Runnable)} and keeps the event out of every view (incidents, flagged,
 * open-incident count, the block decision, the flag log line) until the listener runs
 * {@code visible} — from any thread, once the event's record is durable. The defaults deliver the
 * plain event and make it visible at once (a listener with nothing to make durable).
 */
public interface MeterListener {

    /** An entity crossed the threshold; run {@code visible} once its record is durable (from any thread). */
    default void onFlag(Incident incident, Runnable visible) {
        onFlag(incident);
        visible.run();
    }

    /** A damage period became final; run {@code visible} once its record is durable (from any thread). */
    default void onFinal(Incident incident, Runnable visible) {
        onFinal(incident);
        visible.run();
    }

    /** An entity crossed the threshold; {@code incident} is provisional. */
    default void onFlag(Incident incident) {
    }

    /** A damage period became final. */
    default void onFinal(Incident incident) {
    }

    /** A listener that ignores every event. */
    static MeterListener none() {
        return new MeterListener() {
        };
    }
}
