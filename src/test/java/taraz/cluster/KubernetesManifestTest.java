package taraz.cluster;

import org.junit.jupiter.api.Test;
import taraz.support.Yamls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static taraz.support.Yamls.list;
import static taraz.support.Yamls.map;

/**
 * The shipped {@code conf/k8s} manifests, parsed (there is no cluster here): the StatefulSet's hardening, the
 * NetworkPolicy's allow-list and the Ingress that publishes the bank callback and nothing else, each checked
 * against the other files it depends on (the image's uid in the Dockerfile, the Service, the container port).
 */
class KubernetesManifestTest {

    private static final Path K8S = Path.of("conf", "k8s");
    private static final String CALLBACK = "/v1/psp/zarinpal/callback";

    @Test
    void statefulSetRunsLockedDown() throws IOException {
        Map<String, Object> podSpec = map(map(map(only("statefulset.yaml", "StatefulSet"), "spec"), "template"), "spec");
        assertEquals(false, podSpec.get("automountServiceAccountToken"));
        Map<String, Object> pod = map(podSpec, "securityContext");
        assertEquals(true, pod.get("runAsNonRoot"));
        assertEquals(imageUid(), pod.get("runAsUser"), "the image's numeric uid (Dockerfile USER)");
        assertEquals("RuntimeDefault", map(pod, "seccompProfile").get("type"));

        Map<String, Object> container = list(podSpec, "containers").get(0);
        Map<String, Object> security = map(container, "securityContext");
        assertEquals(false, security.get("allowPrivilegeEscalation"));
        assertEquals(true, security.get("readOnlyRootFilesystem"));
        assertEquals(List.of("ALL"), map(security, "capabilities").get("drop"));
        assertFalse(map(security, "capabilities").containsKey("add"));

        // With a read-only root, every directory written at run time must be a volume: the data directory
        // (journal) on the persistent one, /tmp (JVM, Vert.x, JNA, Chronicle, zonky) on an emptyDir.
        Map<String, String> mounts = new HashMap<>();
        for (Map<String, Object> mount : list(container, "volumeMounts")) {
            mounts.put((String) mount.get("mountPath"), (String) mount.get("name"));
        }
        String dataDir = env(container, "TARAZ_DATA_DIR");
        assertTrue(mounts.entrySet().stream().anyMatch(m -> dataDir.startsWith(m.getKey() + "/") && m.getValue().equals("data")),
                "TARAZ_DATA_DIR " + dataDir + " on the persistent volume: " + mounts);
        String tmpVolume = mounts.get("/tmp");
        assertNotNull(tmpVolume, "/tmp is mounted");

        // The credentials come from the Secret, the same for every replica (a key generated per pod
        // would be accepted by that pod alone).
        for (String secret : List.of("TARAZ_API_KEYS", "TARAZ_ADMIN_TOKEN")) {
            Map<String, Object> variable = list(container, "env").stream().filter(e -> secret.equals(e.get("name")))
                    .findFirst().orElseThrow(() -> new AssertionError("no " + secret + " in the container's env"));
            assertFalse(variable.containsKey("value"), secret + " is not written into the manifest");
            assertNotNull(map(map(variable, "valueFrom"), "secretKeyRef").get("key"), secret + " from a Secret");
        }
        assertTrue(list(podSpec, "volumes").stream().anyMatch(v -> tmpVolume.equals(v.get("name")) && v.containsKey("emptyDir")),
                "/tmp is an emptyDir");
    }

