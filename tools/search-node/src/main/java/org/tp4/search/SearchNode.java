package org.tp4.search;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One embedded OpenSearch 2.19.6 node for dev machines and CI (no Docker).
 *
 * <p>Usage: {@code java -Xms512m -Xmx512m -jar search-node.jar [DATA_DIR [HTTP_PORT [TRANSPORT_PORT]]]}.
 * Defaults come from the system properties {@code search.data} ("./search-data"),
 * {@code search.http.port} (9200) and {@code search.transport.port} (9300).
 * DATA_DIR is used as path.home; the indices live in DATA_DIR/data.
 *
 * <p>Plugins are loaded from the classpath through Node's protected constructor, which is why
 * this class extends {@link Node}. Class names are the 2.19.x ones (3.x renamed several to
 * *ModulePlugin).
 */
public final class SearchNode extends Node {

    static final Collection<Class<? extends Plugin>> PLUGINS = List.of(
            Netty4Plugin.class,          // HTTP + transport (transport-netty4-client)
            PainlessPlugin.class,        // scripted _update / _update_by_query (lang-painless)
            CommonAnalysisPlugin.class,  // lowercase, asciifolding, ... (analysis-common)
            ReindexPlugin.class,         // _update_by_query, _delete_by_query, _reindex (reindex-client)
            MapperExtrasPlugin.class     // scaled_float, rank_feature, ... (mapper-extras-client)
    );

    private SearchNode(Environment environment) {
        super(environment, PLUGINS, true);
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(arg(args, 0, "search.data", "search-data")).toAbsolutePath().normalize();
        int httpPort = Integer.parseInt(arg(args, 1, "search.http.port", "9200"));
        int transportPort = Integer.parseInt(arg(args, 2, "search.transport.port", "9300"));
        // Loopback natively; the compose stand-in image passes 0.0.0.0 so other containers reach it.
        String host = System.getProperty("search.network.host", "127.0.0.1");

        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "tp4-search")
                .put("node.name", "search-0")
                .put("network.host", host)
                .put("http.port", httpPort)
                .put("transport.port", transportPort)
                .put("discovery.type", "single-node")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();

        SearchNode node = new SearchNode(new Environment(settings, home.resolve("config")));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                    System.err.println("search-node: close timed out");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                System.out.println("search-node: stopped");
                System.out.flush();
                stopped.countDown();
            }
        }, "search-node-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.printf("search-node: started cluster=tp4-search http=%s:%d transport=%s:%d home=%s%n",
                host, httpPort, host, transportPort, home);
        System.out.flush();
        stopped.await(); // OpenSearch threads are daemons: keep the JVM alive until shutdown
    }

    private static String arg(String[] args, int i, String property, String fallback) {
        if (args.length > i && !args[i].isBlank()) {
            return args[i];
        }
        return System.getProperty(property, fallback);
    }
}
