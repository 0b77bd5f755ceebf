package dev.tollgate.meter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;

/**
 * The entity table: entity id → {@link EntityMeter}, an open-addressing hash table with lock-free
 * reads, built for the record path (one hash, one or two array reads, no allocation).
 *
 * <h2>Layout</h2>
 * {@link #SEGMENTS} segments, chosen by the high bits of a seeded 64-bit hash of the id; each holds
 * a {@link Slots}: an array of entities, probed linearly from the low bits, at most half full.
 * Each entity keeps its hash and its id, so a probe compares the hash it finds in the entity (which
 * the record path reads anyway) and, on a match, the id: one array read per probe, no array of
 * hashes beside it.
 * The entity keeps its own id, so a hash collision is resolved by comparing ids. The seed is drawn
 * per table, so nobody can choose ids that collide on purpose.
 *
 * <h2>Who writes, who reads, what publishes what</h2>
 * <ul>
 *   <li>Every change (insert, remove, rehash) runs under its segment's monitor. A slot goes
 *       empty → entity → {@link #tombstone} and never back: the entity (its final id and hash) is
 *       published by a release store, read by an acquire load. Removal stores the tombstone;
 *       entities never move inside one {@code Slots}.</li>
 *   <li>A rehash (when live plus tombstones pass half the slots) builds a new {@code Slots} with
 *       the live entities only and publishes it through the volatile {@link Segment#slots}; the
 *       old one is never written again. A reader still probing the old one finds every entity
 *       inserted before the rehash; one inserted after it is a concurrent insert it may miss,
 *       which {@link #getOrCreate} settles under the monitor.</li>
 *   <li>Readers ({@link #get}, {@link #forEach}) take no lock. They may meet an entity that is
 *       being removed: removal only ever follows its retirement ({@link EntityMeter#RETIRED}),
 *       which the record path detects and answers by looking the id up again.</li>
 * </ul>
 */
final class EntityTable {
    static final int SEGMENTS = 64;
    private static final int SEGMENT_SHIFT = 64 - Integer.numberOfTrailingZeros(SEGMENTS);
    private static final int MIN_SLOTS = 16;
    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(EntityMeter[].class);

    private final long seed;
    private final Segment[] segments = new Segment[SEGMENTS];
    /** Marks a removed entity's slot; never returned. */
    private final EntityMeter tombstone = new EntityMeter(null, 0);

    EntityTable(long seed) {
        this.seed = new SplittableRandom(seed).nextLong() | 1;
        for (int s = 0; s < SEGMENTS; s++) {
            segments[s] = new Segment();
        }
    }

    static final class Slots {
        final EntityMeter[] values;
        final int mask;

        Slots(int size) {
            values = new EntityMeter[size];
            mask = size - 1;
        }
    }

    static final class Segment {
        volatile Slots slots = new Slots(MIN_SLOTS);
        /** Live entities; guarded by the segment's monitor, read racily for sizes. */
        volatile int live;
        /** Live entities plus tombstones; guarded by the segment's monitor. */
        int used;
    }

    /**
     * The seeded 64-bit hash of an id: four chars per round (xor, multiply, rotate, so that a
     * difference in one round is spread by the next in a way that depends on the seed), then a
     * final mix.
     */
    long hash(String id) {
        long h = seed;
        int len = id.length();
        int i = 0;
        for (; i + 4 <= len; i += 4) {
            long w = id.charAt(i) | (long) id.charAt(i + 1) << 16 | (long) id.charAt(i + 2) << 32 | (long) id.charAt(i + 3) << 48;
            h = Long.rotateLeft((h ^ w) * 0x9E3779B97F4A7C15L, 31);
        }
        for (; i < len; i++) {
            h = Long.rotateLeft((h ^ id.charAt(i)) * 0x9E3779B97F4A7C15L, 31);
        }
        h ^= len;
        h ^= h >>> 32;
        h *= 0xD6E8FEB86659FD93L;
        return h ^ (h >>> 29);
    }

    /** The entity of {@code id}, or null; lock-free. */
    EntityMeter get(String id, long h) {
        Slots s = segments[(int) (h >>> SEGMENT_SHIFT)].slots;
        int i = (int) h & s.mask;
        for (;;) {
            EntityMeter v = (EntityMeter) VALUES.getAcquire(s.values, i);
            if (v == null) {
                return null;
            }
            if (v.hash == h && v != tombstone && (v.id == id || v.id.equals(id))) {
                return v;
            }
            i = (i + 1) & s.mask;
        }
    }

