FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json nx.json ./
COPY libs libs
COPY services services
COPY cli cli
COPY bench bench
RUN npm ci --no-audit --no-fund && npx tsc -b tsconfig.json && npm prune --omit=dev
USER node
