package dev.tollgate.gateway.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What {@code /readyz} answers: the gateway is ready when every part it depends on is. Each part
 * has a name ({@code proxy}, {@code ledger}, {@code journal}) and a check that returns null when
 * the part is fine, else a one-line reason for the operator. Probes see only the failing parts'
 * names; the reasons are for {@code /api/v1/status}, behind the admin token.
 *
 * <p>Parts are added while the gateway is built, before the admin API serves; checks are read
 * by the admin API's event loop and must be cheap and thread-safe.
 */
public final class Readiness {
    private final Map<String, Supplier<String>> parts = new LinkedHashMap<>();
    private final Map<String, Supplier<String>> links = new LinkedHashMap<>();

    /** Adds a part; {@code check} returns null while the part is fine, else why it is not. */
    public Readiness part(String name, Supplier<String> check) {
        parts.put(name, check);
        return this;
    }

    /**
     * Adds a shared dependency (cluster mode: {@code redis}, {@code postgres}) whose failure
     * degrades the gateway but leaves it ready (SPEC §9: one shared dependency down must not drain
     * every gateway at once); {@code check} returns null while it is fine, else why and since when.
     */
    public Readiness link(String name, Supplier<String> check) {
        links.put(name, check);
        return this;
    }

    /** The degraded links, name to reason; empty when every link is fine (or there are none). */
    public Map<String, String> degraded() {
        Map<String, String> out = new LinkedHashMap<>();
        links.forEach((name, check) -> {
            String why = check.get();
            if (why != null) {
                out.put(name, why);
            }
        });
        return out;
    }

    public List<String> linkNames() {
        return new ArrayList<>(links.keySet());
    }

    /** The failing parts, name to reason, in the order they were added; empty when ready. */
    public Map<String, String> failing() {
        Map<String, String> failing = new LinkedHashMap<>();
        parts.forEach((name, check) -> {
            String why = check.get();
            if (why != null) {
                failing.put(name, why);
            }
        });
        return failing;
    }

    public boolean ready() {
        return failing().isEmpty();
    }

    /** Every part's name, in order. */
    public List<String> names() {
        return new ArrayList<>(parts.keySet());
    }
}
