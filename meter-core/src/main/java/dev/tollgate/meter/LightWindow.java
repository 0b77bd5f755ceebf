package dev.tollgate.meter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The compact window of an entity with little traffic: up to {@link #CAPACITY} exact buckets,
 * each one packed word, in a {@code long[]} of 64 bytes.
 *
 * <pre>
 *   entry [ tag:27 | frozen:1 | requests:12 | posts:24 ]   tag = relative bucket, 0 = free
 * </pre>
 *
 * <p>The compact form is exact, not an estimate: it keeps the same per-bucket counts as the full
 * ring, only fewer of them. An entity leaves it (see {@link EntityMeter}) as soon as it needs more
 * buckets inside the window than it has entries, a bucket overflows its fields, or its count passes the
 * promotion mark, which lies far below the threshold. Since the promotion copies every bucket
 * exactly, a flag can never be missed or delayed by the compact form: all flags are decided on
 * the full ring, with the same one-bucket bound as everywhere else.
 *
 * <h2>Concurrency</h2>
 * Writers add to an entry of their bucket, or claim a free one (free: empty, or out of the
 * window), by compare-and-set; two writers may claim two entries for one bucket, which sums the
 * same. Promotion and retirement freeze every entry by CAS first (the frozen bit makes every later
 * CAS of a writer fail), then read the frozen values, which can no longer change. A writer that
 * meets a frozen entry goes back to its entity and follows the new state.
 */
final class LightWindow {
    static final int CAPACITY = 6;

    private static final int POST_BITS = 24;
    private static final long POST_MASK = (1L << POST_BITS) - 1;
    private static final int REQ_BITS = 12;
    private static final long REQ_MASK = (1L << REQ_BITS) - 1;
    private static final long FROZEN = 1L << (POST_BITS + REQ_BITS);
    private static final int TAG_SHIFT = POST_BITS + REQ_BITS + 1;

    /** Result: the window is frozen; re-read the entity's state. */
    static final long RESULT_FROZEN = -3;
    /** Result: the record does not fit; promote to the full ring. */
    static final long RESULT_FULL = -4;

    private static final VarHandle ENTRIES = MethodHandles.arrayElementVarHandle(long[].class);

    private LightWindow() {
    }

    static long[] create() {
        return new long[CAPACITY];
    }

    /**
     * Adds to bucket {@code b} (the current bucket) and returns the count of the window that ends
     * with it, or {@link #RESULT_FROZEN} / {@link #RESULT_FULL}.
     */
    static long record(long[] entries, int n, long bucket, long postCount, long requestCount) {
        for (;;) {
            int match = -1;
            int free = -1;
            long matchWord = 0;
            long freeWord = 0;
            long latest = 0;
            for (int i = 0; i < entries.length; i++) {
                long w = (long) ENTRIES.getVolatile(entries, i);
                if ((w & FROZEN) != 0) {
                    return RESULT_FROZEN;
                }
                long t = w >>> TAG_SHIFT;
                latest = Math.max(latest, t);
                if (t == bucket && match < 0) {
                    match = i;
                    matchWord = w;
                } else if ((t == 0 || t <= bucket - n) && free < 0) {
                    free = i;
                    freeWord = w;
                }
            }
            if (latest > bucket) {
                // a clock that stepped back counts in the entity's latest bucket, as the full ring does
                if (bucket <= latest - n) {
                    return FullWindow.RESULT_LATE;
                }
                return record(entries, n, latest, postCount, requestCount);
            }
            int slot;
            long old;
            long posts;
            long reqs;
            if (match >= 0) {
                slot = match;
                old = matchWord;
                posts = (old & POST_MASK) + postCount;
                reqs = ((old >>> POST_BITS) & REQ_MASK) + requestCount;
            } else if (free >= 0) {
                slot = free;
                old = freeWord;
                posts = postCount;
                reqs = requestCount;
            } else {
                return RESULT_FULL;
            }
            if (posts > POST_MASK || reqs > REQ_MASK) {
                return RESULT_FULL;
            }
            long next = (bucket << TAG_SHIFT) | (reqs << POST_BITS) | posts;
            if (ENTRIES.compareAndSet(entries, slot, old, next)) {
                return count(entries, n, bucket);
            }
        }
    }

    /** Posts in the window whose last bucket is {@code b}. */
    static long count(long[] entries, int n, long b) {
        long total = 0;
        for (int i = 0; i < entries.length; i++) {
            long w = (long) ENTRIES.getVolatile(entries, i);
            long t = w >>> TAG_SHIFT;
            if (t > b - n && t <= b) {
                total += w & POST_MASK;
            }
        }
        return total;
    }

    /** Requests in the window whose last bucket is {@code b}. */
    static long requestCount(long[] entries, int n, long b) {
        long total = 0;
        for (int i = 0; i < entries.length; i++) {
            long w = (long) ENTRIES.getVolatile(entries, i);
            long t = w >>> TAG_SHIFT;
            if (t > b - n && t <= b) {
                total += (w >>> POST_BITS) & REQ_MASK;
            }
        }
        return total;
    }

    /** Freezes every entry; afterwards the array never changes. Idempotent. */
    static void freeze(long[] entries) {
        for (int i = 0; i < entries.length; i++) {
            for (;;) {
                long w = (long) ENTRIES.getVolatile(entries, i);
                if ((w & FROZEN) != 0 || ENTRIES.compareAndSet(entries, i, w, w | FROZEN)) {
                    break;
                }
            }
        }
    }

    /** A new, writable copy of frozen entries. */
    static long[] thaw(long[] frozen) {
        long[] copy = new long[frozen.length];
        for (int i = 0; i < frozen.length; i++) {
            copy[i] = ((long) ENTRIES.getVolatile(frozen, i)) & ~FROZEN;
        }
        return copy;
    }

    /** Latest bucket with an entry, 0 when empty. */
    static long lastBucket(long[] entries) {
        long last = 0;
        for (int i = 0; i < entries.length; i++) {
            last = Math.max(last, ((long) ENTRIES.getVolatile(entries, i)) >>> TAG_SHIFT);
        }
        return last;
    }

    /** The full ring holding exactly the frozen entries, with {@code openBucket} open. */
    static FullWindow promote(long[] frozen, int n, long openBucket) {
        long[] tags = new long[frozen.length];
        long[] posts = new long[frozen.length];
        long[] reqs = new long[frozen.length];
        for (int i = 0; i < frozen.length; i++) {
            long w = (long) ENTRIES.getVolatile(frozen, i);
            tags[i] = w >>> TAG_SHIFT;
            posts[i] = w & POST_MASK;
            reqs[i] = (w >>> POST_BITS) & REQ_MASK;
        }
        return FullWindow.of(n, openBucket, tags, posts, reqs);
    }

    /** Posts and requests of bucket {@code x}, for views: {posts, requests}. */
    static long postsAt(long[] entries, long x) {
        long total = 0;
        for (int i = 0; i < entries.length; i++) {
            long w = (long) ENTRIES.getVolatile(entries, i);
            if (w >>> TAG_SHIFT == x) {
                total += w & POST_MASK;
            }
        }
        return total;
    }

    /** Each bucket in {@code [from, to]} with posts or requests, entries of one bucket summed. */
    static void forEachBucket(long[] entries, long from, long to, EntityMeter.BucketSink sink) {
        for (int i = 0; i < entries.length; i++) {
            long t = ((long) ENTRIES.getVolatile(entries, i)) >>> TAG_SHIFT;
            if (t == 0 || t < from || t > to) {
                continue;
            }
            boolean seen = false;
            for (int j = 0; j < i && !seen; j++) {
                seen = ((long) ENTRIES.getVolatile(entries, j)) >>> TAG_SHIFT == t;
            }
            if (!seen) {
                long p = postsAt(entries, t);
                long r = requestsAt(entries, t);
                if (p != 0 || r != 0) {
                    sink.bucket(t, p, r);
                }
            }
        }
    }

    static long requestsAt(long[] entries, long x) {
        long total = 0;
        for (int i = 0; i < entries.length; i++) {
            long w = (long) ENTRIES.getVolatile(entries, i);
            if (w >>> TAG_SHIFT == x) {
                total += (w >>> POST_BITS) & REQ_MASK;
            }
        }
        return total;
    }
}
