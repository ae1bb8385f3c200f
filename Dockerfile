# Base images are pinned by digest, so a moved tag cannot change what is built. The digests were
# not resolved from a registry (none is reachable where this file is written): each is one that
# public repositories pin for the same tag (the Maven one written down by `crane digest`, the JRE
# one as a multi-arch manifest list). Confirm both on the first build with registry access
# (`crane digest maven:3.9-eclipse-temurin-17`, `crane digest eclipse-temurin:17-jre`) and let
# Dependabot or Renovate propose the updates.
# Build: the jar, with the tests skipped (CI runs them).
FROM maven:3.9-eclipse-temurin-17@sha256:a8746f15d5bb26b5b8bacb056cc76211553850f4c71d16aff845cfa004cbc197 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -ntp dependency:go-offline
COPY conf conf
COPY src src
RUN mvn -B -ntp package -DskipTests

# Run: a JRE, a non-root user, the data (embedded PostgreSQL and journal) on a volume.
FROM eclipse-temurin:17-jre@sha256:13cc28a6cc72a38ce1f00c906be3580c1a3e604b8984d694f369a96742abc93b
# curl for the HEALTHCHECK below; nothing else is added to the runtime image.
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 999 taraz && useradd --system --uid 999 --gid taraz --home /var/lib/taraz taraz \
    && mkdir -p /var/lib/taraz /opt/taraz && chown taraz:taraz /var/lib/taraz
COPY --from=build /src/target/taraz.jar /opt/taraz/taraz.jar
USER 999:999
WORKDIR /var/lib/taraz
ENV TARAZ_DATA_DIR=/var/lib/taraz/data \
    TARAZ_HTTP_PORT=8080
VOLUME ["/var/lib/taraz"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s CMD curl -fs http://127.0.0.1:8080/health/live || exit 1
# jna.tmpdir: JNA (used by Chronicle) would otherwise unpack its native library under $HOME/.cache;
# /tmp is the one scratch directory a read-only root filesystem leaves writable (conf/k8s).
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-Djava.io.tmpdir=/tmp", "-Djna.tmpdir=/tmp/jna", "-jar", "/opt/taraz/taraz.jar"]
