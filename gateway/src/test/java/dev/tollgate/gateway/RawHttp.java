package dev.tollgate.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately simple HTTP/1.1 client over a real socket, for tests that need exact control of
 * the bytes sent (smuggling shapes, pipelining, Expect) and a plain view of the bytes received.
 */
final class RawHttp implements AutoCloseable {
    record Response(int status, Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? null : String.join(", ", v);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(InetSocketAddress to) throws IOException {
        socket = new Socket(to.getAddress(), to.getPort());
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    void send(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
    }

    /** Sends and reads one response. */
    Response exchange(String raw) throws IOException {
        send(raw);
        return read(raw.startsWith("HEAD "));
    }

    /** Reads one response; {@code head}: it answers a HEAD request (no body). */
    Response read(boolean head) throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("connection closed before a response");
        }
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String l;
        while ((l = line()) != null && !l.isEmpty()) {
            int colon = l.indexOf(':');
            headers.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(l.substring(colon + 1).trim());
        }
        if (status / 100 == 1) {
            return new Response(status, headers, new byte[0]);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        List<String> te = headers.get("transfer-encoding");
        List<String> cl = headers.get("content-length");
        if (head || status == 204 || status == 304) {
            // no body
        } else if (te != null && te.get(0).equalsIgnoreCase("chunked")) {
            for (;;) {
                int size = Integer.parseInt(line().split(";")[0].trim(), 16);
                if (size == 0) {
                    while ((l = line()) != null && !l.isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.write(in.readNBytes(size));
                line();
            }
        } else if (cl != null) {
            body.write(in.readNBytes(Integer.parseInt(cl.get(0))));
        } else {
            body.write(in.readAllBytes());
        }
        return new Response(status, headers, body.toByteArray());
    }

    /** True if the server closed the connection (reads end of stream within the socket timeout). */
    boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    /** Shuts down the write side (TCP half-close): the server reads end of stream, the socket still reads. */
    void halfClose() throws IOException {
        socket.shutdownOutput();
    }

    void readTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    InputStream input() {
        return in;
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    static String get(String path, String... headers) {
        StringBuilder b = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: test\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        return b.append("\r\n").toString();
    }
}
