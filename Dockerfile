# syntax=docker/dockerfile:1
#
# audiorista-runner in one container (README "Run in a container"):
#   docker build -t audiorista-runner .
#   docker run --init -p 8787:8787 -v audiorista-data:/data audiorista-runner
#
# Both stages are Node 20 on Debian bookworm: better-sqlite3's native addon,
# built in the first, needs the same Node ABI and glibc in the second.
# Move both tags together.

# ---- build: compilers for native addons, dev dependencies for tsc ----
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Our own `prepare` script (the build) needs the sources, which come later so
# that this layer is cached until the lock file changes: skip every script,
# then run the dependencies' install scripts alone. better-sqlite3 fetches a
# prebuilt binary or compiles with the python3, make and g++ this image has.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build also copies the console's views and static files into dist/admin.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: no compiler, no dev dependencies, not root ----
FROM node:20-bookworm-slim
# Not NODE_ENV=production: it turns preview mode (actions without credentials
# only log what they would send) into a start-up error, so the shipped
# example would not start. Set it with -e NODE_ENV=production once every
# action has its credentials.
ENV AUDIORISTA_DATA_DIR=/data
WORKDIR /app
# The app belongs to root and the runner cannot change it: only /data is
# writable. The config is baked in from the build context; mount your own
# over /app/audiorista.config.ts, or a folder with --config (README).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY audiorista.config.ts ./
COPY recipes ./recipes
COPY plugins ./plugins
# Created and owned before VOLUME: a new named volume starts with this owner and mode.
RUN mkdir /data && chown node:node /data && chmod 700 /data
VOLUME /data
# The `node` user of the official image (uid 1000).
USER node
EXPOSE 8787
# slim has no curl: node's fetch. PORT moves the listener; the check follows it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, never `npm start` (npm does not forward SIGTERM: the runner
# would be killed at the stop timeout, not shut down). Run with --init (or
# compose's init: true) so tini, as PID 1, forwards signals and reaps the
# exec action's children.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["start"]
