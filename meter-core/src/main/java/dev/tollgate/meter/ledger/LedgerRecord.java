package dev.tollgate.meter.ledger;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** One record of the ledger: its position, type, time, its fields (as written) and its hash. */
public record LedgerRecord(long seq, String type, String time, ObjectNode fields, String hash) {
}
