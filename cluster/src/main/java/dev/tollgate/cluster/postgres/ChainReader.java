package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chain as the reports read it, kept in memory and extended with the records appended since
 * the last read: {@code /api/v1/incidents} asks often, and the chain only grows. Each new record is
 * checked as {@link Verifier} does (its hash, sequence and prev, from the last record read), so a
 * report never holds a record that does not follow the chain; a change to a record already read is
 * for {@link Verifier} (the command line's {@code verify-ledger}) to find. Reads are serialized
 * under the object's monitor; the list handed out is an immutable snapshot.
 */
final class ChainReader {
    private static final Logger log = LoggerFactory.getLogger(ChainReader.class);
    private final DataSource pool;
    // guarded by this
    private List<LedgerRecord> records = List.of();
    private String lastHash = Chain.GENESIS;
    private long brokenAt;

    ChainReader(DataSource pool) {
        this.pool = pool;
    }

    synchronized List<LedgerRecord> records() throws SQLException {
        if (brokenAt > 0) {
            return records;
        }
        List<LedgerRecord> more = new ArrayList<>();
        String prev = lastHash;
        try (Connection c = pool.getConnection();
                PreparedStatement p = c.prepareStatement("SELECT seq, line FROM ledger_record WHERE seq > ? ORDER BY seq")) {
            c.setAutoCommit(false); // lets the driver stream the rows (fetch size)
            p.setFetchSize(500);
            p.setLong(1, records.size());
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    long expected = records.size() + more.size() + 1L;
                    Object o = Chain.open(r.getString(2), expected, prev);
                    if (o instanceof String reason) {
                        brokenAt = expected;
                        log.error("cluster ledger: record {} is not sound ({}); reports hold the {} records before it; run tollgate "
                                + "verify-ledger", expected, reason, expected - 1);
                        break;
                    }
                    LedgerRecord rec = (LedgerRecord) o;
                    more.add(rec);
                    prev = rec.hash();
                }
            }
            c.commit();
        }
        if (!more.isEmpty()) {
            List<LedgerRecord> all = new ArrayList<>(records.size() + more.size());
            all.addAll(records);
            all.addAll(more);
            records = List.copyOf(all);
            lastHash = prev;
        }
        return records;
    }
}
