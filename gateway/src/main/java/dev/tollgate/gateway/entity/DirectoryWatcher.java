package dev.tollgate.gateway.entity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the directory in force and reloads it when its file changes (SPEC §4). Polled by the
 * gateway every second: a change of content (not only of time stamp) is parsed, and a bad file is
 * rejected, logged once and counted, while the previous directory stays in force.
 *
 * Each accepted reload is told to the {@link #onAccepted} listener (the ledger's {@code directory}
 * record) before the new directory is in force.
 *
 * <p>One thread polls; request threads only read {@link #current()} (a volatile read).
 */
public final class DirectoryWatcher implements Supplier<Directory> {
    private static final Logger log = LoggerFactory.getLogger(DirectoryWatcher.class);

    private final Path file;
    private volatile Directory current;
    private String loadedText;
    private String rejectedText;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong rejects = new AtomicLong();
    /** Told of each accepted reload (before, after) before the new directory is in force; set once before polling starts. */
    private volatile java.util.function.BiConsumer<Directory, Directory> onAccepted = (before, after) -> { };

    private DirectoryWatcher(Path file, Directory initial, String text) {
        this.file = file;
        this.current = initial;
        this.loadedText = text;
    }

    /** Loads {@code file} (null: an empty directory that never changes); a bad file throws. */
    public static DirectoryWatcher open(Path file) throws IOException {
        if (file == null) {
            return new DirectoryWatcher(null, Directory.empty(), "");
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IOException("entities.directory: " + file + ": cannot be read (" + e + ")", e);
        }
        Directory d;
        try {
            d = Directory.parse(text, file.toString());
        } catch (IllegalArgumentException e) {
            String why = e.getMessage();
            throw new dev.tollgate.gateway.config.ConfigException(why.startsWith(file.toString()) ? why : file + ": " + why, e);
        }
        return new DirectoryWatcher(file, d, text);
    }

    @Override
    public Directory get() {
        return current;
    }

    public Directory current() {
        return current;
    }

    /**
     * Reloads if the file's content changed since the last load or rejection.
     *
     * @return true if a new directory is now in force
     */
    public synchronized boolean reloadIfChanged() {
        if (file == null) {
            return false;
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            if (rejectedText == null || !rejectedText.isEmpty()) {
                rejects.incrementAndGet();
                log.error("entity directory {}: cannot be read ({}); the previous directory stays in force", file, e.toString());
                rejectedText = "";
            }
            return false;
        }
        if (text.equals(loadedText) || text.equals(rejectedText)) {
            return false;
        }
        Directory d;
        try {
            d = Directory.parse(text, file.toString());
        } catch (RuntimeException e) {
            rejectedText = text;
            rejects.incrementAndGet();
            log.error("entity directory {} rejected, the previous directory stays in force: {}", file, e.getMessage());
            return false;
        }
        try {
            onAccepted.accept(current, d); // recorded in the ledger before it decides who pays
        } catch (RuntimeException e) {
            log.error("entity directory {}: the reload could not be recorded; it is in force all the same", file, e);
        }
        boolean afterRejection = rejectedText != null;
        current = d;
        loadedText = text;
        rejectedText = null;
        reloads.incrementAndGet();
        log.info("entity directory {} reloaded{}: {}", file, afterRejection ? " (accepted; it replaces the rejected version)" : "",
                d.summary());
        return true;
    }

    /** {@code listener} is told of every accepted reload, on the polling thread, before the new directory is in force. */
    public void onAccepted(java.util.function.BiConsumer<Directory, Directory> listener) {
        this.onAccepted = listener;
    }

    public long reloads() {
        return reloads.get();
    }

    public long rejects() {
        return rejects.get();
    }
}
