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

/** {@code tollgate verify-ledger}: checks the hash chain; exit 0 when sound, 1 at the first break. */
@Command(name = "verify-ledger", mixinStandardHelpOptions = true,
        description = "Check the ledger's hash chain record by record; exits non-zero at the first break.")
final class VerifyLedgerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", required = true, description = "the gateway's data directory")
    Path dataDir;

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
        Path file = ledgerOf(dataDir);
        LedgerVerification v = LedgerVerification.of(file);
        PrintWriter out = spec.commandLine().getOut();
        if (v.badLine() > 0) {
            out.printf("%s: BROKEN at line %d (record %d): %s%n", file, v.badLine(), v.records().size() + 1, v.reason());
            out.printf("the %d records before it are sound; the last of them has hash %s%n", v.records().size(), v.lastHash());
            out.flush();
            return 1;
        }
        if (v.tornTail().length > 0) {
            out.printf("%s: %d sound records, then %d bytes of a record cut short (the gateway sets it aside at its next start)%n",
                    file, v.records().size(), v.tornTail().length);
            out.flush();
            return 1;
        }
        out.printf("%s: OK, %d records, hash chain intact; last hash %s%n", file, v.records().size(), v.lastHash());
        out.flush();
        return 0;
    }
}