    EntityMeter get(String id) {
        return get(id, hash(id));
    }

    /**
     * The entity of {@code id}, created by {@code create} if absent; {@code create} runs under the
     * segment's monitor and may return null (nothing is inserted then, and null is returned).
     */
    EntityMeter getOrCreate(String id, long h, Factory create) {
        Segment seg = segments[(int) (h >>> SEGMENT_SHIFT)];
        synchronized (seg) {
            Slots s = seg.slots;
            int i = (int) h & s.mask;
            for (;;) {
                EntityMeter v = s.values[i];
                if (v == null) {
                    break;
                }
                if (v.hash == h && v != tombstone && v.id.equals(id)) {
                    return v;
                }
                i = (i + 1) & s.mask;
            }
            EntityMeter e = create.create(id, h);
            if (e == null) {
                return null;
            }
            if ((seg.used + 1) * 2 > s.values.length) {
                s = rehash(seg, seg.live + 1);
                i = (int) h & s.mask;
                while (s.values[i] != null) {
                    i = (i + 1) & s.mask;
                }
            }
            VALUES.setRelease(s.values, i, e);
            seg.used++;
            seg.live++;
            return e;
        }
    }

    /** Makes the entity of an id and its hash. */
    interface Factory {
        EntityMeter create(String id, long hash);
    }

    /** Removes {@code e} if it is the entity of its id. */
    boolean remove(EntityMeter e) {
        long h = e.hash;
        Segment seg = segments[(int) (h >>> SEGMENT_SHIFT)];
        synchronized (seg) {
            Slots s = seg.slots;
            int i = (int) h & s.mask;
            for (;;) {
                EntityMeter v = s.values[i];
                if (v == null) {
                    return false;
                }
                if (v == e) {
                    VALUES.setRelease(s.values, i, tombstone);
                    seg.live--;
                    return true;
                }
                i = (i + 1) & s.mask;
            }
        }
    }

    /** Decides, under the segment's monitor, whether to remove an entity. */
    interface Remover {
        /** True to remove {@code e} (the call has retired it already); false keeps it. */
        boolean remove(EntityMeter e);
    }

    /**
     * Offers every entity of segment {@code segment} to {@code remover} under the segment's monitor
     * and removes those it retires; shrinks the segment when it became sparse.
     *
     * @return the entities removed
     */
    int sweep(int segment, Remover remover) {
        Segment seg = segments[segment];
        synchronized (seg) {
            Slots s = seg.slots;
            int removed = 0;
            for (int i = 0; i < s.values.length; i++) {
                EntityMeter v = s.values[i];
                if (v != null && v != tombstone && remover.remove(v)) {
                    VALUES.setRelease(s.values, i, tombstone);
                    removed++;
                }
            }
            seg.live -= removed;
            if (s.values.length > MIN_SLOTS && seg.live * 8 < s.values.length) {
                rehash(seg, seg.live);
            }
            return removed;
        }
    }

    /** A new {@code Slots} for at least {@code live} entities at load ≤ ½, holding the live ones. */
    private Slots rehash(Segment seg, int live) {
        int size = MIN_SLOTS;
        while (size < live * 4) {
            size <<= 1;
        }
        Slots old = seg.slots;
        Slots next = new Slots(size);
        int count = 0;
        for (int k = 0; k < old.values.length; k++) {
            EntityMeter v = old.values[k];
            if (v == null || v == tombstone) {
                continue;
            }
            int i = (int) v.hash & next.mask;
            while (next.values[i] != null) {
                i = (i + 1) & next.mask;
            }
            next.values[i] = v;
            count++;
        }
        seg.used = count;
        seg.slots = next; // volatile: publishes the filled arrays
        return next;
    }

    /** Receives one entity. */
    interface Visitor {
        void visit(String id, EntityMeter e);
    }

    /** Every live entity, lock-free; entities added or removed meanwhile may or may not be seen. */
    void forEach(Visitor visitor) {
        for (Segment seg : segments) {
            Slots s = seg.slots;
            for (int i = 0; i < s.values.length; i++) {
                EntityMeter v = (EntityMeter) VALUES.getAcquire(s.values, i);
                if (v != null && v != tombstone) {
                    visitor.visit(v.id, v);
                }
            }
        }
    }

    int size() {
        int total = 0;
        for (Segment seg : segments) {
            total += seg.live;
        }
        return total;
    }
}
