package dev.tollgate.meter.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.ledger.LedgerHead;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one range rule (a period is selected when it overlaps [from, to)) and the as-of of a report, live and from the ledger. */
class DamageReportTest {
    static final Instant FLAG = Instant.parse("2026-11-24T01:00:00Z");
    static final Instant START = Instant.parse("2026-11-23T01:01:00Z");
    static final Instant END = Instant.parse("2026-11-24T01:01:00Z");

    static DamagePeriod period(String status, long posts, Instant asOf) {
        return new DamagePeriod("acme", "Acme", 1, status, FLAG, 200, START, END, posts, 3, BigDecimal.valueOf(posts * 150, 2), "USD",
                "rule", 150, 86_400_000, new DamagePeriod.Terms(BigDecimal.valueOf(15000), 100, "prorated", "USD"),
                new DamagePeriod.Evidence(START, 60_000, START, new long[] {1}, new long[] {1}), List.of(), List.of(), "v", asOf, 0);
    }

    static LedgerRecord record(long seq, String type, Instant time, DamagePeriod p) {
        return new LedgerRecord(seq, type, time.toString(), p.toJson(), "h" + seq);
    }

    @Test
    void overlaps_atItsBoundaries() {
        DamagePeriod p = period("final", 250, null);
        assertThat(p.overlaps(END, DamageReport.END)).as("from = end").isFalse();
        assertThat(p.overlaps(END.minusMillis(1), DamageReport.END)).isTrue();
        assertThat(p.overlaps(DamageReport.BEGINNING, START)).as("to = start (exclusive)").isFalse();
        assertThat(p.overlaps(DamageReport.BEGINNING, START.plusMillis(1))).isTrue();
        assertThat(p.overlaps(START.plusSeconds(60), START.plusSeconds(120))).as("inside").isTrue();
        assertThat(p.overlaps(START.minusSeconds(60), END.plusSeconds(60))).as("around").isTrue();
    }

    @Test
    void fromLedger_aProvisionalPeriodIsAsOfItsLatestRecord_andTheReportAsOfItsEarliestProvisional() {
        Instant t1 = FLAG;
        Instant t2 = FLAG.plusSeconds(3600);
        List<LedgerRecord> records = List.of(record(1, "provisional", t1, period("provisional", 200, null)),
                record(2, "provisional", t2.plusSeconds(5), period("provisional", 300, t2)), record(3, "stop", t2.plusSeconds(9), period("final", 0, null)));
        DamageReport r = DamageReport.fromLedger(records, DamageReport.BEGINNING, DamageReport.END, null, t2.plusSeconds(7200));
        assertThat(r.periods()).hasSize(1);
        assertThat(r.periods().get(0).posts()).isEqualTo(300);
        assertThat(r.periods().get(0).asOf()).as("the record's asOf field, not its write time").isEqualTo(t2);
        assertThat(r.asOf()).isEqualTo(t2);

        DamageReport old = DamageReport.fromLedger(records.subList(0, 1), DamageReport.BEGINNING, DamageReport.END, null, t2);
        assertThat(old.periods().get(0).asOf()).as("a record without asOf is as of its time").isEqualTo(t1);
    }

    @Test
    void live_replacesProvisionalFigures_neverAFinalRecord() {
        Instant now = FLAG.plusSeconds(600);
        List<LedgerRecord> records = List.of(record(1, "provisional", FLAG, period("provisional", 200, FLAG)));
        DamageReport r = DamageReport.live(DamageReport.latestOf(records).values(), LedgerHead.of(records), List.of(period("provisional", 300, now)), DamageReport.BEGINNING, DamageReport.END, null, now);
        assertThat(r.periods().get(0).posts()).isEqualTo(300);
        assertThat(r.asOf()).isEqualTo(now);
        List<LedgerRecord> withFinal = List.of(records.get(0), record(2, "final", END, period("final", 250, null)));
        DamageReport f = DamageReport.live(DamageReport.latestOf(withFinal).values(), LedgerHead.of(withFinal), List.of(period("final", 999, null)), DamageReport.BEGINNING, DamageReport.END, null, now);
        assertThat(f.periods().get(0).posts()).as("the final record is the truth").isEqualTo(250);
        assertThat(f.hasProvisional()).isFalse();
    }
}
