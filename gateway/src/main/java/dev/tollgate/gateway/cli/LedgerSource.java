package dev.tollgate.gateway.cli;

import dev.tollgate.cluster.ClusterSettings;
import dev.tollgate.cluster.postgres.ClusterLedger;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * Which ledger {@code report} and {@code verify-ledger} read: a data directory's file, or, with
 * {@code --config} of a gateway in cluster mode, the cluster ledger in PostgreSQL (SPEC §9) —
 * offline, read-only. {@code --config} of a single gateway reads its data directory.
 */
final class LedgerSource {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Choice choice;

    static final class Choice {
        @Option(names = "--data-dir", required = true, description = "the gateway's data directory")
        Path dataDir;

        @Option(names = "--config", required = true,
                description = "the gateway's tollgate.yaml: its cluster ledger (PostgreSQL) in cluster mode, else its data directory")
        Path config;
    }

    /** What was read, and how to name it in messages. */
    record Read(LedgerVerification verification, String name, boolean cluster) {
    }

    Read read() throws IOException {
        if (choice.dataDir != null) {
            Path file = VerifyLedgerCommand.ledgerOf(choice.dataDir);
            return new Read(LedgerVerification.of(file), file.toString(), false);
        }
        GatewayConfig config = ConfigLoader.load(choice.config);
        if (!config.clustered()) {
            Path file = VerifyLedgerCommand.ledgerOf(config.dataDir());
            return new Read(LedgerVerification.of(file), file.toString(), false);
        }
        ClusterSettings.Postgres pg = config.cluster().postgres();
        String name = "cluster ledger " + pg.url();
        try (ClusterLedger ledger = ClusterLedger.openReadOnly(new ClusterLedger.Settings(pg.url(), pg.user(), pg.password()))) {
            return new Read(ledger.verify(), name, true);
        } catch (SQLException e) {
            throw new IOException(e.getMessage(), e); // names the key, the URL and the cause already
        }
    }
}
