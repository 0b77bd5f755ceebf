package dev.tollgate.gateway.cli;

import dev.tollgate.meter.ledger.LedgerVerification;
import dev.tollgate.meter.report.DamageReport;
import dev.tollgate.meter.report.ReportFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code tollgate report}: the damages report from a data directory alone, while the gateway runs or after. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write the damages report (CSV, JSON or HTML) from the ledger in a data directory, or a cluster's ledger (--config).",
                "Prints the time the figures hold ('as of') to standard error; periods are selected when they overlap [--from, --to)."})
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    LedgerSource source = new LedgerSource();

    @Option(names = "--from", description = "periods overlapping from this date or instant on (e.g. 2026-11-01)")
    String from;

    @Option(names = "--to", description = "periods overlapping up to this date or instant (exclusive)")
    String to;

    @Option(names = "--format", defaultValue = "csv", description = "csv, json or html (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--entity", description = "one entity's periods only")
    String entity;

    @Option(names = "--out", description = "write to this file instead of standard output")
    Path out;

    @Override
    public Integer call() throws IOException {
        ReportFormat f = ReportFormat.of(format, "--format");
        Instant start = DamageReport.bound("--from", from, DamageReport.BEGINNING);
        Instant end = DamageReport.bound("--to", to, DamageReport.END);
        LedgerVerification v = source.read().verification();
        if (v.badLine() > 0) {
            spec.commandLine().getErr().println("tollgate: warning: the ledger is broken at line " + v.badLine() + " (" + v.reason()
                    + "); the report holds the records before it. Run tollgate verify-ledger.");
        }
        DamageReport report = DamageReport.fromLedger(v.records(), start, end, entity, Instant.now());
        // the CSV's header is contract, so the as-of time goes to standard error, for every format alike
        spec.commandLine().getErr().println("tollgate: figures as of " + report.asOf() + (report.hasProvisional()
                ? " (provisional periods as of their latest provisional record in the ledger; a running gateway writes one at least hourly"
                        + " and at shutdown)" : ""));
        byte[] bytes = f.render(report);
        // the anchor: in the JSON and HTML reports themselves; for CSV (whose columns are a contract) here only
        spec.commandLine().getErr().println("tollgate: ledger " + report.ledgerHead());
        if (out != null) {
            Files.write(out, bytes);
            spec.commandLine().getOut().println(out.toAbsolutePath());
        } else {
            PrintWriter w = spec.commandLine().getOut();
            w.print(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
            w.flush();
        }
        return 0;
    }
}
