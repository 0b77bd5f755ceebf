package dev.tollgate.gateway.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.LegalEntity;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.EntityCount;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.WindowExport;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/** The JSON documents of the admin API, with the field names SPEC §7 gives. */
final class AdminViews {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Meter meter;
    private final Supplier<Directory> directory;
    private final SeenIdentifiers seen;

    AdminViews(Meter meter, Supplier<Directory> directory, SeenIdentifiers seen) {
        this.meter = meter;
        this.directory = directory;
        this.seen = seen;
    }

    ArrayNode top(int n) {
        List<Incident> incidents = meter.incidents();
        ArrayNode out = JSON.createArrayNode();
        for (EntityCount c : meter.top(n)) {
            out.add(entity(c.id(), c.posts24h(), c.requests24h(), c.flagged(), incidents));
        }
        return out;
    }

    /** One entity with its hourly series of the last 48 hours. */
    ObjectNode one(String id) {
        ObjectNode e = entity(id, meter.posts24h(id), meter.requests24h(id), meter.flagged(id), meter.incidents());
        WindowExport x = meter.export(id);
        java.util.TreeMap<Long, long[]> hours = new java.util.TreeMap<>();
        for (int k = 0; k < x.posts().length; k++) {
            long start = Math.floorDiv(x.firstBucketMillis() + k * x.bucketMillis(), 3_600_000L) * 3_600_000L;
            long[] pr = hours.computeIfAbsent(start, h -> new long[2]);
            pr[0] += x.posts()[k];
            pr[1] += x.requests()[k];
        }
        ArrayNode hourly = e.putArray("hourly");
        hours.forEach((start, pr) -> hourly.addObject().put("start", Instant.ofEpochMilli(start).toString())
                .put("posts", pr[0]).put("requests", pr[1]));
        return e;
    }

    boolean known(String id) {
        return directory.get().byId(id) != null || meter.posts24h(id) > 0 || meter.requests24h(id) > 0
                || meter.incidents().stream().anyMatch(i -> i.entity().equals(id));
    }

    private ObjectNode entity(String id, long posts, long requests, boolean flagged, List<Incident> all) {
        ObjectNode e = JSON.createObjectNode();
        LegalEntity le = directory.get().byId(id);
        e.put("id", id);
        e.put("name", le == null ? id : le.name());
        if (le != null && le.contact() != null) {
            e.put("contact", le.contact());
        }
        e.put("posts24h", posts);
        e.put("requests24h", requests);
        e.put("flagged", flagged);
        ArrayNode ids = e.putArray("identifiers");
        seen.of(id).forEach(ids::add);
        ArrayNode inc = e.putArray("incidents");
        for (Incident i : all) {
            if (i.entity().equals(id)) {
                inc.add(incident(i));
            }
        }
        return e;
    }

    ArrayNode incidents(long fromMillis, long toMillis) {
        ArrayNode out = JSON.createArrayNode();
        for (Incident i : meter.incidents()) {
            if (i.flaggedAtMillis() >= fromMillis && i.flaggedAtMillis() < toMillis) {
                out.add(incident(i));
            }
        }
        return out;
    }

    static ObjectNode incident(Incident i) {
        ObjectNode o = JSON.createObjectNode();
        o.put("entity", i.entity());
        o.put("sequence", i.sequence());
        o.put("flaggedAt", Instant.ofEpochMilli(i.flaggedAtMillis()).toString());
        o.put("flagCount", i.flagCount());
        o.put("periodStart", Instant.ofEpochMilli(i.periodStartMillis()).toString());
        o.put("periodEnd", Instant.ofEpochMilli(i.periodEndMillis()).toString());
        o.put("status", i.status().label());
        o.put("posts", i.posts());
        o.put("requests", i.requests());
        o.put("amount", i.amount().plain());
        o.put("currency", i.amount().currency().getCurrencyCode());
        return o;
    }
}
