package dev.tollgate.meter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The full-resolution sliding window of one entity: a ring of {@code 2n} bucket words for posts
 * and another for requests, and one word that holds the sum of the closed buckets in the window.
 *
 * <h2>Words</h2>
 * <pre>
 *   post slot  [ tag:27 | sealed:1 | posts:36 ]   tag = relative bucket index, 0 = never used
 *   req slot   [ tag:27 | requests:37 ]
 *   sumWord    [ head:27 | sum:37 ]               sum of posts in closed buckets (head-n+1, head]
 * </pre>
 * The window at bucket {@code c = head + 1} is the {@code n - 1} closed buckets counted by
 * {@code sumWord} plus the open bucket {@code c}: a 24h count costs two reads, never a scan.
 *
 * <h2>Who writes, who reads, what publishes what</h2>
 * <ol>
 *   <li>Writers add only to the open bucket {@code head + 1}, by compare-and-set on its post slot.
 *       A writer whose bucket is later first advances the head (below); a writer whose bucket is
 *       already closed (its clock is behind, or another thread moved on) adds to the open bucket
 *       instead; one older than the window is refused as late. No locks, no allocation.</li>
 *   <li>Any thread may advance the head from {@code h} to {@code t}: it seals bucket {@code h + 1}
 *       (sets the sealed bit by CAS, so no writer can add to it afterwards), computes the new sum
 *       from sealed values only, and publishes it with one CAS on {@code sumWord}. Threads that
 *       race compute the same sum from the same sealed values; one CAS wins, the others retry.
 *       Because a sum only ever contains sealed values, the value subtracted when a bucket leaves
 *       is exactly the value that was added: the sum never drifts and never overcounts.</li>
 *   <li>A slot is reused for bucket {@code x + 2n} only once the head has reached
 *       {@code x + 2n - 1}, so every bucket of the last 48 hours can be read back (evidence).</li>
 *   <li>{@code sumWord == RETIRED} marks a window taken out of the entity table; the CAS that
 *       retires it fails if a writer advanced the head first, and a writer that meets it goes back
 *       to the table.</li>
 * </ol>
 * All slot and sum accesses are volatile-mode VarHandle operations.
 */
final class FullWindow {
    static final int TAG_BITS = 27;
    static final long MAX_TAG = (1L << TAG_BITS) - 1;
    private static final int POST_BITS = 36;
    private static final long POST_MASK = (1L << POST_BITS) - 1;
    private static final long SEALED = 1L << POST_BITS;
    private static final int SUM_BITS = 37;
    private static final long SUM_MASK = (1L << SUM_BITS) - 1;
    static final long RETIRED = -1L;

    /** Result of {@link #record}: the entity was retired; look it up again. */
    static final long RESULT_RETIRED = -1;
    /** Result of {@link #record}: the bucket is older than the window; nothing was counted. */
    static final long RESULT_LATE = -2;

    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle SUM_WORD;

