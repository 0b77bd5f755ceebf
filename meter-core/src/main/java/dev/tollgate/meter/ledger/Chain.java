package dev.tollgate.meter.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The line format of the ledger and its hash chain. A record is one JSON object on one line:
 * <pre>
 *   {"seq":7,"time":"2026-11-24T10:15:00.123Z","type":"flag", …fields…, "prev":"&lt;hash of record 6&gt;","hash":"&lt;hash of this record&gt;"}
 * </pre>
 * {@code hash} is the SHA-256 (hex) of the line's bytes up to {@code "prev":"…"} and its closing
 * brace — that is, the line without its {@code ,"hash":"…"} member — so any byte changed anywhere
 * breaks the record's own hash, and removing or reordering records breaks {@code prev}/{@code seq}.
 * The first record's {@code prev} is 64 zeros. The cluster ledger in PostgreSQL (cluster module)
 * chains its records with the same format, through this class, so one verifier reads both.
 */
public final class Chain {
    public static final ObjectMapper JSON = new ObjectMapper();
    public static final String GENESIS = "0".repeat(64);
    private static final String HASH_MEMBER = ",\"hash\":\"";
    /** {@code ,"hash":"} + 64 hex + {@code "}} */
    private static final int SUFFIX = HASH_MEMBER.length() + 64 + 2;

    private Chain() {
    }

    /** The line (without newline) for a record whose members up to {@code prev} are in {@code body}. */
    public static String seal(ObjectNode body) {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return text.substring(0, text.length() - 1) + HASH_MEMBER + sha256(text) + "\"}";
    }

    /** The record of {@code line}, or the reason it is not a sound record after {@code prev}. */
    public static Object open(String line, long expectedSeq, String prevHash) {
        if (line.length() <= SUFFIX || !line.endsWith("\"}") || !line.startsWith(HASH_MEMBER, line.length() - SUFFIX)) {
            return "not a sealed record (no hash at its end)";
        }
        String body = line.substring(0, line.length() - SUFFIX) + "}";
        String hash = hashOf(line);
        if (!sha256(body).equals(hash)) {
            return "its content does not match its hash (altered)";
        }
        ObjectNode fields;
        try {
            fields = (ObjectNode) JSON.readTree(body);
        } catch (Exception e) {
            return "not valid JSON";
        }
        long seq = fields.path("seq").asLong(-1);
        if (seq != expectedSeq) {
            return "sequence " + seq + " where " + expectedSeq + " was expected (a record removed or moved)";
        }
        if (!prevHash.equals(fields.path("prev").asText())) {
            return "its prev does not match the hash of the record before it (a record removed, moved or altered)";
        }
        return new LedgerRecord(seq, fields.path("type").asText(), fields.path("time").asText(), fields, hash);
    }

    /** The hash a sealed line ends with. */
    public static String hashOf(String sealed) {
        return sealed.substring(sealed.length() - 66, sealed.length() - 2);
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