    @Test
    void networkPolicyAllowsOnlyTheListedPeers() throws IOException {
        Map<String, Object> statefulSet = only("statefulset.yaml", "StatefulSet");
        Map<String, Object> podTemplate = map(map(statefulSet, "spec"), "template");
        Map<String, Object> spec = map(only("networkpolicy.yaml", "NetworkPolicy"), "spec");
        assertEquals(map(map(podTemplate, "metadata"), "labels"), map(spec, "podSelector").get("matchLabels"),
                "the policy selects taraz's pods");
        assertEquals(List.of("Ingress", "Egress"), spec.get("policyTypes"), "both directions closed by default");

        int httpPort = (Integer) list(list(map(podTemplate, "spec"), "containers").get(0), "ports").get(0).get("containerPort");
        List<Map<String, Object>> ingress = list(spec, "ingress");
        assertEquals(3, ingress.size(), "ingress controller, backend, Prometheus");
        for (Map<String, Object> rule : ingress) {
            assertFalse(list(rule, "from").isEmpty(), "a rule without 'from' would admit everyone: " + rule);
            assertEquals(List.of(httpPort), ports(rule), "only taraz's HTTP port: " + rule);
        }
        Set<Object> egressPorts = new HashSet<>();
        for (Map<String, Object> rule : list(spec, "egress")) {
            assertFalse(list(rule, "to").isEmpty(), "a rule without 'to' would let taraz reach anything: " + rule);
            for (Map<String, Object> to : list(rule, "to")) {
                if (to.containsKey("ipBlock")) {
                    assertFalse(map(to, "ipBlock").get("cidr").toString().endsWith("/0"), "no address range is 'anywhere': " + to);
                }
            }
            egressPorts.addAll(ports(rule));
        }
        assertEquals(Set.of(53, 5432, 443), egressPorts, "DNS, PostgreSQL, the PSP's HTTPS");
    }

    @Test
    void ingressPublishesOnlyTheCallbackWithARateLimit() throws IOException {
        Map<String, Object> ingress = only("ingress.yaml", "Ingress");
        int limitRps = Integer.parseInt((String) map(map(ingress, "metadata"), "annotations").get("nginx.ingress.kubernetes.io/limit-rps"));
        assertTrue(limitRps > 0, "a per-client rate limit");
        List<Map<String, Object>> rules = list(map(ingress, "spec"), "rules");
        assertEquals(1, rules.size());
        assertFalse(map(ingress, "spec").containsKey("defaultBackend"), "nothing else is routed");
        List<Map<String, Object>> paths = list(map(rules.get(0), "http"), "paths");
        assertEquals(1, paths.size(), "one path");
        assertEquals(CALLBACK, paths.get(0).get("path"));
        assertEquals("Exact", paths.get(0).get("pathType"), "not a prefix: nothing under or beside the callback");

        Map<String, Object> backend = map(map(paths.get(0), "backend"), "service");
        String portName = (String) map(backend, "port").get("name");
        boolean served = documents("service.yaml").stream().filter(d -> "Service".equals(d.get("kind")))
                .filter(d -> backend.get("name").equals(map(d, "metadata").get("name")))
                .anyMatch(d -> list(map(d, "spec"), "ports").stream().anyMatch(p -> portName.equals(p.get("name"))));
        assertTrue(served, "the Ingress's backend is a Service and port of service.yaml: " + backend);
    }

    /** The numeric uid of the Dockerfile's runtime USER. */
    private static Object imageUid() throws IOException {
        Matcher user = Pattern.compile("(?m)^USER (\\d+)(:\\d+)?$").matcher(Files.readString(Path.of("Dockerfile")));
        assertTrue(user.find(), "the Dockerfile's USER is numeric");
        return Integer.parseInt(user.group(1));
    }

    private static String env(Map<String, Object> container, String name) {
        return list(container, "env").stream().filter(e -> name.equals(e.get("name"))).map(e -> (String) e.get("value"))
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in the container's env"));
    }

    private static List<Object> ports(Map<String, Object> rule) {
        List<Object> ports = new ArrayList<>();
        for (Map<String, Object> port : list(rule, "ports")) {
            if (!ports.contains(port.get("port"))) {
                ports.add(port.get("port"));
            }
        }
        return ports;
    }

    private static Map<String, Object> only(String file, String kind) throws IOException {
        List<Map<String, Object>> matching = documents(file).stream().filter(d -> kind.equals(d.get("kind"))).toList();
        assertEquals(1, matching.size(), "one " + kind + " in " + file);
        return matching.get(0);
    }

    private static List<Map<String, Object>> documents(String file) throws IOException {
        return Yamls.documents(K8S.resolve(file));
    }
}
