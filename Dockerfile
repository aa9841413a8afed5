# One image for every service and the CLI; the container's command picks the entry point
# (node services/<name>/dist/main.js, or node cli/bin/subpack.js). CI replays the COPY and RUN steps of this file in
# a clean directory (deploy/src/dockerfile-replay.test.ts), so a file the build needs but the context leaves out fails
# CI the way it would fail `docker build`.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The whole context (less .dockerignore): npm ci needs every workspace's package.json and the services' project
# references reach most libraries, so a hand-kept list of paths would break each time a package is added.
COPY . .
RUN npm ci --no-audit --no-fund
# The deployables and what they import; tests, benchmarks and the deployment checks are not part of the image.
RUN npx tsc -b services/* cli
# The web console's static files (console/dist), which the api serves at /.
RUN npm run build -w console
# Production dependencies only, and no sources, tests, benchmarks or build caches in what the runtime stage copies.
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf e2e bench deploy examples scripts .ci \
 && find . -name node_modules -prune -o \( -name src -o -name '*.tsbuildinfo' -o -name '*.test.js' -o -name '*.test.js.map' -o -name '*.test.d.ts' -o -name '*.test.d.ts.map' \) -prune -exec rm -rf {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HTTP_PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 8080
# Ready means connected to RabbitMQ and Redis: what compose's service_healthy should wait for. The image has no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/packer/dist/main.js"]
