package dev.tollgate.benchmarks;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Connections that cost a server without asking it anything, for the slow-client benchmark and
 * the soak: one thread, one selector, thousands of non-blocking sockets, loopback only.
 *
 * <pre>
 *   hold HOST:PORT IDLE SLOWLORIS SECONDS [FIRST_SOURCE]
 *     keeps IDLE connections that send nothing and SLOWLORIS connections that send a request head
 *     one byte a second (never finishing it) open for SECONDS, reopening each as soon as the
 *     server closes it; prints "held" once all are open, then at the end how many the server
 *     closed, how many of the slowloris ones were answered 408, and when (from each one's first byte)
 *   flood HOST:PORT CONNECTIONS SOURCES SECONDS [FIRST_SOURCE]
 *     opens CONNECTIONS connections as fast as it can, from SOURCES loopback addresses
 *     (127.0.0.FIRST_SOURCE, +1, ...), holds them for SECONDS; prints how many were accepted
 *     and still open at the end and how many the server closed at once (refused)
 * </pre>
 * Source addresses start at 127.0.0.10 by default (the per-address cap of the server under test
 * applies to each); the ordinary client of the benchmark runs from 127.0.0.1.
 *
 * <p>With {@code -Dhostile.activityLog=FILE}, every pass of the loop that did something writes one
 * line there: {@code EPOCH_MILLIS trickled=N trickleUs=N closed=N closeUs=N} (bytes trickled and
 * connections closed by the server and reopened in that pass, and how long each part took), so
 * that the times this client was busy can be set beside the ordinary client's slow responses.
 */
public final class HostileConnections {
    private static final byte[] HEAD = "GET /2/tweets/search/recent HTTP/1.1\r\nHost: tollgate\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
    private static final long TRICKLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private enum Kind { IDLE, SLOWLORIS, FLOOD }

    private static final class Conn {
        final Kind kind;
        final SocketChannel ch;
        long firstByteNanos;
        long nextTrickleNanos;
        final ByteBuffer in = ByteBuffer.allocate(64);
        boolean connected;

        Conn(Kind kind, SocketChannel ch) {
            this.kind = kind;
            this.ch = ch;
        }
    }

    private final Selector selector;
    private final InetSocketAddress target;
    private final int sources;
    private final int firstSource;
    private int next;
    private final List<Conn> slow = new ArrayList<>();
    private long[] closeMillis = new long[1024];
    private int closes;
    private long slowlorisClosed;
    private long answered408;
    private long idleClosed;
    private long floodClosed;
    private long connectFailures;
    /** Connections the server closed in the current pass of the loop (for the activity log). */
    private int closedThisPass;
    private final PrintStream activity;

    private HostileConnections(InetSocketAddress target, int sources, int firstSource) throws IOException {
        this.selector = Selector.open();
        this.target = target;
        this.sources = sources;
        this.firstSource = firstSource;
        String log = System.getProperty("hostile.activityLog");
        this.activity = log == null ? null : new PrintStream(new FileOutputStream(log), true, StandardCharsets.US_ASCII);
    }

    public static void main(String[] args) throws Exception {
        String[] hp = args[1].split(":");
        InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(hp[0]), Integer.parseInt(hp[1]));
        switch (args[0]) {
            case "hold" -> {
                int idle = Integer.parseInt(args[2]);
                int slowloris = Integer.parseInt(args[3]);
                int seconds = Integer.parseInt(args[4]);
                int first = args.length > 5 ? Integer.parseInt(args[5]) : 10;
                // 500 connections per source address, so the per-address cap (1,024 by default) is not what closes them
                int sources = Math.max(1, (idle + slowloris + 499) / 500);
                new HostileConnections(target, sources, first).hold(idle, slowloris, seconds);
            }
            case "flood" -> {
                int n = Integer.parseInt(args[2]);
                int sources = Integer.parseInt(args[3]);
                int seconds = Integer.parseInt(args[4]);
                int first = args.length > 5 ? Integer.parseInt(args[5]) : 10;
                new HostileConnections(target, sources, first).flood(n, seconds);
            }
            default -> throw new IllegalArgumentException("expected hold or flood, got " + args[0]);
        }
    }

    private Conn open(Kind kind) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.SO_LINGER, 0); // closed by reset: no TIME_WAIT piles up on our side
        ch.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) (firstSource + next++ % sources)}), 0));
        Conn c = new Conn(kind, ch);
        if (ch.connect(target)) {
            connected(c);
            ch.register(selector, SelectionKey.OP_READ, c);
        } else {
            ch.register(selector, SelectionKey.OP_CONNECT, c);
        }
        if (kind == Kind.SLOWLORIS) {
            slow.add(c);
        }
        return c;
    }

    private void connected(Conn c) throws IOException {
        c.connected = true;
        if (c.kind == Kind.SLOWLORIS) {
            c.ch.write(ByteBuffer.wrap(HEAD));
            c.firstByteNanos = System.nanoTime();
            c.nextTrickleNanos = c.firstByteNanos + TRICKLE_NANOS;
        }
    }

    private void hold(int idle, int slowloris, int seconds) throws IOException {
        for (int i = 0; i < idle; i++) {
            open(Kind.IDLE);
        }
        for (int i = 0; i < slowloris; i++) {
            open(Kind.SLOWLORIS);
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        boolean announced = false;
        while (System.nanoTime() < end) {
            poll(idle + slowloris);
            if (!announced && connectedCount() == idle + slowloris) {
                System.out.println("held " + idle + " idle + " + slowloris + " slowloris connections");
                announced = true;
            }
        }
        int open = connectedCount();
        long[] t = Arrays.copyOf(closeMillis, closes);
        Arrays.sort(t);
        System.out.printf("hold: %d s; open at the end %d of %d; idle closed by the server %d; slowloris closed %d, of which "
                + "answered 408: %d; time from first byte to close (ms): min %d p50 %d p99 %d max %d; connect failures %d%n",
                seconds, open, idle + slowloris, idleClosed, slowlorisClosed, answered408, at(t, 0), at(t, 0.5), at(t, 0.99),
                at(t, 1), connectFailures);
        selector.close();
    }

    private void flood(int n, int seconds) throws IOException {
        long start = System.nanoTime();
        int opened = 0;
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            while (opened < n && selector.keys().size() < n) {
                try {
                    open(Kind.FLOOD);
                    opened++;
                } catch (IOException e) {
                    connectFailures++;
                    break; // out of ports or descriptors for now: poll, then go on
                }
                if (opened % 500 == 0) {
                    break; // let the selector see closes in between
                }
            }
            poll(0);
        }
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (System.nanoTime() < settle) {
            poll(0); // the server's last closes, before counting what it kept
        }
        System.out.printf("flood: %d connections attempted from %d addresses in %d s; accepted and open at the end %d; closed by the "
                + "server %d; could not open %d%n", opened, sources, seconds, connectedCount(), floodClosed, connectFailures);
        selector.close();
    }

    private int connectedCount() {
        int n = 0;
        for (SelectionKey k : selector.keys()) {
            if (k.isValid() && ((Conn) k.attachment()).connected) {
                n++;
            }
        }
        return n;
    }

    private void poll(int keep) throws IOException {
        selector.select(50);
        long now = System.nanoTime();
        for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
            SelectionKey k = it.next();
            it.remove();
            Conn c = (Conn) k.attachment();
            try {
                if (k.isConnectable()) {
                    c.ch.finishConnect();
                    connected(c);
                    k.interestOps(SelectionKey.OP_READ);
                } else if (k.isReadable()) {
                    c.in.clear();
                    int r = c.ch.read(c.in);
                    if (r < 0 || c.kind == Kind.FLOOD || c.kind == Kind.IDLE) {
                        closedByServer(c, r > 0 && startsWith408(c.in), now, keep > 0);
                    } else if (r > 0) {
                        closedByServer(c, startsWith408(c.in), now, keep > 0); // an answer to an unfinished head: its end
                    }
                }
            } catch (IOException e) {
                closedByServer(c, false, now, keep > 0);
            }
        }
        long keysDone = System.nanoTime();
        int trickled = 0;
        for (int i = 0; i < slow.size(); i++) {
            Conn c = slow.get(i);
            if (c.connected && c.ch.isOpen() && now >= c.nextTrickleNanos) {
                try {
                    c.ch.write(ByteBuffer.wrap(new byte[] {'a'}));
                } catch (IOException e) {
                    // the close shows on the next read
                }
                c.nextTrickleNanos = now + TRICKLE_NANOS;
                trickled++;
            }
        }
        if (activity != null && (trickled > 0 || closedThisPass > 0)) {
            activity.printf("%d trickled=%d trickleUs=%d closed=%d closeUs=%d%n", System.currentTimeMillis(), trickled,
                    (System.nanoTime() - keysDone) / 1000, closedThisPass, (keysDone - now) / 1000);
        }
        closedThisPass = 0;
    }

    private static boolean startsWith408(ByteBuffer b) {
        return b.position() >= 12 && new String(b.array(), 0, 12, StandardCharsets.US_ASCII).equals("HTTP/1.1 408");
    }

    private void closedByServer(Conn c, boolean got408, long now, boolean reopen) throws IOException {
        if (!c.ch.isOpen()) {
            return;
        }
        closedThisPass++;
        boolean wasConnected = c.connected;
        c.ch.close();
        switch (c.kind) {
            case IDLE -> idleClosed++;
            case FLOOD -> floodClosed++;
            case SLOWLORIS -> {
                slow.remove(c);
                if (wasConnected) {
                    slowlorisClosed++;
                    answered408 += got408 ? 1 : 0;
                    if (closes == closeMillis.length) {
                        closeMillis = Arrays.copyOf(closeMillis, closes * 2);
                    }
                    closeMillis[closes++] = TimeUnit.NANOSECONDS.toMillis(now - c.firstByteNanos);
                }
            }
        }
        if (!wasConnected) {
            connectFailures++;
        }
        if (reopen) {
            open(c.kind); // the attacker keeps its count
        }
    }

    private static long at(long[] sorted, double q) {
        if (sorted.length == 0) {
            return -1;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
    }
}
