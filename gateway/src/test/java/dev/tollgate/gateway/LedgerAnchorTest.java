package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerHead;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 3: the chain anchored outside the file. {@code verify-ledger} and every report
 * print the head (record count and last hash); {@code verify-ledger --expect-head} proves that a
 * kept head is still in the chain with everything before it, and fails when a record up to it was
 * changed — even if the whole file was re-chained after the change.
 */
class LedgerAnchorTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(GatewayFixture.T0);

    LedgerHead write(int records) throws Exception {
        try (Ledger l = Ledger.open(dir, clock)) {
            for (int i = 0; i < records; i++) {
                clock.advance(1000);
                l.append("note", JsonNodeFactory.instance.objectNode().put("n", i));
            }
            return l.head();
        }
    }

    @Test
    void verifyLedger_printsTheHead_andExpectHead_provesNothingBeforeItChanged() throws Exception {
        LedgerHead kept = write(3);
        CommandLineTest.Run ok = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString());
        assertThat(ok.exit()).isZero();
        assertThat(ok.out()).contains("head: 3 records, hash " + kept.hash());

        write(2); // the ledger goes on after the head was kept
        CommandLineTest.Run later = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString(), "--expect-head", kept.hash());
        assertThat(later.exit()).isZero();
        assertThat(later.out()).contains("head: 5 records").contains("found as record 3").contains("2 sound records follow it");

        CommandLineTest.Run unknown = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString(), "--expect-head", "ab".repeat(32));
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.out()).contains("NOT FOUND");

        CommandLineTest.Run bad = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString(), "--expect-head", "xyz");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--expect-head: 'xyz' (expected: a head hash of 64 hex digits").doesNotContain("\tat ");
    }

    /** A forger who edits record 2 and recomputes every hash after it gets a sound chain, but not the kept head. */
    @Test
    void aRechainedForgery_passesThePlainCheck_butNotTheKeptHead() throws Exception {
        LedgerHead kept = write(4);
        Path file = Ledger.fileIn(dir);
        List<String> lines = Files.readAllLines(file);
        Files.delete(file);
        try (Ledger forged = Ledger.open(dir, clock)) {
            for (String l : lines) {
                JsonNode r = JSON.readTree(l);
                var fields = JsonNodeFactory.instance.objectNode().put("n", r.get("n").asInt() == 1 ? 100 : r.get("n").asInt());
                forged.append(r.get("type").asText(), fields);
            }
        }
        assertThat(CommandLineTest.run("verify-ledger", "--data-dir", dir.toString()).exit()).as("re-chained: sound on its own").isZero();
        CommandLineTest.Run anchored = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString(), "--expect-head", kept.hash());
        assertThat(anchored.exit()).isEqualTo(1);
        assertThat(anchored.out()).contains("expected head " + kept.hash() + ": NOT FOUND");
    }

    @Test
    void brokenChain_withTheKeptHeadBeforeTheBreak_stillFails() throws Exception {
        LedgerHead kept = write(2);
        write(2);
        Path file = Ledger.fileIn(dir);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(3, lines.get(3).replace("\"n\":1", "\"n\":7"));
        Files.write(file, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
        CommandLineTest.Run r = CommandLineTest.run("verify-ledger", "--data-dir", dir.toString(), "--expect-head", kept.hash());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("BROKEN at line 4").contains("found as record 2");
    }

    @Test
    void everyReportFormat_printsTheHead() throws Exception {
        LedgerHead head = write(2);
        CommandLineTest.Run json = CommandLineTest.run("report", "--data-dir", dir.toString(), "--format", "json");
        JsonNode ledger = JSON.readTree(json.out()).get("ledger");
        assertThat(ledger.get("records").asLong()).isEqualTo(2);
        assertThat(ledger.get("head").asText()).isEqualTo(head.hash());
        CommandLineTest.Run html = CommandLineTest.run("report", "--data-dir", dir.toString(), "--format", "html");
        assertThat(html.out()).contains("id=\"ledger-head\"").contains("2 records, head hash <code>" + head.hash() + "</code>");
        CommandLineTest.Run csv = CommandLineTest.run("report", "--data-dir", dir.toString(), "--format", "csv");
        assertThat(csv.out().trim()).as("the CSV's columns are a contract: unchanged")
                .isEqualTo("entity_id,entity_name,period_start,period_end,status,posts,requests,amount,currency");
        assertThat(csv.err()).contains("tollgate: ledger 2 records, head " + head.hash());
    }
}
