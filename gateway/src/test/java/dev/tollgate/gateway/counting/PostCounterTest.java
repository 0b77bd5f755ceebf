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
}
