package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import dev.tollgate.meter.ledger.LedgerRecord;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Checks the cluster chain from its first record, in one read-only repeatable-read transaction
 * (one consistent snapshot while gateways keep appending). The answer is a
 * {@link LedgerVerification} as for a local file, with the first bad record's sequence as its
 * {@code badLine}, so the command line prints both the same way.
 */
final class Verifier {
    private Verifier() {
    }

    static LedgerVerification verify(DataSource pool) throws SQLException {
        List<LedgerRecord> sound = new ArrayList<>();
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = c.createStatement()) {
                s.setFetchSize(500);
                String prev = Chain.GENESIS;
                try (ResultSet r = s.executeQuery("SELECT seq, prev, hash, line FROM ledger_record ORDER BY seq")) {
                    while (r.next()) {
                        long expected = sound.size() + 1L;
                        Object o = Chain.open(r.getString(4), expected, prev);
                        String why = o instanceof String reason ? reason
                                : r.getLong(1) != expected ? "the row's seq column is " + r.getLong(1) + ", its record says " + expected
                                : !r.getString(3).equals(((LedgerRecord) o).hash()) || !r.getString(2).equals(prev)
                                        ? "the row's hash or prev column does not match its record" : null;
                        if (why != null) {
                            return broken(c, sound, why);
                        }
                        LedgerRecord rec = (LedgerRecord) o;
                        sound.add(rec);
                        prev = rec.hash();
                    }
                }
                try (ResultSet r = s.executeQuery("SELECT seq, hash FROM ledger_head WHERE id = 1")) {
                    if (!r.next()) {
                        return broken(c, sound, "the head row (table ledger_head) is missing");
                    }
                    long headSeq = r.getLong(1);
                    if (headSeq != sound.size() || !r.getString(2).equals(prev)) {
                        String why = headSeq > sound.size()
                                ? "missing: the chain's head row says " + headSeq + " records ending in " + r.getString(2)
                                        + " (records were removed from its end)"
                                : "the chain's head row says " + headSeq + " records ending in " + r.getString(2) + ", the records say "
                                        + sound.size() + " ending in " + prev;
                        if (headSeq < sound.size()) {
                            List<LedgerRecord> upToHead = new ArrayList<>(sound.subList(0, (int) Math.max(0, headSeq)));
                            return broken(c, upToHead, "record " + (headSeq + 1) + " lies past the chain's head row (written behind "
                                    + "Tollgate's back, or the head row was altered)");
                        }
                        return broken(c, sound, why);
                    }
                }
            }
            c.commit();
        }
        return new LedgerVerification(List.copyOf(sound), 0, null, 0, new byte[0]);
    }

    private static LedgerVerification broken(Connection c, List<LedgerRecord> sound, String why) throws SQLException {
        c.rollback();
        return new LedgerVerification(List.copyOf(sound), sound.size() + 1, why, 0, new byte[0]);
    }
}
