package dev.tollgate.gateway.entity;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The identifiers seen for each directory entity (hashed keys, accounts, networks), for the admin
 * API and reports (SPEC §4: reports list every identifier seen). At most {@link #LIMIT} per entity;
 * entities outside the directory are their own identifier and are not kept here. Apart from them,
 * the identifiers by which the directory joined requests into the entity ({@link #joined}: the key,
 * account or network the directory matched) are kept, to tell them from networks merely seen with
 * the entity (where its keys were used from).
 */
public final class SeenIdentifiers {
    static final int LIMIT = 1000;

    private final ConcurrentHashMap<String, Set<String>> seen = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Set<String>> joined = new ConcurrentHashMap<>();

    /** Notes what resolved the request and where it came from. */
    public void note(Resolution r) {
        if (!r.inDirectory()) {
            return;
        }
        Set<String> s = seen.computeIfAbsent(r.entity(), k -> ConcurrentHashMap.newKeySet());
        if (s.size() < LIMIT) {
            s.add(r.identifier());
            s.add(r.network());
            joined.computeIfAbsent(r.entity(), k -> ConcurrentHashMap.newKeySet()).add(r.identifier());
        }
    }

    /** Sorted identifiers of {@code entity} by which the directory joined requests into it (a subset of {@link #of}); none outside it. */
    public List<String> joined(String entity) {
        Set<String> s = joined.get(entity);
        return s == null ? List.of() : s.stream().sorted().toList();
    }

    /** Sorted identifiers of {@code entity}; for an entity outside the directory, itself. */
    public List<String> of(String entity) {
        Set<String> s = seen.get(entity);
        if (s == null) {
            return entity.contains(":") ? List.of(entity) : List.of();
        }
        return s.stream().sorted().toList();
    }
}
