package dev.tollgate.meter;

/**
 * Learns of flags and final damage periods as they happen. Each event is delivered exactly once,
 * by the thread that caused it, outside any lock; implementations must be thread-safe and should
 * be quick (hand slow work such as a ledger fsync to their own thread if needed).
 */
public interface MeterListener {

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
