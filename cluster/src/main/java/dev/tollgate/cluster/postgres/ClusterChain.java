package dev.tollgate.cluster.postgres;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The record format of the cluster chain: exactly the local ledger's (README, "The ledger's
 * records"), so one verifier, one {@code python3} line and the report code read both. A record is one
 * JSON object; {@code hash} is the SHA-256 (hex) of its text without the {@code ,"hash":"…"} member;
 * the first record's {@code prev} is 64 zeros. This file repeats the few lines of meter-core's
 * package-private {@code Chain} that seal and open a line, and the cluster tests check that a line
 * the local ledger wrote opens here (the formats cannot drift apart unnoticed).
 */
final class ClusterChain {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String GENESIS = "0".repeat(64);
    private static final String HASH_MEMBER = ",\"hash\":\"";
    /** {@code ,"hash":"} + 64 hex + {@code "}} */
    private static final int SUFFIX = HASH_MEMBER.length() + 64 + 2;

    private ClusterChain() {
    }

    /** The sealed line for a record whose members up to {@code prev} are in {@code body}. */
    static String seal(ObjectNode body) {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return text.substring(0, text.length() - 1) + HASH_MEMBER + sha256(text) + "\"}";
    }

    /** The hash a sealed line ends with. */
    static String hashOf(String sealed) {
        return sealed.substring(sealed.length() - 66, sealed.length() - 2);
    }

    /** The record of {@code line}, or the reason it is not a sound record at {@code expectedSeq} after {@code prevHash}. */
    static Object open(String line, long expectedSeq, String prevHash) {
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

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