    static {
        try {
            SUM_WORD = MethodHandles.lookup().findVarHandle(FullWindow.class, "sumWord", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int n;
    private final int ringSize;
    /** ⌈2^64 ÷ ringSize⌉: {@code x mod ringSize} is the high word of {@code (modMagic × x) × ringSize} for x below 2^32. */
    private final long modMagic;
    private final long[] posts;
    private final long[] requests;
    @SuppressWarnings("unused") // accessed through SUM_WORD
    private volatile long sumWord;

    /** An empty window whose open bucket is {@code openBucket}. */
    FullWindow(int bucketsPerWindow, long openBucket) {
        this.n = bucketsPerWindow;
        this.ringSize = 2 * bucketsPerWindow;
        this.modMagic = Long.divideUnsigned(-1L, ringSize) + 1;
        this.posts = new long[ringSize];
        this.requests = new long[ringSize];
        this.sumWord = packSum(openBucket - 1, 0);
    }

    /**
     * A window built from exact per-bucket counts (promotion from the light form, restore).
     * Buckets at or before {@code openBucket - 1} are sealed; {@code openBucket} stays open.
     */
    static FullWindow of(int bucketsPerWindow, long openBucket, long[] tags, long[] postCounts, long[] requestCounts) {
        FullWindow w = new FullWindow(bucketsPerWindow, openBucket);
        long sum = 0;
        for (int k = 0; k < tags.length; k++) {
            long x = tags[k];
            if (x <= openBucket - w.ringSize || x > openBucket) {
                continue;
            }
            int i = w.index(x);
            long old = w.posts[i];
            long prior = tag(old) == x ? postsOf(old) : 0;
            long value = Math.min(prior + postCounts[k], POST_MASK);
            w.posts[i] = pack(x, x < openBucket, value);
            long oldReq = w.requests[i];
            long priorReq = tag(oldReq) == x ? (oldReq & SUM_MASK) : 0;
            w.requests[i] = (x << SUM_BITS) | Math.min(priorReq + requestCounts[k], SUM_MASK);
            if (x < openBucket && x > openBucket - w.n) {
                sum += postCounts[k];
            }
        }
        w.sumWord = packSum(openBucket - 1, Math.min(sum, SUM_MASK));
        return w;
    }

    int bucketsPerWindow() {
        return n;
    }

    /**
     * Counts {@code postCount} posts and {@code requestCount} requests in bucket {@code bucket}.
     *
     * @return the window's post count after the record, {@link #RESULT_RETIRED} or
     *         {@link #RESULT_LATE}
     */
    long record(long bucket, long postCount, long requestCount) {
        for (;;) {
            long sw = sumWordVolatile();
            if (sw == RETIRED) {
                return RESULT_RETIRED;
            }
            long head = head(sw);
            long b = bucket;
            if (b > head + 1) {
                advanceTo(b - 1);
                continue;
            }
            if (b <= head) {
                if (b <= head + 1 - n) {
                    return RESULT_LATE;
                }
                b = head + 1; // closed already: count it in the open bucket
            }
            int i = index(b);
            long w = (long) SLOTS.getVolatile(posts, i);
            long t = tag(w);
            long next;
            if (t == b) {
                if ((w & SEALED) != 0) {
                    continue; // sealed under us: the head moved, go again
                }
                next = pack(b, false, Math.min(postsOf(w) + postCount, POST_MASK));
            } else if (t < b) {
                next = pack(b, false, Math.min(postCount, POST_MASK));
            } else {
                continue;
            }
            if (!SLOTS.compareAndSet(posts, i, w, next)) {
                continue;
            }
            if (sumWordVolatile() == RETIRED) {
                return RESULT_RETIRED; // retired under us: the caller counts it again in the entity's successor
            }
            if (requestCount != 0) {
                addRequests(b, requestCount);
            }
            return sum(sw) + postsOf(next);
        }
    }

    private void addRequests(long b, long requestCount) {
        int i = index(b);
        for (;;) {
            long w = (long) SLOTS.getVolatile(requests, i);
            long t = tag(w);
            long next;
            if (t == b) {
                next = (b << SUM_BITS) | Math.min((w & SUM_MASK) + requestCount, SUM_MASK);
            } else if (t < b) {
                next = (b << SUM_BITS) | Math.min(requestCount, SUM_MASK);
            } else {
                return; // the slot already belongs to a later bucket: this bucket left the ring
            }
            if (SLOTS.compareAndSet(requests, i, w, next)) {
                return;
            }
        }
    }

    /** The post count of the window whose open bucket is {@code bucket} (advancing if needed). */
    long count(long bucket) {
        for (;;) {
            long sw = sumWordVolatile();
            if (sw == RETIRED) {
                return 0;
            }
            long head = head(sw);
            if (bucket > head + 1) {
                advanceTo(bucket - 1);
                continue;
            }
            long open = (long) SLOTS.getVolatile(posts, index(head + 1));
            return sum(sw) + (tag(open) == head + 1 ? postsOf(open) : 0);
        }
    }

    /** Request count of the window whose open bucket is {@code bucket}; a scan, for views only. */
    long requestCount(long bucket) {
        long total = 0;
        for (long x = bucket - n + 1; x <= bucket; x++) {
            total += requestsAt(x);
        }
        return total;
    }

    /** The current head (last closed bucket), or {@code Long.MIN_VALUE} once retired. */
    long head() {
        long sw = sumWordVolatile();
        return sw == RETIRED ? Long.MIN_VALUE : head(sw);
    }

    /**
     * Closes every bucket up to {@code target}. Lock-free: sealing is idempotent and the new sum is
     * published with one CAS; a thread that loses the race sees the winner's head and stops or
     * goes on from there.
     *
     * @return false if the window was retired
     */
    boolean advanceTo(long target) {
        for (;;) {
            long sw = sumWordVolatile();
            if (sw == RETIRED) {
                return false;
            }
            long h = head(sw);
            if (h >= target) {
                return true;
            }
            long open = sealBucket(h + 1);
            if (open < 0) {
                continue;
            }
            long newSum;
            if (target - h >= n - 1) {
                newSum = h + 1 > target - n + 1 ? open : 0;
            } else {
                long leaving = 0;
                boolean stale = false;
                for (long x = Math.max(h - n + 2, 1); x <= target - n + 1; x++) {
                    long v = sealedPostsAt(x);
                    if (v < 0) {
                        stale = true;
                        break;
                    }
                    leaving += v;
                }
                if (stale) {
                    continue;
                }
                newSum = sum(sw) + open - leaving;
            }
            if (SUM_WORD.compareAndSet(this, sw, packSum(target, Math.max(0, Math.min(newSum, SUM_MASK))))) {
                return true;
            }
        }
    }

    /** Seals bucket {@code x} and returns its posts; -1 if its slot moved on (the caller retries). */
    private long sealBucket(long x) {
        int i = index(x);
        for (;;) {
            long w = (long) SLOTS.getVolatile(posts, i);
            long t = tag(w);
            if (t < x) {
                return 0; // never written; writers can no longer reach it once the head passes it
            }
            if (t > x) {
                return -1;
            }
            if ((w & SEALED) != 0 || SLOTS.compareAndSet(posts, i, w, w | SEALED)) {
                return postsOf(w);
            }
        }
    }

    /** Posts of closed bucket {@code x}; -1 if its slot already holds a later bucket. */
    private long sealedPostsAt(long x) {
        long w = (long) SLOTS.getVolatile(posts, index(x));
        long t = tag(w);
        if (t > x) {
            return -1;
        }
        return t == x ? postsOf(w) : 0;
    }

    /** Posts counted in bucket {@code x} if it is still in the ring, else 0. */
    long postsAt(long x) {
        long w = (long) SLOTS.getVolatile(posts, index(x));
        return tag(w) == x ? postsOf(w) : 0;
    }

    /** Requests counted in bucket {@code x} if it is still in the ring, else 0. */
    long requestsAt(long x) {
        long w = (long) SLOTS.getVolatile(requests, index(x));
        return (w >>> SUM_BITS) == x ? (w & SUM_MASK) : 0;
    }

    /** Retires the window if its last activity is at or before {@code idleThrough}. */
    boolean retireIfIdle(long idleThrough) {
        long sw = sumWordVolatile();
        if (sw == RETIRED) {
            return true;
        }
        if (head(sw) > idleThrough) {
            return false;
        }
        // A writer may still add to the open bucket head + 1 after this CAS; that bucket is at
        // or before idleThrough + 1, out of every window that can still matter.
        return SUM_WORD.compareAndSet(this, sw, RETIRED);
    }

    /**
     * Retires the window now (eviction). A writer that lands in the open bucket afterwards sees
     * the retirement and records again; one that landed before the call is dropped with the window.
     */
    boolean retire() {
        long sw = sumWordVolatile();
        return sw != RETIRED && SUM_WORD.compareAndSet(this, sw, RETIRED);
    }

    /** The most recent bucket that holds anything (the open bucket if written, else the head). */
    long lastActiveBucket() {
        long sw = sumWordVolatile();
        if (sw == RETIRED) {
            return Long.MIN_VALUE;
        }
        long h = head(sw);
        long open = (long) SLOTS.getVolatile(posts, index(h + 1));
        return tag(open) == h + 1 ? h + 1 : h;
    }

    private long sumWordVolatile() {
        return (long) SUM_WORD.getVolatile(this);
    }

    /** The slot of a bucket: {@code bucket mod ringSize}, by multiplication for buckets below 2^32 (no division on the record path). */
    int index(long bucket) {
        if ((bucket >>> 32) == 0) {
            long low = modMagic * bucket;
            return (int) (Math.multiplyHigh(low, ringSize) + ((low >> 63) & ringSize)); // the unsigned high word
        }
        return (int) Math.floorMod(bucket, (long) ringSize);
    }

    private static long pack(long tag, boolean sealed, long count) {
        return (tag << (POST_BITS + 1)) | (sealed ? SEALED : 0) | count;
    }

    private static long tag(long slot) {
        return slot >>> (POST_BITS + 1);
    }

    private static long postsOf(long slot) {
        return slot & POST_MASK;
    }

    private static long packSum(long head, long sum) {
        return (head << SUM_BITS) | sum;
    }

    private static long head(long sw) {
        return sw >>> SUM_BITS;
    }

    private static long sum(long sw) {
        return sw & SUM_MASK;
    }
}
