package dev.tollgate.cluster.postgres;

import java.util.concurrent.Callable;

/**
 * Waits for an effect another thread produces (the replicator delivering, PostgreSQL coming back).
 * Not a sleep: it returns as soon as the condition holds, and fails naming what never happened.
 */
final class Await {
    private static final long TIMEOUT_NANOS = 30_000_000_000L;

    private Await() {
    }

    static void until(Callable<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (Exception e) {
                last = e; // PostgreSQL still coming back
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        throw new AssertionError("never happened within 30 s: " + what + (last == null ? "" : " (last error: " + last + ")"));
    }
}
