package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.report.DamagePeriod;
import dev.tollgate.meter.report.DamageReport;
import dev.tollgate.meter.report.ReportFormat;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Report figures against the reference model: random histories run through the meter, whose
 * events go into a real ledger; the report built from that ledger alone must list exactly the
 * reference's final periods, with the same figures, and the CSV must say the same.
 */
class ReportPropertyTest {
    @TempDir
    Path dir;

    @Test
    void reportFromTheLedger_matchesTheReferenceModel() throws Exception {
        SplittableRandom seeds = new SplittableRandom(7_2026_11_24L);
        int withPeriods = 0;
        for (int k = 0; k < 150; k++) {
            long seed = seeds.nextLong();
            Path data = dir.resolve("h" + k);
            List<String> types = new ArrayList<>();
            ReferenceMeter ref;
            try (Ledger ledger = Ledger.open(data, Clock.systemUTC())) {
                MeterListener toLedger = new MeterListener() {
                    @Override
                    public void onFlag(Incident i) {
                        ledger.append("flag", com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("incident", i.id()));
                        ledger.append("provisional", DamagePeriod.of(i, "name of " + i.entity(), List.of(), "cfg-test", terms(i)).toJson());
                        types.add("flag");
                    }

                    @Override
                    public void onFinal(Incident i) {
                        ledger.append("final", DamagePeriod.of(i, "name of " + i.entity(), List.of(), "cfg-test", terms(i)).toJson());
                    }
                };
                ref = MeterPropertyTest.runHistory(seed, toLedger);
            }
            DamageReport report = DamageReport.fromLedger(Ledger.open(data, Clock.systemUTC()).records(), Instant.EPOCH,
                    Instant.ofEpochMilli(Long.MAX_VALUE / 4), null, Instant.now());
            List<ReferenceMeter.Ref> fromReport = new ArrayList<>();
            for (DamagePeriod p : report.periods()) {
                if (p.isFinal()) {
                    fromReport.add(new ReferenceMeter.Ref(p.entityId(), p.sequence(), p.flaggedAt().toEpochMilli(), p.flagCount(),
                            Incident.Status.FINAL, p.periodStart().toEpochMilli(), p.periodEnd().toEpochMilli(), p.posts(), p.requests(),
                            p.amount().toPlainString()));
                }
            }
            assertThat(fromReport).as("final periods of seed %d", seed).containsExactlyInAnyOrderElementsOf(ref.finals);
            assertThat(report.periods()).as("one period per flag, seed %d", seed).hasSize(types.size());
            String csv = new String(ReportFormat.CSV.render(report), StandardCharsets.UTF_8);
            for (ReferenceMeter.Ref f : ref.finals) {
                assertThat(csv).contains("," + Instant.ofEpochMilli(f.periodStart()) + "," + Instant.ofEpochMilli(f.periodEnd()) + ",final,"
                        + f.posts() + "," + f.requests() + "," + new BigDecimal(f.amount()).setScale(2) + ",USD");
            }
            withPeriods += ref.finals.isEmpty() ? 0 : 1;
        }
        assertThat(withPeriods).as("histories with a final period").isGreaterThan(20);
    }

    /** The property test's terms: USD 15000 per threshold of posts; the evidence carries the unit. */
    private static DamagesTerms terms(Incident i) {
        return new DamagesTerms(i.amount().currency(), new BigDecimal("15000"), i.evidence().threshold(),
                dev.tollgate.meter.damages.Rounding.PRORATED);
    }
}
