package dev.tollgate.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An upstream that records each request it receives (head and body, exactly as the bytes came)
 * and answers with whatever the test scripted: bytes, a close, a reset, or nothing until released.
 * One thread per connection; bounded by the test.
 */
final class ScriptedUpstream implements AutoCloseable {
    /** What to do with one request. */
    interface Action {
        void perform(Socket s, OutputStream out) throws Exception;
    }

    record Received(String head, byte[] body) {
        String header(String name) {
            for (String l : head.split("\r\n")) {
                int c = l.indexOf(':');
                if (c > 0 && l.substring(0, c).trim().equalsIgnoreCase(name)) {
                    return l.substring(c + 1).trim();
                }
            }
            return null;
        }

        boolean hasHeader(String name) {
            return header(name) != null;
        }
    }

    private final ServerSocket server;
    private final LinkedBlockingQueue<Action> script = new LinkedBlockingQueue<>();
    final List<Received> received = new CopyOnWriteArrayList<>();
    /** Trailer field lines of chunked request bodies, as received. */
    final List<String> trailers = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    ScriptedUpstream() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "scripted-upstream");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    String url() {
        return "http://127.0.0.1:" + port();
    }

    /** The next request gets {@code a}. */
    ScriptedUpstream then(Action a) {
        script.add(a);
        return this;
    }

    static Action respond(String raw) {
        return (s, out) -> {
            out.write(raw.getBytes(StandardCharsets.UTF_8));
            out.flush();
        };
    }

    static Action respond(byte[] raw) {
        return (s, out) -> {
            out.write(raw);
            out.flush();
        };
    }

    static Action json(String body, String... extraHeaders) {
        StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
                .append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n");
        for (String h : extraHeaders) {
            b.append(h).append("\r\n");
        }
        return respond(b.append("\r\n").append(body).toString());
    }

    static Action reset() {
        return (s, out) -> {
            s.setSoLinger(true, 0);
            s.close();
        };
    }

    static Action waitFor(CountDownLatch latch) {
        return (s, out) -> latch.await(30, TimeUnit.SECONDS);
    }

    static Action all(Action... actions) {
        return (s, out) -> {
            for (Action a : actions) {
                a.perform(s, out);
            }
        };
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s), "scripted-upstream-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (;;) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                byte[] body = readBody(in, head);
                received.add(new Received(head, body));
                Action a = script.poll(10, TimeUnit.SECONDS);
                if (a == null) {
                    return;
                }
                a.perform(s, out);
                if (s.isClosed()) {
                    return;
                }
            }
        } catch (Exception e) {
            // the connection ends; the test sees what the gateway did about it
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] x = b.toByteArray();
            int n = x.length;
            if (n >= 4 && x[n - 4] == '\r' && x[n - 3] == '\n' && x[n - 2] == '\r' && x[n - 1] == '\n') {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    private byte[] readBody(InputStream in, String head) throws IOException {
        String lower = head.toLowerCase(Locale.ROOT);
        if (lower.contains("\r\ntransfer-encoding: chunked")) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (;;) {
                String sizeLine = readLine(in);
                int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
                if (size == 0) {
                    for (String t = readLine(in); !t.isEmpty(); t = readLine(in)) {
                        trailers.add(t);
                    }
                    return body.toByteArray();
                }
                body.write(in.readNBytes(size));
                readLine(in);
            }
        }
        int at = lower.indexOf("\r\ncontent-length:");
        if (at < 0) {
            return new byte[0];
        }
        int end = lower.indexOf("\r\n", at + 2);
        int n = Integer.parseInt(lower.substring(at + 17, end).trim());
        return in.readNBytes(n);
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
