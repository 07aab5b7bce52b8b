# One image for web, worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev
COPY scripts/copy_vendor.sh scripts/
RUN sh scripts/copy_vendor.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py compilemessages --locale es --ignore=node_modules
COPY --from=assets /app/static/vendor static/vendor
RUN DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --system --home /app cxm && chown -R cxm /app
USER cxm
EXPOSE 8000
CMD ["gunicorn", "cxm.wsgi:application", "--config", "cxm/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
