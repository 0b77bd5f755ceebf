package dev.tollgate.meter.persist;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts drained from the meter and not yet in the journal: per entity, in the order the entity
 * was first drained, its buckets with the largest (newest) absolute counts. A batch whose write
 * failed stays here and is written, first, by the next flush that can; later drains of the same
 * entity only raise its counts. Because journal lines hold absolute counts, writing an entity's
 * newest counts in place of the older ones it held is exactly as good as writing both.
 *
 * <p>Memory: one entry per entity and bucket changed while the disk refuses writes (not one per
 * second), so a full disk costs about what those entities' windows cost. Not thread-safe: the
 * store's lock guards it.
 */
final class PendingCounts {
    private final LinkedHashMap<String, TreeMap<Long, long[]>> byEntity = new LinkedHashMap<>();

    void add(String entity, long bucketStartMillis, long posts, long requests) {
        long[] v = byEntity.computeIfAbsent(entity, k -> new TreeMap<>()).computeIfAbsent(bucketStartMillis, k -> new long[2]);
        v[0] = Math.max(v[0], posts);
        v[1] = Math.max(v[1], requests);
    }

    boolean isEmpty() {
        return byEntity.isEmpty();
    }

    int entities() {
        return byEntity.size();
    }

    /** The oldest entities' lines, whole entities, about {@code maxLines} of them; null when nothing is pending. */
    Batch next(int maxLines) {
        if (byEntity.isEmpty()) {
            return null;
        }
        StringBuilder body = new StringBuilder();
        List<String> entities = new ArrayList<>();
        int lines = 0;
        for (Map.Entry<String, TreeMap<Long, long[]>> e : byEntity.entrySet()) {
            if (lines >= maxLines) {
                break;
            }
            entities.add(e.getKey());
            for (Map.Entry<Long, long[]> b : e.getValue().entrySet()) {
                Lines.line(body, e.getKey(), b.getKey(), b.getValue()[0], b.getValue()[1]);
                lines++;
            }
        }
        return new Batch(body, lines, entities.size());
    }

    /** The batch was written: its entities (the first ones) are no longer pending. */
    void written(Batch b) {
        Iterator<String> it = byEntity.keySet().iterator();
        for (int i = 0; i < b.entities(); i++) {
            it.next();
            it.remove();
        }
    }

    /** The lines of the first {@code entities} pending entities. */
    record Batch(CharSequence body, int lines, int entities) {
    }
}
