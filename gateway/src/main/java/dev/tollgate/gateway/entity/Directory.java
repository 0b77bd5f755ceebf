package dev.tollgate.gateway.entity;

import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.ConfigNode;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The entity directory (SPEC §4, {@code entities.yaml}): API keys, account ids and networks joined
 * into named legal entities. Immutable; a reload builds a new one. Network lookup takes the
 * longest matching prefix: one hash lookup per distinct prefix length, longest first.
 */
public final class Directory {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Map<String, LegalEntity> byId;
    private final Map<String, LegalEntity> byApiKey;
    private final Map<String, LegalEntity> byAccount;
    /** prefix length → network → entity, longest prefix first; IPv4 and IPv6 apart. */
    private final TreeMap<Integer, Map<Cidr, LegalEntity>> v4;
    private final TreeMap<Integer, Map<Cidr, LegalEntity>> v6;

    private Directory(Map<String, LegalEntity> byId, Map<String, LegalEntity> byApiKey, Map<String, LegalEntity> byAccount,
            TreeMap<Integer, Map<Cidr, LegalEntity>> v4, TreeMap<Integer, Map<Cidr, LegalEntity>> v6) {
        this.byId = byId;
        this.byApiKey = byApiKey;
        this.byAccount = byAccount;
        this.v4 = v4;
        this.v6 = v6;
    }

    public static Directory empty() {
        return new Directory(Map.of(), Map.of(), Map.of(), new TreeMap<>(), new TreeMap<>());
    }

    /**
     * Parses a directory file's text; {@code name} names it in errors.
     *
     * @throws IllegalArgumentException naming the entry and key at fault
     */
    public static Directory parse(String yaml, String name) {
        ConfigNode root = ConfigNode.root(ConfigLoader.parseYaml(yaml, name), name);
        Map<String, LegalEntity> byId = new LinkedHashMap<>();
        Map<String, LegalEntity> byApiKey = new HashMap<>();
        Map<String, LegalEntity> byAccount = new HashMap<>();
        TreeMap<Integer, Map<Cidr, LegalEntity>> v4 = new TreeMap<>(java.util.Comparator.reverseOrder());
        TreeMap<Integer, Map<Cidr, LegalEntity>> v6 = new TreeMap<>(java.util.Comparator.reverseOrder());
        for (ConfigNode e : root.sections("entities")) {
            String id = e.string("id", null);
            if (id == null) {
                throw new IllegalArgumentException(e.key("id") + ": missing (expected: the entity's id, e.g. acme)");
            }
            if (!ID.matcher(id).matches()) {
                throw e.bad("id", id, "letters, digits, '.', '_' or '-', at most 64, starting with a letter or digit");
            }
            LegalEntity entity = new LegalEntity(id, e.string("name", id), e.string("contact", null));
            if (byId.putIfAbsent(id, entity) != null) {
                throw e.bad("id", id, "an id used by one entry only");
            }
            for (String key : e.strings("apiKeys", List.of())) {
                LegalEntity before = byApiKey.putIfAbsent(key, entity);
                if (before != null) {
                    throw e.bad("apiKeys", "…" + last4(key), "each API key in one entity only; also listed for '" + before.id() + "'");
                }
            }
            for (String account : e.strings("accounts", List.of())) {
                LegalEntity before = byAccount.putIfAbsent(account, entity);
                if (before != null) {
                    throw e.bad("accounts", account, "each account in one entity only; also listed for '" + before.id() + "'");
                }
            }
            for (String net : e.strings("networks", List.of())) {
                Cidr cidr = Cidr.parse(e.key("networks"), net);
                Map<Cidr, LegalEntity> level = (cidr.v6() ? v6 : v4).computeIfAbsent(cidr.prefix(), p -> new HashMap<>());
                LegalEntity before = level.putIfAbsent(cidr, entity);
                if (before != null) {
                    throw e.bad("networks", net, "each network in one entity only; also listed for '" + before.id() + "'");
                }
            }
            e.finish();
        }
        root.finish();
        return new Directory(Map.copyOf(byId), Map.copyOf(byApiKey), Map.copyOf(byAccount), v4, v6);
    }

    private static String last4(String key) {
        return key.length() <= 4 ? key : key.substring(key.length() - 4);
    }

    public LegalEntity byId(String id) {
        return byId.get(id);
    }

    public Collection<LegalEntity> entities() {
        return byId.values();
    }

    public LegalEntity byApiKey(String key) {
        return byApiKey.get(key);
    }

    public LegalEntity byAccount(String account) {
        return byAccount.get(account);
    }

    /** The entity of the longest listed network that contains {@code address}, or null. */
    public LegalEntity byAddress(InetAddress address) {
        Cidr one = Cidr.of(address, 128);
        for (Map.Entry<Integer, Map<Cidr, LegalEntity>> level : (one.v6() ? v6 : v4).entrySet()) {
            LegalEntity e = level.getValue().get(one.widen(level.getKey()));
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    public int size() {
        return byId.size();
    }

    /**
     * Per entity id, its identifiers in the form the ledger and reports show them: API keys through
     * {@code showKey} (never in clear), {@code account:ID}, {@code net:CIDR}; sorted.
     */
    public Map<String, java.util.SortedSet<String>> identifiers(java.util.function.Function<String, String> showKey) {
        Map<String, java.util.SortedSet<String>> out = new TreeMap<>();
        byId.keySet().forEach(id -> out.put(id, new java.util.TreeSet<>()));
        byApiKey.forEach((key, e) -> out.get(e.id()).add(showKey.apply(key)));
        byAccount.forEach((account, e) -> out.get(e.id()).add("account:" + account));
        for (TreeMap<Integer, Map<Cidr, LegalEntity>> family : List.of(v4, v6)) {
            family.values().forEach(level -> level.forEach((cidr, e) -> out.get(e.id()).add("net:" + cidr)));
        }
        return out;
    }

    /** Counts for the log line of a load. */
    public String summary() {
        int nets = 0;
        for (Map<Cidr, LegalEntity> m : v4.values()) {
            nets += m.size();
        }
        for (Map<Cidr, LegalEntity> m : v6.values()) {
            nets += m.size();
        }
        return byId.size() + " entities, " + byApiKey.size() + " API keys, " + byAccount.size() + " accounts, " + nets + " networks";
    }
}
