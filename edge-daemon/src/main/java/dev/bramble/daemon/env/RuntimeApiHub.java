package dev.bramble.daemon.env;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Tells which environment a Runtime API connection comes from, so that no environment can take another's events
 * or answer another's invocations (docs/decisions/0009-runtime-api.md). Every Runtime API environment shares one
 * loopback listener; a request is traced by the kernel's own records: the connection's client port names one socket
 * in {@code /proc/net/tcp} (its inode and owner uid), and the environment is the one whose processes hold that
 * socket ({@code /proc/<pid>/fd}). A function cannot forge either: it cannot make the kernel list a socket of
 * another environment's, nor put a file descriptor into another environment's processes. IPv4-mapped connections
 * of dual-stack sockets, as a JVM makes them, are in {@code /proc/net/tcp6}. A connection traced once is remembered
 * with the descriptor it was found through: a later request on it costs one readlink of that descriptor, not a read
 * of the tables (which walks the kernel's whole connection hash: milliseconds on a large machine).
 */
public final class RuntimeApiHub {
    private static final System.Logger LOG = System.getLogger(RuntimeApiHub.class.getName());
    private static final Path TCP = Path.of("/proc/net/tcp");
    /** Where the kernel lists AF_INET6 sockets, IPv4-mapped ones included: a JVM's sockets are dual-stack. */
    private static final Path TCP6 = Path.of("/proc/net/tcp6");

    private final List<Path> procNetTcp;
    private final Path proc;
    private final ConcurrentHashMap<RuntimeApiPeer, Boolean> peers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Traced> byClientPort = new ConcurrentHashMap<>();
    private volatile int port = -1;

    /** A traced connection: its socket's inode, its environment, and the descriptor of a process there that holds it. */
    private record Traced(long inode, RuntimeApiPeer peer, Path fd) {
    }

    public RuntimeApiHub() {
        this(List.of(TCP, TCP6), Path.of("/proc"));
    }

    RuntimeApiHub(List<Path> procNetTcp, Path proc) {
        this.procNetTcp = procNetTcp;
        this.proc = proc;
    }

    /** Where the Runtime API listens (127.0.0.1): set once its listener is bound, before any environment starts. */
    public void listening(int port) {
        this.port = port;
    }

    /** {@code AWS_LAMBDA_RUNTIME_API}: host and port; empty while no listener is bound. */
    public Optional<String> endpoint() {
        int p = port;
        return p < 0 ? Optional.empty() : Optional.of("127.0.0.1:" + p);
    }

    void register(RuntimeApiPeer peer) {
        peers.put(peer, Boolean.TRUE);
    }

    void unregister(RuntimeApiPeer peer) {
        peers.remove(peer);
        byClientPort.values().removeIf(t -> t.peer == peer);
    }

    /** How many environments are served now. */
    public int environments() {
        return peers.size();
    }

    /**
     * The environment a connection to the Runtime API comes from: empty when no environment's processes hold its
     * client socket (a program outside every environment, or a connection the kernel no longer lists).
     */
    public Optional<RuntimeApiPeer> peerOf(InetSocketAddress client) {
        int clientPort = client.getPort();
        Traced known = byClientPort.get(clientPort);
        if (known != null && peers.containsKey(known.peer) && holdsStill(known)) {
            // The process still holds the socket, so the connection from this port is still that socket's: no other
            // socket can connect from the same port to the same listener while it exists.
            return Optional.of(known.peer);
        }
        byClientPort.remove(clientPort);
        OptionalLong inode = socketInode(clientPort);
        if (inode.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "runtime-api.untraced client_port={0} reason=not-in-proc-net-tcp",
                    clientPort);
            return Optional.empty();
        }
        String link = "socket:[" + inode.getAsLong() + "]";
        for (RuntimeApiPeer peer : peers.keySet()) {
            Optional<Path> fd = holder(peer.rootPid(), link);
            if (fd.isPresent()) {
                byClientPort.put(clientPort, new Traced(inode.getAsLong(), peer, fd.get()));
                return Optional.of(peer);
            }
        }
        LOG.log(System.Logger.Level.INFO, "runtime-api.untraced client_port={0} socket={1} "
                + "reason=no-environment-holds-it", clientPort, link);
        return Optional.empty();
    }

    /** One readlink: whether the descriptor a connection was traced through still names its socket. */
    private static boolean holdsStill(Traced t) {
        try {
            return Files.readSymbolicLink(t.fd).toString().equals("socket:[" + t.inode + "]");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The inode of the client socket of an established loopback connection from {@code clientPort} to the
     * Runtime API's port, as {@code /proc/net/tcp} lists it.
     */
    OptionalLong socketInode(int clientPort) {
        String local = ":" + hexPort(clientPort);
        String remote = ":" + hexPort(port);
        for (Path table : procNetTcp) {
            OptionalLong inode = socketInode(table, local, remote);
            if (inode.isPresent()) {
                return inode;
            }
        }
        return OptionalLong.empty();
    }

    private static OptionalLong socketInode(Path table, String local, String remote) {
        List<String> lines;
        try {
            lines = Files.readAllLines(table);
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            // any state: a client that has half-closed its side (FIN_WAIT) still holds its socket, inode and all;
            // one that let go of it has inode 0 and is nobody's
            if (f.length > 9 && f[1].endsWith(local) && f[2].endsWith(remote) && !f[9].equals("0")) {
                try {
                    return OptionalLong.of(Long.parseLong(f[9]));
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    private static String hexPort(int port) {
        return String.format("%04X", port);
    }

    /** The descriptor through which a process of the tree under {@code rootPid} holds {@code link}, if one does. */
    private Optional<Path> holder(long rootPid, String link) {
        Optional<ProcessHandle> root = ProcessHandle.of(rootPid);
        if (root.isEmpty()) {
            return Optional.empty();
        }
        try (Stream<ProcessHandle> tree = Stream.concat(Stream.of(root.get()), root.get().descendants())) {
            return tree.map(p -> holdingFd(p.pid(), link)).flatMap(Optional::stream).findFirst();
        }
    }

    private Optional<Path> holdingFd(long pid, String link) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve(Long.toString(pid)).resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(link)) {
                        return Optional.of(fd);
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
        return Optional.empty();
    }
}
