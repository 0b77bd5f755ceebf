package dev.tollgate.gateway.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A strict reader over one mapping of a parsed YAML file: each getter names a key it knows, and
 * {@link #finish()} rejects every key nobody asked for. Errors name the full key
 * ({@code upstream.connectTimeout}), the value and what was expected.
 */
public final class ConfigNode {
    private final JsonNode node;
    private final String path;
    private final Set<String> known = new LinkedHashSet<>();

    private ConfigNode(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /** The root mapping; {@code what} names the document in errors when it is not a mapping. */
    public static ConfigNode root(JsonNode node, String what) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            throw oneLine(what + " is empty (expected: a YAML mapping)");
        }
        if (!node.isObject()) {
            throw oneLine(what + ": " + node.getNodeType().name().toLowerCase() + " (expected: a YAML mapping of keys)");
        }
        return new ConfigNode(node, "");
    }

    public String key(String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    private JsonNode value(String name) {
        known.add(name);
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? null : v;
    }

    public boolean has(String name) {
        return node.has(name) && !node.get(name).isNull();
    }

    /** The nested mapping {@code name}; an empty one when absent. */
    public ConfigNode section(String name) {
        JsonNode v = value(name);
        if (v == null) {
            return new ConfigNode(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), key(name));
        }
        if (!v.isObject()) {
            throw bad(name, v, "a mapping of keys");
        }
        return new ConfigNode(v, key(name));
    }

    public String string(String name, String dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        if (!v.isValueNode()) {
            throw bad(name, v, "a single value");
        }
        String s = v.asText().trim();
        if (s.isEmpty()) {
            throw bad(name, v, "a non-empty value");
        }
        return s;
    }

    public long integer(String name, long dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.asLong();
        }
        if (v.isTextual() && v.asText().trim().matches("-?\\d{1,18}")) {
            return Long.parseLong(v.asText().trim());
        }
        throw bad(name, v, "a whole number");
    }

    public int integer(String name, int dflt, int min, int max) {
        long x = integer(name, dflt);
        if (x < min || x > max) {
            throw oneLine(key(name) + ": " + x + " (expected: " + min + ".." + max + ")");
        }
        return (int) x;
    }

    public BigDecimal decimal(String name, BigDecimal dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        try {
            return new BigDecimal(v.asText().trim());
        } catch (NumberFormatException e) {
            throw bad(name, v, "a decimal number such as 15000 or 15000.00");
        }
    }

    public boolean bool(String name, boolean dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        throw bad(name, v, "true or false");
    }

    public Duration duration(String name, Duration dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        Duration d = v.isTextual() ? Durations.parse(v.asText()) : null;
        if (d == null) {
            throw bad(name, v, "a duration such as 500ms, 2s, 1m or 24h");
        }
        return d;
    }

    public List<String> strings(String name, List<String> dflt) {
        JsonNode v = value(name);
        if (v == null) {
            return dflt;
        }
        if (v.isValueNode()) {
            return List.of(v.asText().trim());
        }
        if (!v.isArray()) {
            throw bad(name, v, "a list of values");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isValueNode() || e.isNull() || e.asText().isBlank()) {
                throw bad(name, v, "a list of non-empty values");
            }
            out.add(e.asText().trim());
        }
        return out;
    }

    /** The mappings of the list {@code name}, each with its own key path ({@code entities[2]}). */
    public List<ConfigNode> sections(String name) {
        JsonNode v = value(name);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            throw bad(name, v, "a list of mappings");
        }
        List<ConfigNode> out = new ArrayList<>();
        int i = 0;
        for (JsonNode e : v) {
            String at = key(name) + "[" + i++ + "]";
            if (!e.isObject()) {
                throw oneLine(at + ": " + describe(e) + " (expected: a mapping of keys)");
            }
            out.add(new ConfigNode(e, at));
        }
        return out;
    }

    /** Rejects the first key that no getter asked for. */
    public void finish() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw oneLine("unknown key '" + key(name) + "' (expected one of: " + String.join(", ", known) + ")");
            }
        }
    }

    public IllegalArgumentException bad(String name, String value, String expected) {
        return oneLine(key(name) + ": '" + value + "' (expected: " + expected + ")");
    }

    private IllegalArgumentException bad(String name, JsonNode v, String expected) {
        return oneLine(key(name) + ": " + describe(v) + " (expected: " + expected + ")");
    }

    private static String describe(JsonNode v) {
        if (v.isValueNode()) {
            return "'" + v.asText() + "'";
        }
        return v.isArray() ? "a list" : "a mapping";
    }

    /** An error whose message quotes configuration text, kept on one line ({@link #printable}). */
    static IllegalArgumentException oneLine(String message) {
        return new IllegalArgumentException(printable(message));
    }

    /**
     * Text that an error message quotes, on one line: each control character (a newline inside a
     * quoted value, say) written as a Java unicode escape, e.g. {@code \\u000a}.
     */
    public static String printable(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.chars().forEach(c -> b.append(Character.isISOControl(c) ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return b.toString();
    }
}
