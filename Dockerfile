# platbot in a container: built on Debian 12 with the -dev packages, run on Debian 12 slim
# with only the runtime libraries (tests/docker/runtime_libraries_test.sh keeps this list
# honest against what the binary links).
#   docker build -t platbot .
#   docker run -v "$PWD/config:/etc/platbot:ro" -v platbot-data:/var/lib/platbot \
#     -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -p 8080:8080 platbot
# (Matrix: add `run --config /etc/platbot/matrix.yaml` and -e MATRIX_HOMESERVER -e MATRIX_ACCESS_TOKEN.)
# scripts/docker-smoke.sh builds it and checks exactly that line against the fake Slack.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config \
      libboost-dev libboost-system-dev libboost-filesystem-dev \
      libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev \
      libsqlite3-dev libpq-dev libhowardhinnant-date-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPLATBOT_TESTS=OFF -DPLATBOT_BENCH=OFF \
 && cmake --build build -j"$(nproc)" --target platbot

FROM debian:12-slim AS runtime
# The shared libraries the binary links (libc6, libgcc-s1 and libstdc++6 come with the
# image); tzdata for time zones; ca-certificates for TLS; curl for the health check;
# librsvg2-bin for `platbot export survey … --format png`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4 libssl3 libsqlite3-0 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libboost-filesystem1.74.0 libdate-tz3 \
      tzdata ca-certificates curl librsvg2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/platbot --shell /usr/sbin/nologin platbot \
 && mkdir -p /etc/platbot /var/lib/platbot \
 && chown platbot:platbot /var/lib/platbot
COPY --from=build /src/build/platbot /usr/local/bin/platbot
USER platbot
WORKDIR /var/lib/platbot
# The shipped configs (mounted at /etc/platbot) keep their store under $PLATBOT_DATA and
# listen on $PLATBOT_HTTP_HOST:$PLATBOT_HTTP_PORT: the volume, and the port the health
# check asks.
ENV PLATBOT_DATA=/var/lib/platbot PLATBOT_HTTP_HOST=0.0.0.0 PLATBOT_HTTP_PORT=8080
VOLUME ["/var/lib/platbot"]
EXPOSE 8080
# Asked every 5 s, so a fresh container is healthy within seconds of being ready.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PLATBOT_HTTP_PORT}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/platbot"]
CMD ["run", "--config", "/etc/platbot/slack.yaml"]
