package dev.tollgate.gateway.config;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The canonical text of a JSON value, from which a version hash is taken: object keys sorted
 * (by UTF-16 code units, as {@code jq -S} sorts ASCII keys), no whitespace, decimals written plain.
 * {@code jq -cjS . | sha256sum} gives the same hash for the values Tollgate writes.
 */
public final class CanonicalJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);

    private CanonicalJson() {
    }

    /** A copy of {@code node} whose objects list their keys in sorted order (so that it is written canonically anywhere). */
    public static JsonNode sorted(JsonNode node) {
        if (node.isObject()) {
            List<String> keys = new ArrayList<>();
            node.fieldNames().forEachRemaining(keys::add);
            keys.sort(null);
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            for (String k : keys) {
                o.set(k, sorted(node.get(k)));
            }
            return o;
        }
        if (node.isArray()) {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            node.forEach(x -> a.add(sorted(x)));
            return a;
        }
        return node;
    }

    /** The canonical text: sorted keys, no whitespace. */
    public static String text(JsonNode node) {
        try {
            return JSON.writeValueAsString(sorted(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The SHA-256 of the canonical text (UTF-8), 64 lower-case hex digits. */
    public static String sha256(JsonNode node) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text(node).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java 17 runtime", e);
        }
    }
}
