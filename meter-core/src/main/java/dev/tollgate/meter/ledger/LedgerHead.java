package dev.tollgate.meter.ledger;

/**
 * Where the ledger's chain stands: how many records it holds and the hash of the last one (64
 * zeros when it is empty). Printed by every report and by {@code tollgate verify-ledger}, so that a
 * copy kept outside the data directory anchors the chain: {@code verify-ledger --expect-head HASH}
 * later proves that nothing up to that record was changed since.
 */
public record LedgerHead(long records, String hash) {

    /** The head after {@code records}, read in order from the first: the last one's sequence and hash. */
    public static LedgerHead of(java.util.List<LedgerRecord> records) {
        if (records.isEmpty()) {
            return new LedgerHead(0, Chain.GENESIS);
        }
        LedgerRecord last = records.get(records.size() - 1);
        return new LedgerHead(last.seq(), last.hash());
    }

    /** {@code 12 records, head 3f2a…} as printed by the command line and the reports. */
    @Override
    public String toString() {
        return records + " records, head " + hash;
    }
}
