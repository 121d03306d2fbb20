FROM python:3.11-slim AS assets
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/build_assets.py scripts/
RUN mkdir -p static && python scripts/build_assets.py

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
COPY --from=assets /app/static/vendor static/vendor
RUN pip install . && useradd --system crm && mkdir -p var && chown crm var
USER crm
RUN DJANGO_SETTINGS_MODULE=brokerage.settings.production SECRET_KEY=build-only-$(python -c "print('x'*60)")ab \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --no-input
EXPOSE 8000
