package dev.tollgate.gateway.counting;

/**
 * The array a {@link PostCounter} copies a direct buffer's bytes into before scanning them (arrays
 * scan fastest), kept by a client connection for all its responses' counters, so that a count
 * allocates no copy of the body (an 8 KB array per response before). A counter keeps no byte it
 * has passed, so the content matters only within one {@code feed} call: counters on the same
 * thread may share one. Grows to the largest piece seen. Not thread-safe.
 */
public final class ScanScratch {
    private byte[] bytes = new byte[0];

    /** An array of at least {@code n} bytes (its content undefined). */
    byte[] atLeast(int n) {
        if (bytes.length < n) {
            bytes = new byte[Math.max(n, 4096)];
        }
        return bytes;
    }
}
