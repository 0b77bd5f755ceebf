package dev.tollgate.gateway.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.config.CanonicalJson;
import dev.tollgate.gateway.entity.Directory;
import dev.tollgate.gateway.entity.KeyHasher;
import dev.tollgate.gateway.entity.LegalEntity;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The ledger's {@code directory} records (SPEC §4, §6): which identifiers belong to which legal
 * entity, since that decides who pays. One record for the directory as loaded at start when it
 * differs from the one the ledger last recorded (on a new ledger: everything, as added), and one
 * for every accepted reload: per entity the identifiers added and removed, API keys only in their
 * keyed-hash form ({@link KeyHasher}). Folding the records in order gives the directory in force;
 * its {@code version} is the SHA-256 of the canonical JSON of that fold
 * ({@code {"<id>":{"identifiers":[…sorted],"name":"…"},…}}), so anyone can check it.
 *
 * <p>Threads: the constructing thread calls {@link #atStart}, then only the directory's polling
 * thread calls {@link #onReload}; the recorded state is confined to them (the hand-over is the
 * start of the polling executor).
 */
public final class DirectoryRecords {
    /** One entity as recorded: its name and its shown identifiers. */
    record Entry(String name, SortedSet<String> identifiers) {
    }

    private final Ledger ledger;
    private final KeyHasher hasher;
    private Map<String, Entry> recorded = new TreeMap<>();

    public DirectoryRecords(Ledger ledger, KeyHasher hasher) {
        this.ledger = ledger;
        this.hasher = hasher;
    }

    /** The version of the directory last recorded (in force). */
    public String version() {
        return version(recorded);
    }

    /** Takes the directory the ledger last recorded from {@code records}, and records {@code loaded} if it differs. */
    public void atStart(Directory loaded, List<LedgerRecord> records) {
        for (LedgerRecord r : records) {
            if (r.type().equals("directory")) {
                fold(recorded, r.fields());
            }
        }
        Map<String, Entry> now = entries(loaded);
        if (!now.equals(recorded)) {
            write("start", recorded, now);
        }
        recorded = now;
    }

    /** An accepted reload: recorded (also when nothing that decides who pays changed: then with no changes). */
    public void onReload(Directory before, Directory after) {
        Map<String, Entry> now = entries(after);
        write("reload", recorded, now);
        recorded = now;
    }

    private Map<String, Entry> entries(Directory d) {
        Map<String, Entry> out = new TreeMap<>();
        d.identifiers(hasher::show).forEach((id, ids) -> {
            LegalEntity e = d.byId(id);
            out.put(id, new Entry(e.name(), ids));
        });
        return out;
    }

    private void write(String reason, Map<String, Entry> before, Map<String, Entry> after) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.put("reason", reason);
        r.put("version", version(after));
        r.put("entities", after.size());
        ArrayNode changes = r.putArray("changes");
        TreeSet<String> ids = new TreeSet<>(before.keySet());
        ids.addAll(after.keySet());
        for (String id : ids) {
            Entry was = before.get(id);
            Entry is = after.get(id);
            if (is != null && is.equals(was)) {
                continue;
            }
            ObjectNode c = changes.addObject();
            c.put("entity", id);
            c.put("change", was == null ? "added" : is == null ? "removed" : "changed");
            c.put("name", is == null ? was.name() : is.name());
            if (was != null && is != null && !was.name().equals(is.name())) {
                c.put("previousName", was.name());
            }
            ArrayNode added = c.putArray("added");
            ArrayNode removed = c.putArray("removed");
            SortedSet<String> old = was == null ? new TreeSet<>() : was.identifiers();
            SortedSet<String> cur = is == null ? new TreeSet<>() : is.identifiers();
            cur.stream().filter(x -> !old.contains(x)).forEach(added::add);
            old.stream().filter(x -> !cur.contains(x)).forEach(removed::add);
        }
        try {
            ledger.append("directory", r);
        } catch (UncheckedIOException e) {
            // logged and counted by the ledger; the directory goes on
        }
    }

    /** Applies one directory record's changes to {@code state}. */
    static void fold(Map<String, Entry> state, JsonNode record) {
        for (JsonNode c : record.path("changes")) {
            String id = c.path("entity").asText();
            if (c.path("change").asText().equals("removed")) {
                state.remove(id);
                continue;
            }
            Entry was = state.get(id);
            SortedSet<String> ids = was == null ? new TreeSet<>() : new TreeSet<>(was.identifiers());
            c.path("added").forEach(x -> ids.add(x.asText()));
            c.path("removed").forEach(x -> ids.remove(x.asText()));
            state.put(id, new Entry(c.path("name").asText(), ids));
        }
    }

    /** The SHA-256 of the canonical JSON of the directory as recorded. */
    static String version(Map<String, Entry> state) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        state.forEach((id, e) -> {
            ObjectNode x = o.putObject(id);
            x.put("name", e.name());
            ArrayNode a = x.putArray("identifiers");
            e.identifiers().forEach(a::add);
        });
        return CanonicalJson.sha256(o);
    }
}
