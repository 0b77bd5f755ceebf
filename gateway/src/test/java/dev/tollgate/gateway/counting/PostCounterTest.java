package dev.tollgate.gateway.counting;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PostCounterTest {

    static long count(String json, int piece) {
        PostCounter c = new PostCounter();
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        for (int at = 0; at < b.length; at += piece) {
            c.feed(ByteBuffer.wrap(b, at, Math.min(piece, b.length - at)));
        }
        c.end();
        return c.complete();
    }

    @Test
    void resultCount_winsOverElements_whereverMetaComes() {
        assertThat(count("{\"data\":[{\"id\":\"1\"},{\"id\":\"2\"}],\"meta\":{\"result_count\":7}}", 5)).isEqualTo(7);
        assertThat(count("{\"meta\":{\"newest_id\":\"9\",\"result_count\":3},\"data\":[1,2,3]}", 1)).isEqualTo(3);
    }

    @Test
    void elementsOfData_whenNoResultCount() {
        assertThat(count("{\"data\":[{\"id\":\"1\",\"x\":[1,2,{\"data\":[5,6]}]},{\"id\":\"2\"},[3],\"s\",4,null]}", 3)).isEqualTo(6);
        assertThat(count("{\"data\":[]}", 2)).isZero();
    }

    @Test
    void dataObject_countsOne_otherShapesCountNone() {
        assertThat(count("{\"data\":{\"id\":\"1\",\"data\":[1,2]}}", 4)).isEqualTo(1);
        assertThat(count("{\"errors\":[{\"title\":\"x\"}]}", 4)).isZero();
        assertThat(count("[{\"data\":[1,2]}]", 4)).isZero();
        assertThat(count("{\"includes\":{\"meta\":{\"result_count\":5}},\"other\":{\"result_count\":9}}", 3)).isZero();
    }

    @Test
    void cutShort_countsOnlyCompleteElements() {
        String json = "{\"data\":[{\"id\":\"0\"},{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"},{\"id\":\"4\"}],\"meta\":{\"result_count\":5}}";
        int cut = json.indexOf("{\"id\":\"3\"") + 4;
        PostCounter c = new PostCounter();
        c.feed(ByteBuffer.wrap(json.getBytes(StandardCharsets.UTF_8), 0, cut));
        assertThat(c.forwarded()).isEqualTo(3);
    }

    /** Counters sharing one copy buffer (a connection's, see ScanScratch), fed from direct buffers in turn, count as if alone. */
    @Test
    void sharedScratch_interleavedDirectPieces_eachCountsItsOwnDocument() {
        String a = "{\"data\":[{\"id\":\"1\",\"t\":\"a [b] {c}\"},{\"id\":\"2\"},{\"id\":\"3\"}]}";
        String b = "{\"data\":[\"x\\\"]\",{\"k\":[1,2]},4,5,6],\"meta\":{\"newest_id\":\"9\"}}";
        SplittableRandom r = new SplittableRandom(7);
        for (int run = 0; run < 200; run++) {
            ScanScratch shared = new ScanScratch();
            PostCounter ca = new PostCounter(shared);
            PostCounter cb = new PostCounter(shared);
            byte[] ba = a.getBytes(StandardCharsets.UTF_8);
            byte[] bb = b.getBytes(StandardCharsets.UTF_8);
            int ia = 0;
            int ib = 0;
            while (ia < ba.length || ib < bb.length) {
                if (ia < ba.length) {
                    int n = Math.min(ba.length - ia, r.nextInt(1, 12));
                    ca.feed(direct(ba, ia, n));
                    ia += n;
                }
                if (ib < bb.length) {
                    int n = Math.min(bb.length - ib, r.nextInt(1, 12));
                    cb.feed(direct(bb, ib, n));
                    ib += n;
                }
            }
            ca.end();
            cb.end();
            assertThat(ca.complete()).isEqualTo(count(a, a.length()));
            assertThat(cb.complete()).isEqualTo(count(b, b.length()));
        }
        assertThat(count(a, a.length())).isEqualTo(3);
        assertThat(count(b, b.length())).isEqualTo(5);
    }

    private static ByteBuffer direct(byte[] b, int from, int n) {
        ByteBuffer d = ByteBuffer.allocateDirect(n + 3);
        d.position(3); // not at offset 0: feed reads from the buffer's position
        d.put(b, from, n);
        d.position(3);
        return d;
    }

    @Test
    void brokenJson_keepsWhatWasCounted() {
        PostCounter c = new PostCounter();
        c.feed(ByteBuffer.wrap("{\"data\":[1,2,}}}".getBytes(StandardCharsets.UTF_8)));
        c.end();
        assertThat(c.broken()).isTrue();
        assertThat(c.complete()).isEqualTo(2);
    }

    @Test
    void anySplitOfTheBytes_givesTheSameCount() {
        SplittableRandom r = new SplittableRandom(7);
        StringBuilder b = new StringBuilder("{\"data\":[");
        for (int i = 0; i < 100; i++) {
            b.append(i == 0 ? "" : ",").append("{\"id\":\"").append(i).append("\",\"text\":\"caf\u00e9 \\\"quoted\\\" ").append(r.nextInt())
                    .append("\",\"m\":{\"a\":[1,2,3]}}");
        }
        String json = b.append("]}").toString();
        for (int piece = 1; piece < 200; piece += 7) {
            assertThat(count(json, piece)).as("piece " + piece).isEqualTo(100);
        }
    }

    @Test
    void jsonContentTypes() {
        assertThat(PostCounter.isJson("application/json; charset=utf-8")).isTrue();
        assertThat(PostCounter.isJson("application/vnd.api+json")).isTrue();
        assertThat(PostCounter.isJson("text/html")).isFalse();
        assertThat(PostCounter.isJson(null)).isFalse();
    }

    /** Random documents, random splits: the scanner agrees with a count over Jackson's tree. */
    @Test
    void agreesWithATreeCount_onRandomDocuments() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        SplittableRandom r = new SplittableRandom(2026);
        for (int doc = 0; doc < 2000; doc++) {
            com.fasterxml.jackson.databind.node.ObjectNode root = m.createObjectNode();
            if (r.nextInt(4) > 0) {
                root.set("data", r.nextInt(5) == 0 ? randomObject(m, r, 2) : randomArray(m, r, 2));
            }
            if (r.nextInt(2) == 0) {
                com.fasterxml.jackson.databind.node.ObjectNode meta = root.putObject("meta");
                meta.put("newest_id", "1\"x\\");
                if (r.nextBoolean()) {
                    meta.put("result_count", r.nextInt(1000));
                }
                meta.set("inner", randomObject(m, r, 1));
            }
            root.set("includes", randomObject(m, r, 2));
            String json = m.writeValueAsString(root);
            com.fasterxml.jackson.databind.JsonNode rc = root.path("meta").path("result_count");
            com.fasterxml.jackson.databind.JsonNode data = root.path("data");
            long expected = rc.isInt() ? rc.asLong() : data.isArray() ? data.size() : data.isObject() ? 1 : 0;
            int piece = 1 + r.nextInt(64);
            assertThat(count(json, piece)).as("doc %d split by %d: %s", doc, piece, json).isEqualTo(expected);
        }
    }

    private static com.fasterxml.jackson.databind.node.ArrayNode randomArray(com.fasterxml.jackson.databind.ObjectMapper m,
            SplittableRandom r, int depth) {
        com.fasterxml.jackson.databind.node.ArrayNode a = m.createArrayNode();
        int n = r.nextInt(6);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(depth > 0 ? 6 : 4)) {
                case 0 -> a.add(r.nextInt(100) - 50);
                case 1 -> a.add("s,\"]}" + r.nextInt());
                case 2 -> a.add(r.nextBoolean());
                case 3 -> a.addNull();
                case 4 -> a.add(randomObject(m, r, depth - 1));
                default -> a.add(randomArray(m, r, depth - 1));
            }
        }
        return a;
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode randomObject(com.fasterxml.jackson.databind.ObjectMapper m,
            SplittableRandom r, int depth) {
        com.fasterxml.jackson.databind.node.ObjectNode o = m.createObjectNode();
        String[] names = {"data", "meta", "result_count", "id", "text", "da\"ta"};
        for (String name : names) {
            if (r.nextInt(3) == 0) {
                o.set(name, depth > 0 && r.nextBoolean() ? randomArray(m, r, depth - 1) : m.getNodeFactory().numberNode(r.nextInt(50)));
            }
        }
        return o;
    }
}
