# syntax=docker/dockerfile:1
#
# audiorista-runner in one container (README "Run in a container"):
#   docker build -t audiorista-runner .
#   docker run --init -p 8787:8787 -v audiorista-data:/data audiorista-runner
# With podman, add --format docker (else HEALTHCHECK is dropped).
#
# Both bases are Node 20 on Debian bookworm: better-sqlite3's native addon,
# compiled on the build base, needs the same Node ABI and glibc at run time.
# Pass your own with --build-arg (scripts/make-base-images.sh makes both
# where Docker Hub is out of reach); move them together.
ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# Behind a TLS-inspecting proxy, npm must trust its certificate: pass a PEM
# bundle as the build secret `ca` (--secret id=ca,src=/path/to/bundle.pem).
# It is added to Node's trusted roots for the npm steps only and never lands
# in a layer. Without it, npm trusts Node's usual roots.

# ---- build: dev dependencies for tsc and esbuild, the compiled app in dist ----
FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing here needs the native addon (the deps stage builds it).
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle-vendor.mjs ./scripts/
COPY src ./src
# The build also copies the console's views and static files into dist/admin.
RUN npm run build && find dist -name '*.map' -delete

# ---- deps: the production dependencies alone, trimmed to what runs ----
FROM ${NODE_BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional also leaves out typescript, which npm would otherwise keep
# as cosmiconfig's optional peer (23 MB, only for .ts configs, which jiti
# loads), handlebars' uglify-js and msgpackr's native extras (bullmq uses
# the JavaScript path). better-sqlite3 is compiled here, against the headers
# of the image's own Node when it has them (no download), never fetched
# prebuilt: the result is the same with or without access to GitHub.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi; \
    nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; \
    if [ -f "$nodedir/include/node/node.h" ]; then export npm_config_nodedir="$nodedir"; fi; \
    npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 --build-from-source \
 && rm -rf ~/.npm ~/.cache
# Keep what Node loads: better-sqlite3's compiled addon without its C sources
# and build tree; no type declarations, source maps, TypeScript sources or
# documents in any package.
RUN cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . && rm -rf build deps src \
 && mkdir -p build/Release && mv better_sqlite3.node build/Release/ \
 && cd /app \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
      -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -iname '*.md' -o -iname '*.markdown' \) -delete \
 && node -e "require('/app/node_modules/better-sqlite3')(':memory:').close()"

# ---- runtime: no compiler, no dev dependencies, not root ----
FROM ${NODE_IMAGE}
# Not NODE_ENV=production: it turns preview mode (actions without credentials
# only log what they would send) into a start-up error, so the shipped
# example would not start. Set it with -e NODE_ENV=production once every
# action has its credentials.
ENV AUDIORISTA_DATA_DIR=/data
WORKDIR /app
# The app belongs to root and the runner cannot change it: only /data is
# writable. The config is baked in from the build context; mount your own
# over /app/audiorista.config.ts, or a folder with --config (README).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json audiorista.config.ts ./
COPY recipes ./recipes
COPY plugins ./plugins
# What `init` copies into a new project.
COPY scaffold ./scaffold
# Created and owned before VOLUME: a new named volume starts with this owner and mode.
RUN mkdir /data && chown node:node /data && chmod 700 /data
VOLUME /data
# The `node` user of the official image (uid 1000).
USER node
EXPOSE 8787
# /readyz on loopback, with node (slim has no curl), over HTTP or, with
# server.tls, HTTPS. PORT moves the listener; the check follows it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/cli/healthcheck.js"]
# node itself, never `npm start` (npm does not forward SIGTERM: the runner
# would be killed at the stop timeout, not shut down). Run with --init (or
# compose's init: true) so tini, as PID 1, forwards signals and reaps the
# exec action's children.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["start"]
