package dev.tollgate.meter.persist;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;

/**
 * How the window store opens its files: the one seam where tests put a disk that fills up (a
 * channel that writes part of a buffer and then fails with "No space left on device", as a full
 * file system does). The gateway uses {@link #REAL}.
 */
interface Disk {
    Disk REAL = FileChannel::open;

    FileChannel open(Path file, OpenOption... options) throws IOException;
}
