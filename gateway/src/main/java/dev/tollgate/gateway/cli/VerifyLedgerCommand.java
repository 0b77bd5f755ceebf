package dev.tollgate.gateway.cli;

import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tollgate verify-ledger}: checks the hash chain; exit 0 when sound, 1 at the first break.
 * Prints the head (record count and last hash) to keep outside the data directory; with
 * {@code --expect-head HASH} it also proves that the record a kept head names is still in the
 * chain, unchanged, with everything before it (exit 1 otherwise).
 */
@Command(name = "verify-ledger", mixinStandardHelpOptions = true,
        description = "Check the ledger's hash chain record by record; exits non-zero at the first break. Prints the head hash "
                + "and record count to keep as an anchor.")
final class VerifyLedgerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    LedgerSource source = new LedgerSource();

    @Option(names = "--expect-head", paramLabel = "HASH",
            description = "a head hash printed earlier (by verify-ledger or a report): check that the chain still holds that record "
                    + "and everything before it unchanged")
    String expectHead;

    /** The ledger file of {@code dataDir}, which must be a Tollgate data directory (named as {@code --data-dir}). */
    static Path ledgerOf(Path dataDir) {
        Path file = Ledger.fileIn(dataDir);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--data-dir: '" + dataDir + "' (expected: a Tollgate data directory; no " + file + ")");
        }
        return file;
    }

    @Override
    public Integer call() throws IOException {
        if (expectHead != null && !expectHead.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("--expect-head: '" + expectHead + "' (expected: a head hash of 64 hex digits, "
                    + "as printed by verify-ledger or a report)");
        }
        LedgerSource.Read read = source.read();
        String file = read.name();
        LedgerVerification v = read.verification();
        PrintWriter out = spec.commandLine().getOut();
        try {
            if (v.badLine() > 0) {
                if (read.cluster()) {
                    out.printf("%s: BROKEN at record %d: %s%n", file, v.badLine(), v.reason());
                } else {
                    out.printf("%s: BROKEN at line %d (record %d): %s%n", file, v.badLine(), v.records().size() + 1, v.reason());
                }
                out.printf("the %d records before it are sound; the last of them has hash %s%n", v.records().size(), v.lastHash());
                expected(out, v);
                return 1;
            }
            if (v.tornTail().length > 0) {
                out.printf("%s: %d sound records, then %d bytes of a record cut short (the gateway sets it aside at its next start)%n",
                        file, v.records().size(), v.tornTail().length);
                out.printf("head: %d records, hash %s%n", v.records().size(), v.lastHash());
                expected(out, v);
                return 1;
            }
            out.printf("%s: OK, %d records, hash chain intact; last hash %s%n", file, v.records().size(), v.lastHash());
            out.printf("head: %d records, hash %s%n", v.records().size(), v.lastHash());
            return expected(out, v) ? 0 : 1;
        } finally {
            out.flush();
        }
    }

    /** With {@code --expect-head}: whether the sound chain holds that record; says so either way. */
    private boolean expected(PrintWriter out, LedgerVerification v) {
        if (expectHead == null) {
            return true;
        }
        long at = v.seqOf(expectHead);
        if (at > 0) {
            out.printf("expected head %s: found as record %d; the %d records up to it are unchanged%s%n", expectHead.toLowerCase(),
                    at, at, at < v.records().size() ? " and " + (v.records().size() - at) + " sound records follow it" : " (it is still the head)");
            return true;
        }
        out.printf("expected head %s: NOT FOUND among the %d sound records: a record up to that head was changed, removed or "
                + "reordered, or the ledger was replaced%n", expectHead.toLowerCase(), v.records().size());
        return false;
    }
}
