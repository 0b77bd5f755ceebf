package dev.tollgate.gateway;

import java.util.function.LongSupplier;

/**
 * Waits for an effect the gateway produces on its own thread (a charge lands just after the
 * response's last byte was written). Not a sleep: it returns as soon as the value is there, and
 * fails with the value seen if it never is.
 */
final class Await {
    private Await() {
    }

    static void value(LongSupplier actual, long expected, String what) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        long seen;
        while ((seen = actual.getAsLong()) != expected) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": expected " + expected + " but was " + seen);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Waits (at most 5 s) until {@code condition} holds, e.g. a flag shown once its record is durable. */
    static void isTrue(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Waits at most {@code seconds} until {@code condition} holds, polling every 20 ms (for effects across processes and servers). */
    static void isTrue(java.util.function.BooleanSupplier condition, String what, int seconds) {
        isTrue(condition, what, seconds, () -> "");
    }

    /** As above; on failure the message also shows {@code seen} (what the test saw last). */
    static void isTrue(java.util.function.BooleanSupplier condition, String what, int seconds, java.util.function.Supplier<String> seen) {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened within " + seconds + " s: " + what + "; seen: " + seen.get());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
    }
}
