package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** The fields of the ledger's incident records (README, "The ledger's records"), small but complete enough for the report code. */
final class TestRecords {
    static final long HOUR = 3_600_000L;
    static final long WINDOW = 24 * HOUR;

    private TestRecords() {
    }

    static ObjectNode flag(String entity, int sequence, Instant flaggedAt, long count) {
        ObjectNode o = Chain.JSON.createObjectNode();
        o.put("entity", entity);
        o.put("entityName", entity.toUpperCase());
        o.put("incident", entity + "#" + sequence);
        o.put("sequence", sequence);
        o.put("flaggedAt", flaggedAt.toString());
        o.put("flagCount", count);
        o.put("threshold", 100);
        return o;
    }

    /** A damage period of {@code posts} posts, ending at the flag's hour, with hourly evidence. */
    static ObjectNode period(String entity, int sequence, Instant flaggedAt, long posts, String status) {
        ObjectNode o = flag(entity, sequence, flaggedAt, posts);
        o.put("status", status);
        Instant end = flaggedAt.plusMillis(HOUR);
        Instant start = end.minusMillis(WINDOW);
        o.put("periodStart", start.toString());
        o.put("periodEnd", end.toString());
        o.put("posts", posts);
        o.put("requests", posts / 10);
        o.put("amount", posts * 150 + ".00");
        o.put("currency", "USD");
        o.put("rule", "test period");
        o.put("windowMillis", WINDOW);
        ObjectNode terms = o.putObject("terms");
        terms.put("price", "15000");
        terms.put("unit", 100);
        terms.put("rounding", "prorated");
        terms.put("currency", "USD");
        ObjectNode ev = o.putObject("evidence");
        ev.put("firstBucket", start.toString());
        ev.put("bucketMillis", HOUR);
        ev.put("earliestStart", start.toString());
        ArrayNode p = ev.putArray("posts");
        ArrayNode r = ev.putArray("requests");
        for (int i = 0; i < 48; i++) {
            p.add(i == 23 ? posts : 0);
            r.add(i == 23 ? posts / 10 : 0);
        }
        o.putArray("identifiers").add("net:127.0.0.0/24");
        o.putArray("directoryIdentifiers");
        o.put("configVersion", "0".repeat(64));
        if (status.equals("provisional")) {
            o.put("asOf", flaggedAt.toString());
        }
        return o;
    }

    /** A record that is not about incidents (as a gateway's start record), numbered. */
    static ObjectNode other(String node, int i) {
        ObjectNode o = Chain.JSON.createObjectNode();
        o.put("configVersion", "0".repeat(64));
        o.put("upstream", "http://127.0.0.1:1/" + node + "/" + i);
        return o;
    }
}
